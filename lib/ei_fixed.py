"""Scaled integer readings as fixed-point decimal text: JSON rows and data-forwarder lines.

A reading `raw` with `scale` is written as raw * scale rounded half away from zero to d
decimals, d per axis: the fewest for which one raw step (|scale|) is at least one unit of the
last decimal (scale 9.80665/16384 gives 4, 1/131 gives 3, 0.01 gives 2, 1 gives 0). The
product is raw times F = |scale| * 10**d as a 42-bit fixed-point number
(m1 + m2 / 2**14 + m3 / 2**28) / 2**s, exactly rounded, in products below 2**30 for 16-bit
readings (small ints on a 32-bit board, machine words in viper). For |raw| < 2**16 the text is
within 0.5 + 2**-22 units of the last decimal of raw * scale, and identifies the reading:
round(text / scale) == raw.

One implementation serves ei_json (scaled rows) and ei_forward.Forwarder (serial lines):
`plan()` prepares the per-axis factors once per file, `rows16` (viper, int16/uint16 buffers)
and `rows` (plain Python, any int buffer, CPython) write the same bytes.

Memory: the module's code (~3 KiB as .mpy, viper included), a params array of
2 + 6 ints per axis per file; nothing per row.
"""

import sys
from array import array

import micropython
from micropython import const

FAST = True  # tests turn the viper kernel off to compare its bytes with rows()
_HEAD = const(2)  # params: [brackets around a row, signed 16-bit], then per axis:
_STRIDE = const(6)  # [m1, m2, m3, s, decimals, negative scale]
_MAX_DECIMALS = const(20)  # so one value and its punctuation fit the encoder's 48-byte reserve
_LIMIT = const(0x20000000)  # factors at or above this do not fit the params' int32
_P10 = array("i", (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000))


def decimals(scale):
    """The fewest decimals for which one raw step (|scale|) is at least one unit of the last
    decimal; the 1e-6 slack lets single-precision 0.01 (0.0099999998) give 2."""
    x = abs(scale)
    if x == 0:
        return 0
    d = 0
    while d <= _MAX_DECIMALS and x * 10**d < 1 - 1e-6:
        d += 1
    return d


def factor(value):
    """value ~= (m1 + m2 / 2**14 + m3 / 2**28) / 2**s for value > 0, with m2, m3 < 2**14 and
    m1 < 2**14 unless value >= 2**13; s = 0 only for an integer value below 2**14, 0
    included (then m1 is that integer, exactly: a zero scale stays in the viper kernel)."""
    r = int(round(value))
    if abs(value - r) <= 1e-9 * value and r < (1 << 14):
        return r, 0, 0, 0
    s = 1
    while s < 200 and value * (1 << (s + 1)) < (1 << 14):
        s += 1
    m = int(round(value * (1 << (s + 28))))
    return m >> 28, (m >> 14) & 0x3FFF, m & 0x3FFF, s


def plan(scales, typecode, nested, places=None):
    """Per-axis parameters for one file: (kernel, twin, params), or None when some scale
    cannot be written this way (below 1e-20, or scale * 10**d >= 2**29).

    `places` overrides the decimals of every axis; `nested` puts each row in brackets
    (JSON rows of several axes)."""
    if places is not None and (
        not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= _MAX_DECIMALS
    ):
        raise ValueError("decimals must be an int from 0 to 20, not %r" % (places,))
    axes = len(scales)
    params = array("i", bytes(4 * (_HEAD + _STRIDE * axes)))
    params[0] = 1 if nested else 0
    params[1] = 1 if typecode == "h" else 0
    fits16 = True
    for k in range(axes):
        scale = scales[k]
        d = decimals(scale) if places is None else places
        value = abs(scale) * 10**d
        if d > _MAX_DECIMALS or value >= _LIMIT:
            return None
        m1, m2, m3, s = factor(value)
        q = _HEAD + _STRIDE * k
        params[q] = m1
        params[q + 1] = m2
        params[q + 2] = m3
        params[q + 3] = s
        params[q + 4] = d
        params[q + 5] = 1 if scale < 0 else 0
        if m1 >= (1 << 14) or s > 24:
            fits16 = False
    kernel = rows
    if FAST and rows16 is not None and fits16 and typecode in "hH":
        kernel = rows16
    return kernel, rows, params


