"""Compact JSON data acquisition files: the header and integer rows (ei_ingest loads it for "json").

The same key order and separators as JavaScript's JSON.stringify (what the official Node clients
send): the docs' example encodes to the official vector byte for byte. Strings are escaped.
Scaled readings come from ei_fixed (fixed decimals per axis), floats from ei_f32text (shortest
float32 text, never `nan`); each loads only for the files that need it.

Memory: the module's code (~2.8 KiB as .mpy); nothing per row for integer rows.
"""

import sys

import micropython

_SIG_ZEROS = b"0" * 64
_HEX = b"0123456789abcdef"
_INT_CODES = "bBhHiIlLqQ"
FAST = True  # tests turn the viper emitter off to compare its bytes with the plain code


def text(out, s, ascii=False):
    """A JSON string; with `ascii`, every non-ASCII character as \\u escapes (for headers)."""
    out.append(0x22)
    for c in s:
        o = ord(c)
        if o == 0x22 or o == 0x5C:
            out.append(0x5C)
            out.append(o)
        elif o < 0x20:
            out.extend(b"\\u00")
            out.append(_HEX[o >> 4])
            out.append(_HEX[o & 15])
        elif o < 0x80:
            out.append(o)
        elif not ascii:
            out.extend(c.encode())
        elif o > 0xFFFF:
            o -= 0x10000
            out.extend(b"\\u%04x\\u%04x" % (0xD800 | (o >> 10), 0xDC00 | (o & 0x3FF)))
        else:
            out.extend(b"\\u%04x" % o)
    out.append(0x22)


def number(value):
    if isinstance(value, int):
        return str(value).encode()
    import ei_float

    return ei_float.f32_text(ei_float.f32_bits(value)).encode()


def header(rec, signed, device_type, device_name, iat):
    """Everything before the first row, and the offset of the 64-char signature (or -1)."""
    out = bytearray(b'{"protected":{"ver":"v1","alg":')
    out.extend(b'"HS256"' if signed else b'"none"')
    if iat is not None:
        out.extend(b',"iat":')
        out.extend(number(iat))
    out.extend(b'},"signature":"')
    sig_at = len(out) if signed else -1
    out.extend(_SIG_ZEROS if signed else b"00")
    out.extend(b'","payload":{')
    if device_name is not None:
        out.extend(b'"device_name":')
        text(out, device_name)
        out.append(0x2C)
    out.extend(b'"device_type":')
    text(out, device_type)
    out.extend(b',"interval_ms":')
    out.extend(number(rec.interval_ms))
    out.extend(b',"sensors":[')
    for i, (name, units) in enumerate(rec.sensors):
        out.extend(b',{"name":' if i else b'{"name":')
        text(out, name)
        out.extend(b',"units":')
        text(out, units)
        out.append(0x7D)
    out.extend(b'],"values":[')
    return out, sig_at


def plan(rec):
    """(kernel, twin, params) that write the rows of `rec` (ei_ingest.Encoder runs them):
    scaled readings as fixed decimals (ei_fixed), floats as the shortest float32 text
    (ei_f32text); integer files load neither."""
    nested = rec.axes > 1
    if rec.scale is not None or rec.typecode not in _INT_CODES:
        if rec.typecode in _INT_CODES:
            import ei_fixed

            fixed = ei_fixed.plan(rec.scale, rec.typecode, nested)
            if fixed is not None:
                return fixed
        import ei_f32text

        return ei_f32text.plan(rec, nested)
    # The viper kernel writes whole rows of up to 6 int16 values (3 + 7 bytes each fit the
    # stage's reserve); signed or not goes as its params.
    if FAST and _rows16 is not None and rec.typecode in "hH" and rec.axes <= 6:
        return _rows16, None, rec.typecode == "h"
    return _ints, None, nested


def _ints(data, state, out, size, axes, stop, nested):
    """Integer values from data[state[0] * axes + state[2]] into out[state[1]:] until `stop`
    rows are done or the position reaches `size`; state = [row, position, axis, status]."""
    row = state[0]
    pos = state[1]
    k = state[2]
    i = row * axes + k
    while row < stop and pos < size:
        if k:
            out[pos] = 0x2C
            pos += 1
        else:
            if row:
                out[pos] = 0x2C
                pos += 1
            if nested:
                out[pos] = 0x5B
                pos += 1
        v = data[i]
        if v < 0:
            out[pos] = 0x2D
            pos += 1
            v = -v
        n = 1
        t = v
        while t >= 10:
            t //= 10
            n += 1
        pos += n
        j = pos
        while n:
            j -= 1
            out[j] = 0x30 + v % 10
            v //= 10
            n -= 1
        i += 1
        k += 1
        if k == axes:
            if nested:
                out[pos] = 0x5D
                pos += 1
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
            if row:
                o[pos] = 0x2C
                pos += 1
            if axes > 1:
                o[pos] = 0x5B
                pos += 1
            k = 0
            while k < axes:
                if k:
                    o[pos] = 0x2C
                    pos += 1
                v = int(d[i])
                if signed and v & 0x8000:
                    v = 0x10000 - v
                    o[pos] = 0x2D
                    pos += 1
                n = 1
                if v >= 10000:
                    n = 5
                elif v >= 1000:
                    n = 4
                elif v >= 100:
                    n = 3
                elif v >= 10:
                    n = 2
                end = pos + n
                while n:
                    n -= 1
                    q = ((v >> 1) * 52429) >> 18  # v // 10 for v < 2**16, in 31 bits
                    o[pos + n] = 0x30 + v - q * 10
                    v = q
                pos = end
                i += 1
                k += 1
            if axes > 1:
                o[pos] = 0x5D
                pos += 1
            row += 1
        st[0] = row
        st[1] = pos


END = b"]}}"  # values, payload, the file
