"""CBOR data acquisition files: the header and integer rows (ei_ingest loads it for "cbor").

Layout as in the official example and the C SDK: a definite map (protected, signature,
payload); the signature a 64-char text string `78 40 ...`; `values` an indefinite array
(`9F ... FF`) of definite rows, ints as CBOR ints; scaled readings and floats as float16 or
float32 come from ei_f32cbor (loaded only for them).

Memory: the module's code (~2.7 KiB as .mpy); nothing per row for integer rows.
"""

import struct
import sys

import micropython

_SIG_ZEROS = b"0" * 64
_INT_CODES = "bBhHiIlLqQ"
FAST = True  # tests turn the viper emitter off to compare its bytes with the plain code


def head(out, major, n):
    """A CBOR head. Every n here is below 2**32: a text's length, interval_ms or iat (both
    checked by ei_ingest), a sensor count."""
    if n < 24:
        out.append(major | n)
    elif n < 0x100:
        out.append(major | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major | 25)
        out.extend(struct.pack(">H", n))
    else:
        out.append(major | 26)
        out.extend(struct.pack(">I", n))


def text(out, s):
    b = s.encode()
    head(out, 0x60, len(b))
    out.extend(b)


def number(out, value):
    """iat or interval_ms: both checked positive by ei_ingest, so an int is never negative."""
    if isinstance(value, int):
        head(out, 0x00, value)
    else:
        import ei_f32cbor

        ei_f32cbor.number(out, value)


def header(rec, signed, device_type, device_name, iat, tag=None):
    """Everything before the first row, and the offset of the 64-char signature (or -1).

    With `tag` ("Ref-BINARY-i16"...), the header of a binary payload: it ends with the 0xFF
    of `values`, padded so that the samples after it start 4-byte aligned.
    """
    out = bytearray()
    out.append(0xA3)
    text(out, "protected")
    out.append(0xA3 if iat is not None else 0xA2)
    text(out, "ver")
    text(out, "v1")
    text(out, "alg")
    text(out, "HS256" if signed else "none")
    if iat is not None:
        text(out, "iat")
        number(out, iat)
    text(out, "signature")
    if signed:
        out.extend(b"\x78\x40")
        sig_at = len(out)
        out.extend(_SIG_ZEROS)
    else:
        sig_at = -1
        text(out, "00")
    text(out, "payload")
    out.append(0xA5 if device_name is not None else 0xA4)
    if device_name is not None:
        text(out, "device_name")
        text(out, device_name)
    text(out, "device_type")
    text(out, device_type)
    text(out, "interval_ms")
    number(out, rec.interval_ms)
    text(out, "sensors")
    head(out, 0x80, len(rec.sensors))
    for name, units in rec.sensors:
        out.append(0xA2)
        text(out, "name")
        text(out, name)
        text(out, "units")
        text(out, units)
    text(out, "values")
    out.append(0x9F)
    if tag is not None:
        while (len(out) + len(tag) + (1 if len(tag) < 24 else 2) + 1) % 4:
            tag += " "
        text(out, tag)
        out.append(0xFF)
    return out, sig_at


def plan(rec):
    """(kernel, twin, params) that write the rows of `rec` (ei_ingest.Encoder runs them)."""
    if rec.scale is not None or rec.typecode not in _INT_CODES:
        import ei_f32cbor  # floats and scaled readings only: integer files never load it

        return ei_f32cbor.plan(rec)
    # The viper kernel writes whole rows of up to 15 int16 values (1 + 3 bytes each fit the
    # stage's reserve); signed or not goes as its params.
    if FAST and _rows16 is not None and rec.typecode in "hH" and rec.axes <= 15:
        return _rows16, None, rec.typecode == "h"
    return _ints, None, None


def _ints(data, state, out, size, axes, stop, params):
    """Integer values from data[state[0] * axes + state[2]] into out[state[1]:] until `stop`
    rows are done or the position reaches `size`; state = [row, position, axis, status]."""
    row = state[0]
    pos = state[1]
    k = state[2]
    i = row * axes + k
    while row < stop and pos < size:
        if k == 0 and axes > 1:  # a row's head: a definite array
            if axes < 24:
                out[pos] = 0x80 | axes
            else:
                out[pos] = 0x98
                pos += 1
                out[pos] = axes
            pos += 1
        v = data[i]
        major = 0
        if v < 0:
            major = 0x20
            v = -1 - v  # CBOR writes a negative n as -1 - n
        if v < 24:
            out[pos] = major | v
            pos += 1
        else:
            n = 1 if v < 0x100 else 2 if v < 0x10000 else 4 if v < 0x100000000 else 8
            out[pos] = major | (24, 25, 0, 26, 0, 0, 0, 27)[n - 1]
            pos += n + 1
            j = pos
            while n:  # big-endian, from the last byte
                j -= 1
                out[j] = v & 0xFF
                v >>= 8
                n -= 1
        i += 1
        k += 1
        if k == axes:
            k = 0
            row += 1
    state[0] = row
    state[1] = pos
    state[2] = k


_rows16 = None
if sys.implementation.name == "micropython":  # CPython: the plain twins

    @micropython.viper
    def _rows16(data, state, out, size: int, axes: int, stop: int, signed: int):
        """int16 rows into the stage until it is full; state = [next row, stage position]."""
        d = ptr16(data)  # noqa: F821 (viper built-in)
        st = ptr32(state)  # noqa: F821
        o = ptr8(out)  # noqa: F821
        row = int(st[0])
        pos = int(st[1])
        i = row * axes
        while row < stop and pos < size:
            if axes > 1:
                o[pos] = 0x80 | axes
                pos += 1
            k = 0
            while k < axes:
                v = int(d[i])
                major = 0
                if signed and v & 0x8000:
                    v = 0xFFFF - v  # -1 - value, as CBOR negative ints are written
                    major = 0x20
                if v < 24:
                    o[pos] = major | v
                    pos += 1
                elif v < 0x100:
                    o[pos] = major | 24
                    o[pos + 1] = v
                    pos += 2
                else:
                    o[pos] = major | 25
                    o[pos + 1] = v >> 8
                    o[pos + 2] = v & 0xFF
                    pos += 3
                i += 1
                k += 1
            row += 1
        st[0] = row
        st[1] = pos


END = b"\xff"  # the end of the indefinite `values` array