def rows(data, state, out, size, axes, stop, params):
    """Write values from data[state[0] * axes + state[2]] on into out[state[1]:] until `stop`
    rows are done or the position reaches `size`; state = [row, position, axis, status].

    Plain Python, any int buffer (CPython, and the boards for 32-bit readings)."""
    row = state[0]
    pos = state[1]
    k = state[2]
    nested = params[0]
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
        q = _HEAD + _STRIDE * k
        raw = data[i]
        neg = params[q + 5]
        a = raw
        if raw < 0:
            a = -raw
            neg = 1 - neg
        s = params[q + 3]
        v = a * params[q]
        if s:  # raw * F exactly, rounded half up: the bits below 2**-14 never change it
            v += (a * params[q + 1] + ((a * params[q + 2]) >> 14)) >> 14
            v = (v + (1 << (s - 1))) >> s
        dec = params[q + 4]
        if neg and v:
            out[pos] = 0x2D
            pos += 1
        n = 1
        t = v // 10
        while t:
            n += 1
            t //= 10
        if n <= dec:
            n = dec + 1
        end = pos + n + (1 if dec else 0)
        p = end
        c = 0
        while c < n:
            if dec and c == dec:
                p -= 1
                out[p] = 0x2E
            p -= 1
            out[p] = 0x30 + v % 10
            v //= 10
            c += 1
        pos = end
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


rows16 = None
if sys.implementation.name == "micropython":  # CPython: the plain twins

    @micropython.viper
    def rows16(data, state, out, size: int, axes: int, stop: int, params):
        """rows() for int16/uint16 buffers and factors with m1 < 2**14, s <= 24 (plan() checks)."""
        d = ptr16(data)  # noqa: F821 (viper built-in)
        st = ptr32(state)  # noqa: F821
        o = ptr8(out)  # noqa: F821
        pa = ptr32(params)  # noqa: F821
        p10 = ptr32(_P10)  # noqa: F821
        row = int(st[0])
        pos = int(st[1])
        k = int(st[2])
        nested = int(pa[0])
        signed = int(pa[1])
        i = row * axes + k
        while row < stop and pos < size:
            if k:
                o[pos] = 0x2C
                pos += 1
            else:
                if row:
                    o[pos] = 0x2C
                    pos += 1
                if nested:
                    o[pos] = 0x5B
                    pos += 1
            q = _HEAD + _STRIDE * k
            a = int(d[i])
            neg = int(pa[q + 5])
            if signed and a & 0x8000:
                a = 0x10000 - a
                neg ^= 1
            s = int(pa[q + 3])
            v = a * int(pa[q])
            if s:
                v += (a * int(pa[q + 1]) + ((a * int(pa[q + 2])) >> 14)) >> 14
                v = (v + (1 << (s - 1))) >> s
            dec = int(pa[q + 4])
            if neg and v:
                o[pos] = 0x2D
                pos += 1
            n = 1
            while n < 10 and v >= int(p10[n]):
                n += 1
            if n <= dec:
                n = dec + 1
            end = pos + n
            if dec:
                end += 1
            p = end
            c = 0
            while c < n:
                if dec and c == dec:
                    p -= 1
                    o[p] = 0x2E
                p -= 1
                if v < 0x10000:
                    t = ((v >> 1) * 52429) >> 18  # v // 10 without a division, in 31 bits
                else:
                    t = v // 10
                o[p] = 0x30 + v - t * 10
                v = t
                c += 1
            pos = end
            i += 1
            k += 1
            if k == axes:
                if nested:
                    o[pos] = 0x5D
                    pos += 1
                k = 0
                row += 1
        st[0] = row
        st[1] = pos
        st[2] = k
