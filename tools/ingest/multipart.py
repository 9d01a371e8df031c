"""A strict multipart/form-data parser for bodies already held in memory.

The server reads each request body itself (to enforce ``--max-body`` and the fault modes), so
the parts are split here from bytes rather than from aiohttp's streaming reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_PARTS = 1010  # 1000 files a request, as the service allows, plus sidecar .labels parts
MAX_PART_HEADERS = 8192  # bytes of headers per part


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class Part:
    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes


_PARAM = re.compile(r';\s*([A-Za-z0-9_\-*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``form-data; name="data"; filename="x.json"`` into its value and parameters."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        key, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if key.endswith("*"):
            # RFC 5987: charset'language'percent-encoded
            charset, _, encoded = raw.partition("'")
            _, _, encoded = encoded.partition("'")
            key, raw = key[:-1], unquote(encoded, encoding=charset or "utf-8", errors="replace")
        params[key] = raw
    return main.strip().lower(), params


def boundary_of(content_type: str) -> str:
    kind, params = header_params(content_type)
    if kind != "multipart/form-data":
        raise MultipartError(f"expected Content-Type multipart/form-data, got {kind or 'none'!r}")
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise MultipartError("multipart/form-data without a valid boundary parameter")
    return boundary


def _parse_part(raw: bytes, index: int) -> Part:
    # The header section ends at the first empty line (RFC 2046 5.1.1): a part that starts
    # with CRLF has no headers at all, and its first lines are data, not headers.
    if raw.startswith(b"\r\n"):
        head, sep, data = b"", b"\r\n", raw[2:]
    else:
        head, sep, data = raw.partition(b"\r\n\r\n")
    if not sep:
        raise MultipartError(f"part {index}: no blank line after its headers")
    if len(head) > MAX_PART_HEADERS:
        raise MultipartError(f"part {index}: headers over {MAX_PART_HEADERS} bytes")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise MultipartError(f"part {index}: malformed header line {line[:60]!r}")
        headers[name.decode("latin-1").strip().lower()] = value.decode("utf-8", "replace").strip()
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise MultipartError(f"part {index}: no Content-Disposition header")
    kind, params = header_params(disposition)
    if kind != "form-data":
        raise MultipartError(f"part {index}: Content-Disposition is {kind!r}, not form-data")
    content_type = headers.get("content-type")
    return Part(params.get("name"), params.get("filename"), content_type, data)


def parse_multipart(body: bytes, content_type: str, max_parts: int = MAX_PARTS) -> list[Part]:
    """Every part of a multipart/form-data body, in order (at most ``max_parts``)."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    # A delimiter starts a line (RFC 2046 5.1.1): the body's first bytes, or right after a
    # CRLF. The same bytes mid-line belong to the preamble.
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        start = body.find(b"\r\n" + delimiter)
        if start == -1:
            raise MultipartError("multipart body does not contain its boundary at a line start")
        position = start + 2 + len(delimiter)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", position):
            return parts
        if not body.startswith(b"\r\n", position):
            raise MultipartError(f"part {len(parts)}: boundary not followed by CRLF")
        position += 2
        if len(parts) == max_parts:
            raise MultipartError(f"more than {max_parts} parts")
        end = body.find(b"\r\n" + delimiter, position)
        if end == -1:
            raise MultipartError(f"part {len(parts)}: no closing boundary (body truncated?)")
        parts.append(_parse_part(body[position:end], len(parts)))
        position = end + 2 + len(delimiter)
