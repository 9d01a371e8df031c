"""CBOR data acquisition files: the header and integer rows (ei_encode loads this for "cbor").

Layout as in the official example and the C SDK: a definite map (protected, signature,
payload); the signature a 64-char text string `78 40 ...`; `values` an indefinite array
(`9F ... FF`) of definite rows, ints as CBOR ints; scaled readings and floats as float16 or
float32 come from ei_f32cbor (loaded only for them).

Memory: the module's code (~2.7 KiB as .mpy); nothing per row for integer rows.
"""

import struct

try:
    import micropython
except ImportError:  # CPython: the plain rows() below does all the work
    micropython = None  # type: ignore[assignment]

_SIG_ZEROS = b"0" * 64
_INT_CODES = "bBhHiIlLqQ"
FAST = True  # tests turn the viper emitter off to compare its bytes with the plain code


def head(out, major, n):
    if n < 24:
        out.append(major | n)
    elif n < 0x100:
        out.append(major | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major | 25)
        out.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        out.append(major | 26)
        out.extend(struct.pack(">I", n))
    else:
        out.append(major | 27)
        out.extend(struct.pack(">Q", n))


def text(out, s):
    b = s.encode()
    head(out, 0x60, len(b))
    out.extend(b)


def number(out, value):
    if isinstance(value, int):
        if value < 0:
            head(out, 0x20, -1 - value)
        else:
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


def put_int(enc, v):
    buf = enc.buf
    p = enc.pos
    major = 0
    if v < 0:
        major = 0x20
        v = -1 - v
    if v < 24:
        buf[p] = major | v
        enc.pos = p + 1
    elif v < 0x100:
        buf[p] = major | 24
        buf[p + 1] = v
        enc.pos = p + 2
    elif v < 0x10000:
        buf[p] = major | 25
        buf[p + 1] = v >> 8
        buf[p + 2] = v & 0xFF
        enc.pos = p + 3
    else:
        wide = v >= 0x100000000
        n = 8 if wide else 4
        buf[p] = major | (27 if wide else 26)
        while n:
            buf[p + n] = v & 0xFF
            v >>= 8
            n -= 1
        enc.pos = p + (9 if wide else 5)


def rows(enc, rec, start, stop):
    if rec.scale is not None or rec.typecode not in _INT_CODES:
        kernel, twin, params = enc.plan(rec, _float_plan)
        enc.fast_rows(kernel, rec, start, stop, params, twin)
        return
    # The viper emitter takes rows of up to 15 int16 values (1 + 3 bytes each fit the reserve).
    if FAST and _rows16 is not None and rec.typecode in "hH" and rec.axes <= 15:
        enc.fast_rows(_rows16, rec, start, stop, rec.typecode == "h")
        return
    data = rec.buffer
    axes = rec.axes
    row_head = 0x80 | axes if axes < 24 else 0x98
    size = enc.size
    i = start * axes
    for _ in range(start, stop):
        if axes > 1:
            enc.buf[enc.pos] = row_head
            enc.pos += 1
            if axes >= 24:
                enc.buf[enc.pos] = axes
                enc.pos += 1
        for _ in range(axes):
            put_int(enc, data[i])
            i += 1
            if enc.pos >= size:
                enc.spill()


def _float_plan(rec):
    import ei_f32cbor  # floats and scaled readings only: integer files never load it

    return ei_f32cbor.plan(rec)


_rows16 = None
if micropython is not None:

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


def end(enc):
    enc.put_block(b"\xff")
