"""The BME280 datasheet's compensation formulas, transcribed here as independent references for
the driver (lib/sensors/bme280.py rearranges them): the floating-point one, and the 32-bit
integer ones for pressure (with C's 32-bit semantics) and humidity (as printed)."""

from __future__ import annotations


def bme280_float(cal, h, adc_t, adc_p, adc_h):
    """The datasheet's floating-point compensation (an independent check)."""
    t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = cal
    h1, h2, h3, h4, h5, h6 = h
    v1 = (adc_t / 16384.0 - t1 / 1024.0) * t2
    v2 = ((adc_t / 131072.0 - t1 / 8192.0) ** 2) * t3
    t_fine = v1 + v2
    temp = t_fine / 5120.0
    v1 = t_fine / 2.0 - 64000.0
    v2 = v1 * v1 * p6 / 32768.0
    v2 = v2 + v1 * p5 * 2.0
    v2 = v2 / 4.0 + p4 * 65536.0
    v1 = (p3 * v1 * v1 / 524288.0 + p2 * v1) / 524288.0
    v1 = (1.0 + v1 / 32768.0) * p1
    p = 1048576.0 - adc_p
    p = (p - v2 / 4096.0) * 6250.0 / v1
    v1 = p9 * p * p / 2147483648.0
    v2 = p * p8 / 32768.0
    p = p + (v1 + v2 + p7) / 16.0
    vh = t_fine - 76800.0
    vh = (adc_h - (h4 * 64.0 + h5 / 16384.0 * vh)) * (
        h2 / 65536.0 * (1.0 + h6 / 67108864.0 * vh * (1.0 + h3 / 67108864.0 * vh))
    )
    vh = vh * (1.0 - h1 * vh / 524288.0)
    return temp, p, min(max(vh, 0.0), 100.0)


def pressure_int32_reference(cal, t_fine, adc_p):
    """BME280_compensate_P_int32 transcribed with C's 32-bit semantics (no rearranging)."""

    def s32(x):
        x &= 0xFFFFFFFF
        return x - (1 << 32) if x & 0x80000000 else x

    def u32(x):
        return x & 0xFFFFFFFF

    _, _, _, p1, p2, p3, p4, p5, p6, p7, p8, p9 = cal
    var1 = s32((t_fine >> 1) - 64000)
    var2 = s32(s32(s32((var1 >> 2) * (var1 >> 2)) >> 11) * p6)
    var2 = s32(var2 + s32(s32(var1 * p5) << 1))
    var2 = s32((var2 >> 2) + s32(p4 << 16))
    var1 = s32(
        (s32((p3 * s32(s32((var1 >> 2) * (var1 >> 2)) >> 13)) >> 3) + s32(s32(p2 * var1) >> 1))
        >> 18
    )
    var1 = s32(s32((32768 + var1) * p1) >> 15)
    if var1 == 0:
        return 0
    p = u32(u32(s32(1048576 - adc_p) - (var2 >> 12)) * 3125)
    if p < 0x80000000:
        p = u32(p << 1) // u32(var1)
    else:
        p = (p // u32(var1)) * 2
    var1 = s32(s32(p9 * s32(((p >> 3) * (p >> 3)) >> 13)) >> 12)
    var2 = s32(s32(s32(p >> 2) * p8) >> 13)
    return u32(s32(p) + ((var1 + var2 + p7) >> 4))


def humidity_reference(h, t_fine, adc_h):
    """BME280_compensate_H_int32 transcribed as printed (unbounded ints)."""
    h1, h2, h3, h4, h5, h6 = h
    v = t_fine - 76800
    v = (((((adc_h << 14) - (h4 << 20) - (h5 * v)) + 16384) >> 15) * (((((((v * h6) >> 10) * (
        ((v * h3) >> 11) + 32768)) >> 10) + 2097152) * h2 + 8192) >> 14))  # fmt: skip
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12
