"""Turn one upload request (headers plus files) into validated samples, or a precise refusal.

Nothing here touches the disk: :func:`prepare_samples` either returns every file of the request
ready to store, or raises :class:`UploadError` with the HTTP status and the text to answer, so a
refused request stores nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from ingest.daq import DaqError, parse_daq
from ingest.filetypes import (
    DAQ_CONTENT_TYPES,
    DAQ_EXTENSIONS,
    PLAIN_TYPES,
    FileTypeError,
    check_magic,
    extension_of,
)
from ingest.naming import (
    FileNameError,
    check_file_name,
    decode_header,
    header_text,
    infer_label,
)
from ingest.signature import INVALID, verify_signature
from ingest.split import resolve_category
from ingest.store import NewSample, SampleStore

CATEGORIES = ("training", "testing", "anomaly", "validation", "post-processing", "split")
MAX_FILES = 1000
FALSE_WORDS = ("", "0", "false", "no", "off")


class UploadError(Exception):
    """A refused upload: ``status`` and ``message`` are what the client is answered."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class IncomingFile:
    """One file as the client sent it: its name, bytes and declared content type."""

    name: str
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class UploadOptions:
    """The x-* request headers that shape how files are stored."""

    label: str | None
    no_label: bool
    disallow_duplicates: bool
    add_date_id: bool
    metadata: dict[str, str]
    upload_source: str | None


@dataclass(frozen=True)
class SignaturePolicy:
    hmac_key: str | None
    require_valid: bool


def _flag(headers: Mapping[str, str], name: str) -> bool:
    value = headers.get(name)
    return value is not None and value.strip().lower() not in FALSE_WORDS


def _metadata(headers: Mapping[str, str]) -> dict[str, str]:
    raw = headers.get("x-metadata")
    if raw is None or not raw.strip():
        return {}
    raw = header_text(raw)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UploadError(400, f"x-metadata: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UploadError(400, "x-metadata: expected a JSON object of string values")
    for key, item in value.items():
        if not isinstance(item, str):
            raise UploadError(
                400, f"x-metadata: value of {key!r} must be a string, got {type(item).__name__}"
            )
    return value


def parse_options(headers: Mapping[str, str]) -> UploadOptions:
    """Read and check the x-label, x-no-label, x-metadata ... headers."""
    label = headers.get("x-label")
    if label is not None:
        try:
            label = decode_header(label).strip() or None
        except UnicodeDecodeError:
            raise UploadError(400, "x-label: invalid URL encoding (not UTF-8)") from None
    return UploadOptions(
        label=label,
        no_label=_flag(headers, "x-no-label"),
        disallow_duplicates=_flag(headers, "x-disallow-duplicates"),
        add_date_id=_flag(headers, "x-add-date-id"),
        metadata=_metadata(headers),
        upload_source=header_text(source) if (source := headers.get("x-upload-source")) else None,
    )


def check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise UploadError(404, f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")


def listing_filters(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(category, label) from ``?category=&label=`` (empty means all); ValueError names a
    parameter that is unknown or a category that does not exist."""
    unknown = set(query) - {"category", "label"}
    if unknown:
        raise ValueError(
            f"unknown query parameter(s): {', '.join(sorted(unknown))} (use category, label)"
        )
    category = query.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")
    return category, query.get("label") or None


def file_name_from_header(headers: Mapping[str, str]) -> str:
    """The /data file name: x-file-name, URL-decoded, a plain name (421 when missing)."""
    raw = headers.get("x-file-name")
    if raw is None or not raw.strip():
        raise UploadError(421, "Missing header x-file-name (the name of the uploaded file)")
    try:
        name = decode_header(raw.strip())
    except UnicodeDecodeError:
        raise UploadError(400, "x-file-name: invalid URL encoding (not UTF-8)") from None
    try:
        return check_file_name(name, "x-file-name")
    except FileNameError as exc:
        raise UploadError(400, str(exc)) from None


def _label_for(name: str, options: UploadOptions) -> str | None:
    if options.no_label:
        return None
    return options.label if options.label is not None else infer_label(name)


def _prepare_one(
    incoming: IncomingFile,
    category: str,
    options: UploadOptions,
    policy: SignaturePolicy,
) -> NewSample:
    name = incoming.name
    ext = extension_of(name)
    declared = (incoming.content_type or "").split(";")[0].strip().lower()
    sha256 = hashlib.sha256(incoming.data).hexdigest()
    sample = NewSample(
        category=resolve_category(category, sha256),  # split: training or testing by hash
        label=_label_for(name, options),
        file_name=name,
        data=incoming.data,
        content_type="",
        sha256=sha256,
        metadata=options.metadata,
        upload_source=options.upload_source,
        add_date_id=options.add_date_id,
    )
    if ext in PLAIN_TYPES:
        try:
            check_magic(PLAIN_TYPES[ext], incoming.data)
        except FileTypeError as exc:
            raise UploadError(400, f"{name}: {exc}") from None
        sample.content_type = PLAIN_TYPES[ext].content_type
        return sample
    if ext not in DAQ_EXTENSIONS and declared not in DAQ_CONTENT_TYPES:
        accepted = ", ".join([*DAQ_EXTENSIONS, *PLAIN_TYPES])
        raise UploadError(
            400,
            f"{name}: unsupported file type (extension {ext or 'none'!r}, Content-Type "
            f"{declared or 'none'!r}); accepted: {accepted}",
        )
    try:
        daq = parse_daq(incoming.data)
    except DaqError as exc:
        raise UploadError(400, f"{name}: {exc}") from None
    status = verify_signature(incoming.data, daq.alg, daq.signature, policy.hmac_key)
    if status == INVALID and policy.require_valid:
        raise UploadError(
            400,
            f"{name}: signature: the HS256 signature does not match the body "
            "(this server requires valid signatures)",
        )
    if ext not in DAQ_EXTENSIONS:
        sample.file_name = f"{name}.{daq.encoding}"
    sample.content_type = daq.content_type
    sample.signature = status
    sample.device_type = daq.device_type
    sample.device_name = daq.device_name
    sample.interval_ms = daq.interval_ms
    sample.sensors = [{"name": s.name, "units": s.units} for s in daq.sensors]
    sample.rows = daq.rows
    return sample


def _check_duplicates(samples: list[NewSample], store: SampleStore) -> None:
    seen: dict[str, str] = {}
    for sample in samples:
        if sample.sha256 in seen:
            raise UploadError(
                400,
                f"{sample.file_name}: duplicate: same content as {seen[sample.sha256]} in this "
                "request (x-disallow-duplicates is set)",
            )
        seen[sample.sha256] = sample.file_name
        found = store.find_sha256(sample.sha256)
        if found:
            raise UploadError(
                400,
                f"{sample.file_name}: duplicate: a sample with the same content (sha256 "
                f"{sample.sha256[:16]}...) is already stored as sample {found[0]} ({found[1]}); "
                "x-disallow-duplicates is set",
            )


def prepare_samples(
    files: list[IncomingFile],
    category: str,
    options: UploadOptions,
    policy: SignaturePolicy,
    store: SampleStore,
) -> list[NewSample]:
    """Validate every file of a request; raise UploadError at the first problem."""
    if not files:
        raise UploadError(400, "no files: send each file as a multipart part named 'data'")
    if len(files) > MAX_FILES:
        raise UploadError(400, f"too many files: {len(files)} (at most {MAX_FILES} a request)")
    samples = [_prepare_one(incoming, category, options, policy) for incoming in files]
    if options.disallow_duplicates:
        _check_duplicates(samples, store)
    return samples
