"""An independent check of how a CBOR data acquisition file is written, for tests.

cbor2 says whether a file decodes to the right values; it accepts any valid encoding of them.
This walker checks the form as well (RFC 8949, section 4.2.1, "preferred serialization"):
every length and integer head uses the shortest argument (24-255 in one extra byte, and so on),
floats are half precision where that is exact, else single precision, never double, and only
`values` (and nothing inside it but rows) is an indefinite-length array. It shares no code with
lib/.
"""

from __future__ import annotations

import struct

_MIN_FOR_INFO = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}
_WIDTH = {24: 1, 25: 2, 26: 4, 27: 8}


class ShapeError(AssertionError):
    pass


def half_is_exact(value: float) -> bool:
    """True when `value` is a float16 exactly (then CBOR writes it as 0xF9)."""
    try:
        packed = struct.pack(">e", value)
    except OverflowError:
        return False
    return float(struct.unpack(">e", packed)[0]) == value


class _Walker:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0
        self.floats: list[tuple[int, bytes]] = []  # (offset, the float's bytes with its head)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.raw):
            raise ShapeError(f"truncated at byte {self.pos}")
        out = self.raw[self.pos : self.pos + n]
        self.pos += n
        return out

    def argument(self, info: int, at: int) -> int | None:
        if info < 24:
            return info
        if info == 31:
            return None
        if info not in _WIDTH:
            raise ShapeError(f"reserved additional information {info} at byte {at}")
        value = int.from_bytes(self.take(_WIDTH[info]), "big")
        if value < _MIN_FOR_INFO[info]:
            raise ShapeError(
                f"byte {at}: argument {value} written in {_WIDTH[info]} extra bytes, "
                "not the shortest form"
            )
        return value

    def item(self, in_values: bool = False, indefinite_ok: bool = False) -> bool:
        """Walk one item; False when it was the break (0xFF) of an indefinite array."""
        at = self.pos
        head = self.take(1)[0]
        major, info = head >> 5, head & 0x1F
        if major == 7:
            if info == 31:
                return False
            if info == 25:
                self.floats.append((at, self.raw[at : at + 3]))
                self.take(2)
            elif info == 26:
                (value,) = struct.unpack(">f", self.take(4))
                if half_is_exact(value):
                    raise ShapeError(f"byte {at}: {value!r} is exact in float16 but written as 32")
                self.floats.append((at, self.raw[at : at + 5]))
            elif info == 27:
                raise ShapeError(f"byte {at}: a float64; float32 or float16 expected")
            elif info not in (20, 21, 22):
                raise ShapeError(f"byte {at}: simple value {info}")
            return True
        arg = self.argument(info, at)
        if arg is None:
            if major != 4 or not indefinite_ok:
                raise ShapeError(f"byte {at}: indefinite length where a definite one belongs")
            while self.item(in_values=True):
                pass
            return True
        if major in (2, 3):
            data = self.take(arg)
            if major == 3:
                data.decode("utf-8")
        elif major == 4:
            for _ in range(arg):
                if not self.item(in_values=in_values):
                    raise ShapeError(f"break inside the definite array at byte {at}")
        elif major == 5:
            for _ in range(arg):
                key_at = self.pos
                if not self.item():
                    raise ShapeError(f"break inside the definite map at byte {at}")
                is_values = self.raw[key_at : self.pos] == b"\x66values"
                if not self.item(indefinite_ok=is_values):
                    raise ShapeError(f"break inside the definite map at byte {at}")
        elif major == 6:
            raise ShapeError(f"byte {at}: a tag")
        return True


def check_shape(raw: bytes) -> list[tuple[int, bytes]]:
    """Raise ShapeError where `raw` is not written in the preferred (shortest) form; return every
    float item as (offset, bytes with head), in file order."""
    walker = _Walker(raw)
    if not walker.item():
        raise ShapeError("the file is a lone break")
    if walker.pos != len(raw):
        raise ShapeError(f"{len(raw) - walker.pos} bytes after the document")
    return walker.floats
