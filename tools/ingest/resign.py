"""Re-sign a stored HS256 data acquisition file with another HMAC key, values untouched.

Only the 64 signature characters change: they are set back to the '0' placeholder, the bytes are
HMAC-SHA256'd with the new key (the documented way) and the digest is written in their place.
JSON and CBOR (including binary payloads) are handled on the raw bytes, so numbers, key order and
encoding stay exactly as the device wrote them. Unsigned files (alg none) and other file types
are not signed by this module: they are sent as they are.
"""

from __future__ import annotations

import re

from ingest.daq import DaqError, parse_daq
from ingest.signature import PLACEHOLDER, VALID, hmac_sha256_hex, verify_signature

JSON_SIGNATURE = re.compile(rb'"signature"\s*:\s*"([0-9a-fA-F]{64})"')
CBOR_SIGNATURE_KEY = b"\x69signature\x78\x40"  # text(9) "signature", text(64)


class ResignError(ValueError):
    """The file looks signed but its signature cannot be located unambiguously."""


def _signature_span(raw: bytes, signature: str, encoding: str) -> tuple[int, int]:
    wanted = signature.encode("ascii")
    spans = []
    if encoding == "json":
        spans = [m.span(1) for m in JSON_SIGNATURE.finditer(raw) if m.group(1) == wanted]
    else:
        start = raw.find(CBOR_SIGNATURE_KEY)
        while start != -1:
            begin = start + len(CBOR_SIGNATURE_KEY)
            if raw[begin : begin + 64] == wanted:
                spans.append((begin, begin + 64))
            start = raw.find(CBOR_SIGNATURE_KEY, start + 1)
    if len(spans) != 1:
        raise ResignError(f"found the signature {len(spans)} times, expected exactly once")
    return spans[0]


def resign(raw: bytes, hmac_key: str) -> bytes | None:
    """The file signed with ``hmac_key``; None when it is not an HS256 data acquisition file."""
    try:
        daq = parse_daq(raw)
    except DaqError:
        return None
    if daq.alg != "HS256" or daq.signature is None:
        return None
    start, end = _signature_span(raw, daq.signature, daq.encoding)
    digest = hmac_sha256_hex(hmac_key, raw[:start] + PLACEHOLDER + raw[end:]).encode("ascii")
    signed = raw[:start] + digest + raw[end:]
    if verify_signature(signed, "HS256", digest.decode(), hmac_key) != VALID:
        raise ResignError("the re-signed file does not verify")  # never expected
    return signed
