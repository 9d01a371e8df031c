"""CBOR floats: rows of scaled readings or float buffers, and float header numbers.

ei_cbor loads this module only for files with floats (a scale, a float typecode, a float
interval). Each value goes out as the official example writes numbers: CBOR float16 (0xF9)
where that is exact, else float32 (0xFA).

- Scaled readings: exactly float32(raw * scale) as this runtime's floats compute it: on CPython
  and the unix port raw * scale rounds to double, then to float32; on the boards (single
  precision floats) it rounds once. The viper kernel does the same with integers: |raw|
  shifted to 16 bits times the scale's 53-bit mantissa in 14-bit limbs (every product below
  2**30, so 32-bit machine words hold them), then both roundings to nearest even.
- Float32 buffers: the bits as they are (NaN and infinity are refused).
`plan()` prepares the per-axis scale mantissas once per file; `rows16` (viper: int16, uint16
and float32 buffers) and `rows` (plain Python, any buffer, CPython) write the same bytes.

Memory: the module's code (~4.3 KiB as .mpy, viper included), a params array of 2 + 8 ints
per axis per file; nothing per row on the viper path. `rows` allocates a float per value.
"""

import struct
import sys
from array import array

import micropython
from micropython import const

FAST = True  # tests turn the viper kernel off to compare its bytes with rows()
_FLT_MAX = 3.4028234663852886e38
_HEAD = const(2)  # params: [mode, scaled], then per axis:
_STRIDE = const(8)  # [4 mantissa limbs, exponent base, negative, the scale as a double]
_F32 = const(0)  # modes: float32 buffer, int16 and uint16 with scale, anything else (rows)
_I16 = const(1)
_U16 = const(2)
_OTHER = const(3)


def plan(rec):
    """(kernel, twin, params) for one file of `rec`."""
    scale = rec.scale
    code = rec.typecode
    axes = rec.axes
    params = array("i", bytes(4 * (_HEAD + _STRIDE * axes)))
    if scale is None:
        params[0] = _F32 if code == "f" else _OTHER
    else:
        params[0] = _I16 if code == "h" else _U16 if code == "H" else _OTHER
        params[1] = 1
    for k in range(axes):
        q = _HEAD + _STRIDE * k
        s = 1.0 if scale is None else scale[k]
        struct.pack_into("<d", params, 4 * (q + 6), s)
        b = struct.pack(">d", s)
        e11 = ((b[0] & 0x7F) << 4) | (b[1] >> 4)
        # A zero or subnormal scale (e11 = 0) is taken as 1.f * 2**-1023: its products land
        # far below float32's normal range, which the kernel hands to rows() (the scale is
        # finite: Recording checks).
        m = (b[1] & 0x0F) | 0x10
        for j in range(2, 8):
            m = (m << 8) | b[j]
        params[q] = m & 0x3FFF
        params[q + 1] = (m >> 14) & 0x3FFF
        params[q + 2] = (m >> 28) & 0x3FFF
        params[q + 3] = m >> 42
        # float32 exponent field = e11 - 881 - (shift of raw to 16 bits) + (69-bit product)
        params[q + 4] = e11 - 881
        params[q + 5] = b[0] >> 7
    kernel = rows
    if FAST and rows16 is not None and params[0] != _OTHER:
        kernel = rows16
    return kernel, rows, params


def _half(sign, e8, mant):
    """The float16 bits of a float32 (sign, exponent field, 23-bit mantissa) when exact, or -1."""
    if e8 == 0:
        return sign << 15 if mant == 0 else -1
    e = e8 - 127
    if -14 <= e <= 15:
        return (sign << 15) | ((e + 15) << 10) | (mant >> 13) if mant & 0x1FFF == 0 else -1
    if -24 <= e < -14:
        full = mant | 0x800000
        shift = -1 - e
        return (sign << 15) | (full >> shift) if full & ((1 << shift) - 1) == 0 else -1
    return -1


def number(out, value):
    """A float header number (the interval) appended to `out`."""
    b = struct.pack(">f", value)
    half = _half(
        b[0] >> 7, ((b[0] & 0x7F) << 1) | (b[1] >> 7), ((b[1] & 0x7F) << 16) | (b[2] << 8) | b[3]
    )
    if half >= 0:
        out.append(0xF9)
        out.append(half >> 8)
        out.append(half & 0xFF)
    else:
        out.append(0xFA)
        out.extend(b)


def rows(data, state, out, size, axes, stop, params):
    """Write values from data[state[0] * axes + state[2]] on into out[state[1]:] until `stop`
    rows are done or the position reaches `size`; state = [row, position, axis, status],
    status 2 = the value at (row, axis) is not a finite float32 (nothing written for it).

    Plain Python floats: any buffer (CPython, and the boards for other typecodes)."""
    row = state[0]
    pos = state[1]
    k = state[2]
    scales = None
    if params[1]:
        scales = [
            struct.unpack_from("<d", params, 4 * (_HEAD + _STRIDE * j + 6))[0] for j in range(axes)
        ]
    i = row * axes + k
    while row < stop and pos < size:
        v = data[i]
        if scales is not None:
            v = v * scales[k]
        if not -_FLT_MAX <= v <= _FLT_MAX:
            state[3] = 2
            break
        if k == 0 and axes > 1:
            if axes < 24:
                out[pos] = 0x80 | axes
                pos += 1
            else:
                out[pos] = 0x98
                out[pos + 1] = axes
                pos += 2
        struct.pack_into(">f", out, pos + 1, v)
        b0 = out[pos + 1]
        b1 = out[pos + 2]
        half = _half(
            b0 >> 7,
            ((b0 & 0x7F) << 1) | (b1 >> 7),
            ((b1 & 0x7F) << 16) | (out[pos + 3] << 8) | out[pos + 4],
        )
        if half >= 0:
            out[pos] = 0xF9
            out[pos + 1] = half >> 8
            out[pos + 2] = half & 0xFF
            pos += 3
        else:
            out[pos] = 0xFA
            pos += 5
        i += 1
        k += 1
        if k == axes:
            k = 0
            row += 1
    state[0] = row
    state[1] = pos
    state[2] = k


