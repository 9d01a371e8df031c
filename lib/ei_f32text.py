"""JSON rows of float values: the shortest text that reads back as the same float32.

ei_json loads this module for float buffers (and for scaled readings whose scale is too small
or too large for fixed decimals). The text is ei_float.write_f32's: for 1, 2, ... 9
significant digits, the value rounded half up to that many digits; the first that reads back
as the same float32 is written, the way JSON.stringify writes numbers.

The viper kernel `rows16` computes it for float32 buffers with values from about 1.2e-10 to
6.7e7 (what sensors give): value * 10**k as an exact integer (the float's 26-bit scaled
mantissa times 10**k, k <= 17, in 15-bit limbs: every product below 2**31, so 32-bit machine
words hold them), shifted into 8 or 9 digits with the read-back interval around it; other values
go to `rows`, the plain Python twin (any buffer, a scale, CPython), which calls write_f32.
Both write the same bytes (tests compare them over many bit patterns).

Memory: the module's code (~4.8 KiB as .mpy, viper included), a 432-byte table of powers of
ten, a 72-byte scratch array; nothing per row on the viper path.
"""

import struct
import sys
from array import array

import micropython
from micropython import const

FAST = True  # tests turn the viper kernel off to compare its bytes with rows()
_FLT_MAX = 3.4028234663852886e38
_HEAD = const(2)  # params: [brackets around a row, scaled], then per axis the scale (a double)
_STRIDE = const(2)
_P10 = array("i", (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000))
_KMAX = const(17)
_TEN = array("i", bytes(4 * 6 * (_KMAX + 1)))  # 10**k in six 15-bit limbs, k = 0.._KMAX
for _k in range(_KMAX + 1):
    for _j in range(6):
        _TEN[6 * _k + _j] = (10**_k >> (15 * _j)) & 0x7FFF
_W = array("i", bytes(4 * 18))  # scratch: value, low end and high end of the interval, 6 limbs


def plan(rec, nested):
    """(kernel, twin, params) for one file of `rec`."""
    axes = rec.axes
    params = array("i", bytes(4 * (_HEAD + _STRIDE * axes)))
    params[0] = 1 if nested else 0
    if rec.scale is not None:
        params[1] = 1
        for k in range(axes):
            struct.pack_into("<d", params, 4 * (_HEAD + _STRIDE * k), rec.scale[k])
    kernel = rows
    if FAST and rows16 is not None and rec.typecode == "f" and rec.scale is None:
        kernel = rows16
    return kernel, rows, params


