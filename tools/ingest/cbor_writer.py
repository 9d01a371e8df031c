"""A small CBOR (RFC 8949) writer for remote management answers to devices that speak CBOR.

Writes what those messages hold: maps with text keys, arrays, text, integers, floats (float64),
booleans and null. The server reads CBOR with :mod:`ingest.cbor_reader`; tests check this
writer against cbor2.
"""

from __future__ import annotations

import struct
from typing import Any


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 1 << 8:
        return bytes([(major << 5) | 24, n])
    if n < 1 << 16:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, "big")
    if n < 1 << 32:
        return bytes([(major << 5) | 26]) + n.to_bytes(4, "big")
    if n < 1 << 64:
        return bytes([(major << 5) | 27]) + n.to_bytes(8, "big")
    raise ValueError(f"CBOR: integer {n} does not fit 64 bits")


def encode_cbor(value: Any) -> bytes:
    out = bytearray()
    _write(out, value, 0)
    return bytes(out)


def _write(out: bytearray, value: Any, depth: int) -> None:
    if depth > 32:
        raise ValueError("CBOR: nesting too deep")
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, bytes | bytearray):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, list | tuple):
        out += _head(4, len(value))
        for item in value:
            _write(out, item, depth + 1)
    elif isinstance(value, dict):
        out += _head(5, len(value))
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"CBOR: map keys must be strings here, not {key!r}")
            _write(out, key, depth + 1)
            _write(out, item, depth + 1)
    else:
        raise ValueError(f"CBOR: cannot encode {type(value).__name__}")
