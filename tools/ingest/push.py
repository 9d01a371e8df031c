"""Send a local dataset to an ingestion API (Edge Impulse's, or another local server).

One ``POST /api/<category>/files`` per sample with the file as it is stored (or re-signed with
the target's HMAC key, :mod:`ingest.resign`), its label (``x-label``, URL-encoded, or
``x-no-label``), its metadata and ``x-disallow-duplicates: 1``. The target refuses a file it
already has, which counts as delivered: so a push cut short (Ctrl-C, a dropped link, a killed
process) is simply run again, and every sample ends up there exactly once. Network errors, 5xx
and 429 are retried (``RETRIES`` times, with backoff); a wrong key stops the push at once.
Memory: one file at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ingest.export import plan
from ingest.resign import resign
from ingest.store import SampleStore

DEFAULT_ENDPOINT = "https://ingestion.edgeimpulse.com"
UPLOAD_SOURCE = "ei_ingest dataset push"
RETRIES = 4
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)
DAQ_TYPES = ("application/json", "application/cbor", "application/octet-stream")


class PushAuthError(Exception):
    """The target refused the API key: nothing more is sent."""


@dataclass(frozen=True)
class Target:
    endpoint: str  # scheme://host[:port], no path
    api_key: str
    hmac_key: str | None = None  # re-sign HS256 files with this key
    ca_file: str | None = None  # PEM bundle to trust (a local server's ca.pem)
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"Target(endpoint={self.endpoint!r}, keys=<hidden>)"


@dataclass
class Outcome:
    sent: int = 0
    already: int = 0
    resigned: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _headers(target: Target, sample: dict[str, Any]) -> dict[str, str]:
    headers = {
        "x-api-key": target.api_key,
        "x-disallow-duplicates": "1",
        "x-upload-source": UPLOAD_SOURCE,
    }
    if sample["label"]:
        headers["x-label"] = quote(sample["label"], safe="")
    else:
        headers["x-no-label"] = "1"
    if sample["metadata"]:
        headers["x-metadata"] = json.dumps(sample["metadata"])  # ASCII: \\u escapes
    return headers


def _is_duplicate(text: str) -> bool:
    low = text.lower()
    return "duplicate" in low or "already exist" in low


def _answer_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict):
        files = body.get("files")
        if isinstance(files, list) and files and isinstance(files[0], dict):
            if files[0].get("error"):
                return str(files[0]["error"])
        if body.get("error"):
            return str(body["error"])
    return response.text.strip()


def _send_one(
    session: requests.Session,
    target: Target,
    category: str,
    name: str,
    data: bytes,
    content_type: str,
    headers: dict[str, str],
    sleep: Callable[[float], None],
) -> str:
    """ "sent" or "already"; raises PushAuthError, or RuntimeError with the reason."""
    url = f"{target.endpoint}/api/{category}/files"
    reason = ""
    for attempt in range(RETRIES + 1):
        if attempt:
            sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
        try:
            response = session.post(
                url,
                headers=headers,
                files={"data": (name, data, content_type)},
                timeout=target.timeout,
                verify=target.ca_file or True,
            )
        except requests.exceptions.SSLError as exc:
            raise RuntimeError(f"TLS: {exc}") from None  # a certificate problem is not retried
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = f"network: {type(exc).__name__}"
            continue
        text = _answer_text(response)
        if response.status_code == 401:
            raise PushAuthError(f"HTTP 401: {text}")
        if response.status_code == 200:
            files = response.json().get("files") or [{}]
            if files[0].get("success", True):
                return "sent"
            if _is_duplicate(text):
                return "already"
            raise RuntimeError(text)
        if response.status_code == 400 and _is_duplicate(text):
            return "already"
        if response.status_code == 429 or response.status_code >= 500:
            reason = f"HTTP {response.status_code}: {text}"
            continue
        raise RuntimeError(f"HTTP {response.status_code}: {text}")
    raise RuntimeError(f"gave up after {RETRIES + 1} tries ({reason})")


def push(
    store: SampleStore,
    target: Target,
    samples: Iterable[dict[str, Any]],
    progress: Callable[[str], None] = lambda name: None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Send every sample (listing entries) to ``target``; ``progress`` is called after each."""
    outcome = Outcome()
    with requests.Session() as session:
        for item in plan(store, samples):
            sample = item.sample
            name = item.path.rsplit("/", 1)[1]
            data = item.source.read_bytes()
            if target.hmac_key is not None and sample["contentType"] in DAQ_TYPES:
                signed = resign(data, target.hmac_key)
                if signed is not None:
                    data = signed
                    outcome.resigned += 1
            try:
                result = _send_one(
                    session,
                    target,
                    item.category,
                    name,
                    data,
                    sample["contentType"],
                    _headers(target, sample),
                    sleep,
                )
            except RuntimeError as exc:
                outcome.failed.append((item.path, str(exc)))
                report(f"failed: {item.path}: {exc}")
            else:
                if result == "sent":
                    outcome.sent += 1
                else:
                    outcome.already += 1
            progress(item.path)
    return outcome
