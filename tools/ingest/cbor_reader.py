"""A small, strict CBOR (RFC 8949) reader for data acquisition headers.

Written for this server rather than using a general decoder because the binary payload format
(``values: ["Ref-BINARY-i16"]`` closed by ``0xFF`` and followed by raw samples) needs a reader
that stops exactly where the CBOR header ends and reports that offset. Every error names the byte
offset where decoding failed.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64
_F16, _F32, _F64 = struct.Struct(">e"), struct.Struct(">f"), struct.Struct(">d")
# Heads of the scalars a recording's rows hold: (size of the item in bytes, how to read it).
# Unsigned and negative ints of 1-8 argument bytes, and half, single and double floats.
_ARG_BYTES = {24: 1, 25: 2, 26: 4, 27: 8}
BINARY_REF = re.compile(r"^Ref-BINARY-(i16|u16|f32) *$", re.IGNORECASE)


class CborError(ValueError):
    """The bytes are not well-formed CBOR (or use a feature this reader refuses)."""


@dataclass(frozen=True)
class BinaryRef:
    """Stands in for ``values`` when the body is a binary payload.

    ``sample_format`` is ``"i16"``, ``"u16"`` or ``"f32"``; ``data_offset`` is where the raw
    little-endian samples start (the byte after the ``0xFF`` that closes ``values``).
    """

    sample_format: str
    data_offset: int


class _Break:
    """The 0xFF "break" stop code of an indefinite-length item."""


_BREAK = _Break()


def _half_to_float(bits: int) -> float:
    return float(struct.unpack(">e", bits.to_bytes(2, "big"))[0])


class CborReader:
    """Decodes one CBOR item from ``data``.

    If a binary reference array is met, decoding stops there: every open container returns
    what it has so far, ``binary`` holds the :class:`BinaryRef`, and the array itself is replaced
    by that ``BinaryRef`` in the decoded structure.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.binary: BinaryRef | None = None

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CborError(
                f"CBOR: truncated at byte {self.pos}: needs {n} more bytes, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _argument(self, info: int, start: int) -> int | None:
        """The head's argument; None means indefinite length (info 31)."""
        if info < 24:
            return info
        if info == 24:
            return self._take(1)[0]
        if info == 25:
            return int.from_bytes(self._take(2), "big")
        if info == 26:
            return int.from_bytes(self._take(4), "big")
        if info == 27:
            return int.from_bytes(self._take(8), "big")
        if info == 31:
            return None
        raise CborError(f"CBOR: reserved additional information {info} at byte {start}")

    def read(self) -> Any:
        """Decode the whole document: one item, and nothing after it unless it is binary."""
        value = self._item(0)
        if value is _BREAK:
            raise CborError("CBOR: unexpected break (0xFF) at byte 0")
        if self.binary is None and self.pos != len(self.data):
            raise CborError(
                f"CBOR: {len(self.data) - self.pos} unexpected bytes after the document "
                f"(it ends at byte {self.pos})"
            )
        return value

    def _item(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CborError(f"CBOR: nesting deeper than {MAX_DEPTH} at byte {self.pos}")
        start = self.pos
        head = self._take(1)[0]
        major, info = head >> 5, head & 0x1F
        if major == 7:
            return self._simple(info, start)
        arg = self._argument(info, start)
        if major == 0:
            if arg is None:
                raise CborError(f"CBOR: indefinite-length integer at byte {start}")
            return arg
        if major == 1:
            if arg is None:
                raise CborError(f"CBOR: indefinite-length integer at byte {start}")
            return -1 - arg
        if major == 2:
            return self._string(arg, 2, start)
        if major == 3:
            raw = self._string(arg, 3, start)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CborError(f"CBOR: text string at byte {start} is not UTF-8: {exc}") from None
        if major == 4:
            return self._array(arg, depth, start)
        if major == 5:
            return self._map(arg, depth, start)
        # major 6: a tag; bignums become ints, every other tag is transparent.
        if arg is None:
            raise CborError(f"CBOR: indefinite tag at byte {start}")
        inner = self._item(depth + 1)
        if arg in (2, 3) and isinstance(inner, bytes):
            magnitude = int.from_bytes(inner, "big")
            return magnitude if arg == 2 else -1 - magnitude
        return inner

    def _simple(self, info: int, start: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return _half_to_float(int.from_bytes(self._take(2), "big"))
        if info == 26:
            return float(struct.unpack(">f", self._take(4))[0])
        if info == 27:
            return float(struct.unpack(">d", self._take(8))[0])
        if info == 31:
            return _BREAK
        if info == 24:
            self._take(1)
        elif info > 24:
            raise CborError(f"CBOR: reserved simple value encoding at byte {start}")
        raise CborError(f"CBOR: unsupported simple value at byte {start}")

    def _string(self, length: int | None, major: int, start: int) -> bytes:
        if length is not None:
            return self._take(length)
        chunks: list[bytes] = []
        while True:
            chunk_start = self.pos
            head = self._take(1)[0]
            if head == 0xFF:
                return b"".join(chunks)
            if head >> 5 != major or (head & 0x1F) == 31:
                raise CborError(
                    f"CBOR: bad chunk in indefinite string at byte {chunk_start} "
                    f"(string starts at byte {start})"
                )
            size = self._argument(head & 0x1F, chunk_start)
            assert size is not None
            chunks.append(self._take(size))

    def _scalars(self, length: int, items: list[Any]) -> None:
        """The fast way through a definite-length array: ints and floats are read here, in one
        loop; at the first item of any other kind (or one cut short) it stops, with self.pos at
        that item, for the general reader to take over (and to word any error)."""
        data, pos, end = self.data, self.pos, len(self.data)
        append = items.append
        for _ in range(length):
            if pos >= end:
                break
            head = data[pos]
            major, info = head >> 5, head & 0x1F
            if major <= 1:
                if info < 24:
                    arg, size = info, 1
                elif info in _ARG_BYTES:
                    size = 1 + _ARG_BYTES[info]
                    if pos + size > end:
                        break
                    arg = int.from_bytes(data[pos + 1 : pos + size], "big")
                else:
                    break
                append(arg if major == 0 else -1 - arg)
            elif head == 0xFA and pos + 5 <= end:
                size = 5
                append(float(_F32.unpack_from(data, pos + 1)[0]))
            elif head == 0xF9 and pos + 3 <= end:
                size = 3
                append(float(_F16.unpack_from(data, pos + 1)[0]))
            elif head == 0xFB and pos + 9 <= end:
                size = 9
                append(float(_F64.unpack_from(data, pos + 1)[0]))
            else:
                break
            pos += size
        self.pos = pos

    def _array(self, length: int | None, depth: int, start: int) -> Any:
        items: list[Any] = []
        if length is not None:
            if depth < MAX_DEPTH:  # the items' depth is allowed: scalars need no more checks
                self._scalars(length, items)
            for _ in range(length - len(items)):
                item = self._item(depth + 1)
                if item is _BREAK:
                    raise CborError(f"CBOR: unexpected break (0xFF) at byte {self.pos - 1}")
                items.append(item)
                if self.binary is not None:
                    break
            return items
        while True:
            item = self._item(depth + 1)
            if item is _BREAK:
                break
            items.append(item)
            if self.binary is not None:
                break
            if len(items) == 1 and isinstance(item, str) and self._at_break():
                match = BINARY_REF.match(item)
                if match:
                    self.pos += 1
                    self.binary = BinaryRef(match.group(1).lower(), self.pos)
                    return self.binary
        return items

    def _at_break(self) -> bool:
        return self.pos < len(self.data) and self.data[self.pos] == 0xFF

    def _map(self, length: int | None, depth: int, start: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        count = 0
        while length is None or count < length:
            key_start = self.pos
            key = self._item(depth + 1)
            if key is _BREAK:
                if length is None:
                    return result
                raise CborError(f"CBOR: unexpected break (0xFF) at byte {key_start}")
            if isinstance(key, list | dict):
                raise CborError(f"CBOR: map key at byte {key_start} is an array or map")
            if isinstance(key, float) and math.isnan(key):
                raise CborError(f"CBOR: map key at byte {key_start} is NaN")
            if key in result:
                raise CborError(f"CBOR: duplicate map key {key!r} at byte {key_start}")
            value = self._item(depth + 1)
            if value is _BREAK:
                raise CborError(
                    f"CBOR: map key {key!r} has no value (break at byte {self.pos - 1})"
                )
            result[key] = value
            count += 1
            if self.binary is not None:
                return result
        return result


def decode_cbor(data: bytes) -> tuple[Any, BinaryRef | None]:
    """Decode a CBOR document; the second item is set when it is a binary payload header."""
    reader = CborReader(data)
    value = reader.read()
    return value, reader.binary
