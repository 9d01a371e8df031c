"""Independent checks of data acquisition files, for tests: stdlib hmac, cbor2, json.

Nothing here imports lib/: it is the yardstick the device library is measured with.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import struct
from typing import Any

import cbor2

_JSON_SIG = re.compile(rb'"signature":"([0-9a-f]{64})"')
_CBOR_SIG = b"\x69signature\x78\x40"


def signature_span(raw: bytes) -> tuple[int, int] | None:
    m = _JSON_SIG.search(raw)
    if m:
        return m.start(1), m.end(1)
    at = raw.find(_CBOR_SIG)
    if at >= 0:
        start = at + len(_CBOR_SIG)
        return start, start + 64
    return None


def signature_valid(raw: bytes, key: str | bytes) -> bool:
    """Zero-substitution check: the hex digest in the file equals HMAC(file with zeros)."""
    span = signature_span(raw)
    if span is None:
        raise AssertionError("no 64-char signature in the file")
    start, end = span
    zeroed = raw[:start] + b"0" * 64 + raw[end:]
    k = key.encode() if isinstance(key, str) else key
    return hmac.new(k, zeroed, hashlib.sha256).hexdigest().encode() == raw[start:end]


_BIN = {"i16": ("<h", 2), "u16": ("<H", 2), "f32": ("<f", 4)}


def decode(raw: bytes) -> dict[str, Any]:
    """The data acquisition object; a binary payload's samples become payload['values']."""
    if raw[:1] == b"{":
        return json.loads(raw)
    fp = io.BytesIO(raw)
    obj = cbor2.CBORDecoder(fp).decode()
    values = obj["payload"]["values"]
    if len(values) == 1 and isinstance(values[0], str) and values[0].startswith("Ref-BINARY-"):
        fmt, width = _BIN[values[0][len("Ref-BINARY-") :].strip()]
        rest = raw[fp.tell() :]
        assert len(rest) % width == 0, "binary payload is not whole samples"
        obj["payload"]["values"] = [v for (v,) in struct.iter_unpack(fmt, rest)]
        obj["payload"]["binary_offset"] = fp.tell()
    else:
        assert fp.tell() == len(raw), "trailing bytes after the CBOR object"
    return obj


def rows(obj: dict[str, Any]) -> list[list[float]]:
    """Values as rows, whether the file wrote them flat (single axis) or nested."""
    values = obj["payload"]["values"]
    return [v if isinstance(v, list) else [v] for v in values]


def f32(x: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", x))[0])