def rows(data, state, out, size, axes, stop, params):
    """Write values from data[state[0] * axes + state[2]] on into out[state[1]:] until `stop`
    rows are done or the position reaches `size`; state = [row, position, axis, status],
    status 2 = the value at (row, axis) is not a finite float32 (nothing written for it).

    Plain Python: any buffer, with or without a scale (CPython, and values rows16 leaves)."""
    from ei_float import f32_bits, write_f32

    row = state[0]
    pos = state[1]
    k = state[2]
    nested = params[0]
    scales = None
    if params[1]:
        scales = [
            struct.unpack_from("<d", params, 4 * (_HEAD + _STRIDE * j))[0] for j in range(axes)
        ]
    i = row * axes + k
    while row < stop and pos < size:
        v = data[i]
        if scales is not None:
            v = v * scales[k]
        if not -_FLT_MAX <= v <= _FLT_MAX:
            state[3] = 2
            break
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
        pos = write_f32(out, pos, f32_bits(v))
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
        """rows() for float32 buffers; status 1 = the value at (row, axis) is for rows()
        (not 0 and outside 2**-33 .. 2**26: NaN and infinity too); nothing written for it."""
        d = ptr32(data)  # noqa: F821 (viper built-in)
        st = ptr32(state)  # noqa: F821
        o = ptr8(out)  # noqa: F821
        pa = ptr32(params)  # noqa: F821
        p10 = ptr32(_P10)  # noqa: F821
        ten = ptr32(_TEN)  # noqa: F821
        w = ptr32(_W)  # noqa: F821
        row = int(st[0])
        pos = int(st[1])
        k = int(st[2])
        nested = int(pa[0])
        i = row * axes + k
        while row < stop and pos < size:
            bits = int(d[i])
            e8 = (bits >> 23) & 0xFF
            m = bits & 0x7FFFFF
            zero = e8 == 0 and m == 0
            s = 152 - e8  # value * 10**kk = (4 * m) * 10**kk / 2**s
            # 7 - floor(log10(2**exponent)): value * 10**kk is in [10**7, 2 * 10**8), 9 digits
            # or 8; with 8, one ulp is over 1.19 units of the 8th digit, so 8 always identify it
            kk = 7 - (((e8 - 127) * 1233) >> 12)
            if not zero and (s < 0 or s > 58):  # NaN, infinity and subnormals too
                st[3] = 1
                break
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
            if zero:
                o[pos] = 0x30
                pos += 1
            else:
                if (bits >> 31) & 1:
                    o[pos] = 0x2D
                    pos += 1
                even = (m & 1) == 0
                delta = 2
                if m == 0:
                    delta = 1  # at a power of two the gap below is half the gap above
                m |= 0x800000
                x0 = (m << 2) & 0x7FFF
                x1 = m >> 13
                idx = s // 15
                off = s - 15 * idx
                # w[0:6] = 4m * 10**kk, w[6:12] = (4m - delta) * 10**kk (the interval's low
                # end), w[12:18] = (4m + 2) * 10**kk (its high end)
                t = 6 * kk
                c = 0
                cl = 0
                ch = 0
                j = 0
                while j < 6:
                    tj = int(ten[t + j])
                    c = x0 * tj + (c >> 15)
                    if j:
                        c += x1 * int(ten[t + j - 1])
                    w[j] = c & 0x7FFF
                    cl = (c & 0x7FFF) - delta * tj + (cl >> 15)
                    w[6 + j] = cl & 0x7FFF
                    ch = (c & 0x7FFF) + 2 * tj + (ch >> 15)
                    w[12 + j] = ch & 0x7FFF
                    j += 1
                vf = (
                    (int(w[idx]) >> off)
                    | (int(w[idx + 1]) << (15 - off))
                    | (int(w[idx + 2]) << (30 - off))
                )
                lr = 0  # the remainders below the point: zero or not
                hr = 0
                j = 0
                while j <= idx + 2:
                    lo = int(w[6 + j])
                    hi = int(w[12 + j])
                    if j < idx:
                        lr |= lo
                        hr |= hi
                    elif j == idx:
                        lr |= lo & ((1 << off) - 1)
                        hr |= hi & ((1 << off) - 1)
                        lf = lo >> off
                        hf = hi >> off
                    else:
                        lf |= lo << (15 * (j - idx) - off)
                        hf |= hi << (15 * (j - idx) - off)
                    j += 1
                up = 0  # the value's first bit below the point: round half up
                if off:
                    up = (int(w[idx]) >> (off - 1)) & 1
                elif idx:
                    up = (int(w[idx - 1]) >> 14) & 1
                # 1 significant digit first, then 2, ...; j = 0 (every digit) is always inside the
                # interval: within half a unit of the value, which the interval passes either way
                # (below a power of two too: checked for each of the 59 in range)
                j = 8
                while True:
                    if j:
                        t = int(p10[j])
                        n = (vf + (t >> 1)) // t
                        x = n * t
                    else:
                        n = vf + up
                        x = n
                    if (x > lf or (even and lr == 0 and x == lf)) and (
                        x < hf or (x == hf and (hr != 0 or even))
                    ):
                        break
                    j -= 1
                # the value is n * 10**ex, n without a trailing 0 (one digit less would have
                # been taken) and below 10**9
                ex = j - kk
                nd = 0
                while n >= int(p10[nd]):
                    nd += 1
                # the value is 0.<digits> * 10**point, point from -9 to 8: the kernel's values
                # need neither the exponent form above 10**21 nor a "+" exponent
                point = nd + ex
                dot = 0  # digits before the '.', 0 for none
                lead = 0  # zeros after "0." before the digits
                if ex >= 0:
                    pass
                elif point > 0:
                    dot = point
                elif point > -6:
                    o[pos] = 0x30
                    o[pos + 1] = 0x2E
                    pos += 2
                    lead = -point
                elif nd > 1:
                    dot = 1
                while lead:
                    o[pos] = 0x30
                    pos += 1
                    lead -= 1
                end = pos + nd
                if dot:
                    end += 1
                q = end
                c = nd
                while c:
                    c -= 1
                    q -= 1
                    if dot and c == dot - 1 and q == pos + dot:
                        o[q] = 0x2E
                        q -= 1
                    if n < 0x10000:
                        t = ((n >> 1) * 52429) >> 18  # n // 10 without a division
                    else:
                        t = n // 10
                    o[q] = 0x30 + n - t * 10
                    n = t
                pos = end
                while ex > 0:  # an integer's zeros
                    o[pos] = 0x30
                    pos += 1
                    ex -= 1
                if point <= -6:
                    ex = 1 - point  # written as e-<ex>, ex from 7 to 10
                    o[pos] = 0x65
                    o[pos + 1] = 0x2D
                    pos += 2
                    if ex > 9:
                        o[pos] = 0x31
                        pos += 1
                        ex -= 10
                    o[pos] = 0x30 + ex
                    pos += 1
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
