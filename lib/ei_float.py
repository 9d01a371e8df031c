"""Float32 numbers for the encoder, with no imports of the library's: the shortest text that
reads back as the same float32 (JSON), its bit pattern, and the check for values a file cannot
hold (NaN, infinity, beyond float32). CBOR's float16/float32 choice is ei_f32cbor's own: the
scaled-IMU path loads that module alone.

The text is computed with integers only, so CPython and MicroPython (double or single precision
floats) write the same bytes; ei_f32text's viper kernel writes the same for most values and
leaves the rest to write_f32. Loaded only by files with floats or a scale, and header numbers.

Memory: the module's code (~4 KiB as .mpy) and a 4-byte scratch buffer; write_f32 makes a few
ints per value (big ints only for extreme exponents); check_values reads float32 buffers as
bits (viper) and boxes a float per value for the rare others (a huge scale, doubles).
"""

import math
import struct
import sys

import micropython

_FLT_MAX = 3.4028234663852886e38
_POW10 = (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000)


def write_f32(buf, p, bits):
    """Write the shortest decimal that reads back as this float32 (given by its bit pattern)
    into buf at p, as JSON (and JavaScript) write numbers; return the position after it.

    Pure integer arithmetic, so CPython and MicroPython (any float width) write the same text;
    nothing is allocated but a few ints (big ints only for extreme exponents).
    """
    e8 = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if e8 == 0 and m == 0:  # zero, and minus zero, are "0"
        buf[p] = 0x30
        return p + 1
    if bits >> 31:
        buf[p] = 0x2D
        p += 1
    if e8 == 0:
        e = -149
    else:
        m |= 0x800000
        e = e8 - 150
    # The value is m * 2**e; anything strictly between lo and hi (units of 2**(e-2)) reads
    # back as it, the ends too when m is even (readers round half to even).
    even = m % 2 == 0
    lo = 4 * m - (1 if m == 0x800000 and e8 > 1 else 2)
    hi = 4 * m + 2
    # Scale by 10**-d so the value has 9 digits before the point: vf = floor(value / 10**d).
    # Only these few divisions need big ints; the digit search below stays in small ints.
    k = int(math.floor(math.log10(m) + e * 0.3010299956639812))
    while True:
        d = k - 8
        num, den = m, 1
        if e >= 0:
            num <<= e
        else:
            den <<= -e
        if d >= 0:
            den *= 10**d
        else:
            num *= 10 ** (-d)
        vf, r = divmod(num, den)
        if vf >= 1000000000:
            k += 1
        elif vf < 100000000:
            k -= 1
        else:
            break
    # The readback interval in the same units: lo * 2**(e-2) / 10**d = lo * num / (4 * m * den).
    scale = 4 * m * den
    lf, lr = divmod(lo * num, scale)
    hf, hr = divmod(hi * num, scale)
    for j in range(8, -1, -1):  # 1 significant digit first, then 2, ... 9
        if j:
            t = _POW10[j]
            n = (vf + t // 2) // t  # the value rounded half up to 9 - j digits
            x = n * t
        else:
            n = x = vf + (1 if 2 * r >= den else 0)
        if (x > lf or (even and lr == 0 and x == lf)) and (
            x < hf or (x == hf and (hr != 0 or even))
        ):
            break
    d += j
    while n % 10 == 0:
        n //= 10
        d += 1
    # n has nd digits and no trailing zero; the value is n * 10**d.
    nd = 1
    t = n
    while t >= 10:
        t //= 10
        nd += 1
    point = nd + d  # the value is 0.<digits> * 10**point
    if d >= 0 and point <= 21:  # an integer: the digits, then zeros
        p = _digits(buf, p, n, nd, 0)
        for _ in range(d):
            buf[p] = 0x30
            p += 1
        return p
    if 0 < point <= 21:  # a point inside the digits
        return _digits(buf, p, n, nd, point)
    if -6 < point <= 0:  # 0.000ddd
        buf[p] = 0x30
        buf[p + 1] = 0x2E
        p += 2
        for _ in range(-point):
            buf[p] = 0x30
            p += 1
        return _digits(buf, p, n, nd, 0)
    p = _digits(buf, p, n, nd, 1 if nd > 1 else 0)  # d.ddde+x
    buf[p] = 0x65
    exp = point - 1
    buf[p + 1] = 0x2B if exp > 0 else 0x2D
    if exp < 0:
        exp = -exp
    if exp >= 10:
        buf[p + 2] = 0x30 + exp // 10
        p += 1
    buf[p + 2] = 0x30 + exp % 10
    return p + 3


def _digits(buf, p, n, nd, point):
    """The nd digits of n at p, with a '.' after the first `point` of them (0: none)."""
    end = p + nd + (1 if point else 0)
    q = end
    i = nd
    while i:
        i -= 1
        q -= 1
        if point and i == point - 1 and q == p + point:
            buf[q] = 0x2E
            q -= 1
        buf[q] = 0x30 + n % 10
        n //= 10
    return end


def f32_text(bits):
    """write_f32 as a str (header numbers, tests)."""
    buf = bytearray(32)
    return bytes(buf[: write_f32(buf, 0, bits)]).decode()


_scratch = bytearray(4)


def f32_bits(value):
    """The IEEE float32 bit pattern of a number (rounded to nearest), as an int."""
    struct.pack_into(">f", _scratch, 0, value)
    return (_scratch[0] << 24) | (_scratch[1] << 16) | (_scratch[2] << 8) | _scratch[3]


def bad_value(rec, row, axis):
    """The ValueError for the value at (row, axis) of `rec` that is not a finite float32."""
    v = rec.buffer[row * rec.axes + axis]
    if rec.scale is not None:
        v = v * rec.scale[axis]
    raise ValueError(
        "row %d axis %s: %r is not a finite float32 value" % (row, rec.sensors[axis][0], v)
    )


def check_values(rec):
    """Raise the encoder's ValueError for the first value that cannot be sent."""
    data = rec.buffer
    axes = rec.axes
    scale = rec.scale
    if _first_nonfinite is not None and rec.typecode == "f" and scale is None:
        i = _first_nonfinite(data, len(rec) * axes)  # float32 bits: no float per value
        if i >= 0:
            bad_value(rec, i // axes, i % axes)
        return
    i = 0
    for row in range(len(rec)):
        for axis in range(axes):
            v = data[i] if scale is None else data[i] * scale[axis]
            if not -_FLT_MAX <= v <= _FLT_MAX:
                bad_value(rec, row, axis)
            i += 1


_first_nonfinite = None
if sys.implementation.name == "micropython":  # CPython: the plain twins

    @micropython.viper
    def _first_nonfinite(data, n: int) -> int:
        """The index of the first NaN or infinity among n float32 values, or -1."""
        d = ptr32(data)  # noqa: F821 (viper built-in)
        i = 0
        while i < n:
            if (int(d[i]) >> 23) & 0xFF == 0xFF:
                return i
            i += 1
        return -1