rows16 = None
if sys.implementation.name == "micropython":  # CPython: the plain twins

    @micropython.viper
    def rows16(data, state, out, size: int, axes: int, stop: int, params):
        """rows() for float32 buffers and int16/uint16 with scale; status 1 = the value at
        (row, axis) is for rows() (a result that is subnormal or beyond float32, as every
        product of a reading and a zero or subnormal scale is): nothing written for it."""
        d16 = ptr16(data)  # noqa: F821 (viper built-in)
        d32 = ptr32(data)  # noqa: F821
        st = ptr32(state)  # noqa: F821
        o = ptr8(out)  # noqa: F821
        pa = ptr32(params)  # noqa: F821
        row = int(st[0])
        pos = int(st[1])
        k = int(st[2])
        mode = int(pa[0])
        i = row * axes + k
        while row < stop and pos < size:
            q = _HEAD + _STRIDE * k
            if mode == _F32:
                bits = int(d32[i])
                sign = (bits >> 31) & 1
                e8 = (bits >> 23) & 0xFF
                mant = bits & 0x7FFFFF
                if e8 == 0xFF:
                    st[3] = 2
                    break
            else:
                a = int(d16[i])
                sign = int(pa[q + 5])
                if mode == _I16 and a & 0x8000:
                    a = 0x10000 - a
                    sign ^= 1
                m3 = int(pa[q + 3])
                e8 = 0
                mant = 0
                if a:
                    z = 0  # shift |raw| to [2**15, 2**16): the product has 68 or 69 bits
                    if a < 0x100:
                        a <<= 8
                        z = 8
                    if a < 0x1000:
                        a <<= 4
                        z += 4
                    if a < 0x4000:
                        a <<= 2
                        z += 2
                    if a < 0x8000:
                        a <<= 1
                        z += 1
                    t = a * int(pa[q])
                    q0 = t & 0x3FFF
                    t = a * int(pa[q + 1]) + (t >> 14)
                    q1 = t & 0x3FFF
                    t = a * int(pa[q + 2]) + (t >> 14)
                    q2 = t & 0x3FFF
                    t = a * m3 + (t >> 14)
                    q3 = t & 0x3FFF
                    q4 = t >> 14
                    top = q4 >> 12  # 1: 69 bits
                    k1 = 15 + top  # bits below the double's 53
                    g = q0 | ((q1 & (top * 2 + 1)) << 14)
                    u = (
                        (q1 >> (k1 - 14))
                        | (q2 << (28 - k1))
                        | ((q3 & ((1 << (k1 - 13)) - 1)) << (42 - k1))
                    )  # the 29 bits between float32's 24 and double's 53
                    m24 = (q3 >> (k1 - 13)) | (q4 << (27 - k1))
                    half = 1 << (k1 - 1)
                    if g > half or (g == half and (u & 1)):  # to double, nearest even
                        u += 1
                    if u > 0x10000000 or (u == 0x10000000 and (m24 & 1)):  # to float32
                        m24 += 1
                    e8 = int(pa[q + 4]) - z + top
                    if m24 == 0x1000000:  # a carry into the next binade: the bits below are 0
                        e8 += 1
                    if e8 <= 0 or e8 >= 0xFF:
                        st[3] = 1
                        break
                    mant = m24 & 0x7FFFFF
            if k == 0 and axes > 1:
                if axes < 24:
                    o[pos] = 0x80 | axes
                    pos += 1
                else:
                    o[pos] = 0x98
                    o[pos + 1] = axes
                    pos += 2
            h = -1
            e = e8 - 127
            if e8 == 0:
                if mant == 0:
                    h = sign << 15
            elif e >= -14 and e <= 15:
                if mant & 0x1FFF == 0:
                    h = (sign << 15) | ((e + 15) << 10) | (mant >> 13)
            elif e >= -24 and e < -14:
                sh = -1 - e
                full = mant | 0x800000
                if full & ((1 << sh) - 1) == 0:
                    h = (sign << 15) | (full >> sh)
            if h >= 0:
                o[pos] = 0xF9
                o[pos + 1] = (h >> 8) & 0xFF
                o[pos + 2] = h & 0xFF
                pos += 3
            else:
                o[pos] = 0xFA
                o[pos + 1] = (sign << 7) | (e8 >> 1)
                o[pos + 2] = ((e8 & 1) << 7) | (mant >> 16)
                o[pos + 3] = (mant >> 8) & 0xFF
                o[pos + 4] = mant & 0xFF
                pos += 5
            i += 1
            k += 1
            if k == axes:
                k = 0
                row += 1
        st[0] = row
        st[1] = pos
        st[2] = k
