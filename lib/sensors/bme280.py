"""Bosch BME280 temperature, pressure and humidity as a sampling source (I2C).

    env = BME280(i2c, addr=0x76)            # 0x76 (SDO low) or 0x77
    env.axes    # temp (Cel), pressure (Pa), humidity (%RH)
    env.read()  # (hundredths of Cel, Pa, %RH * 1024) as ints

The datasheet's 32-bit integer compensation (BME280 datasheet 4.2.3 and 8.2: 0.01 Cel,
1 Pa, 1/1024 %RH), fed from one 8-byte burst from 0xF7, rearranged so that no intermediate
leaves the small ints of a 32-bit board (|x| < 2**30) for calibration values like real
parts' and -40..85 Cel: a row allocates nothing (heap_lock-safe) and the results are
exactly the datasheet's (tests/test_drivers_registers.py checks both). precise=True uses
the 64-bit pressure formula instead (Pa * 256, scale 1/256; the 32-bit one can be a few Pa
off): its big ints make a few short-lived allocations per row. Raw values go into an 'i'
recording, scale (0.01, 1, 1/1024). Normal mode, so reads never wait. Memory (64-bit unix
port, from .mpy): import ~7 KiB, ~0.6 KiB per instance.
"""

from micropython import const

from sensors import check_id, rename, s16_le, soft_reset, u16_le

_ADDR = const(0x76)
_CHIP_ID = const(0xD0)
_CALIB00 = const(0x88)  # 26 bytes: dig_T1..dig_P9, dig_H1 at 0xA1
_CALIB26 = const(0xE1)  # 7 bytes: dig_H2..dig_H6
_RESET = const(0xE0)  # 0xB6 here: the power-on reset
_STATUS = const(0xF3)  # bit 0, im_update: NVM data being copied
_CTRL_HUM = const(0xF2)
_CTRL_MEAS = const(0xF4)
_CONFIG = const(0xF5)
_DATA = const(0xF7)  # press_msb .. hum_lsb, 8 bytes
_NORMAL = const(0x03)
_SMALL_MAX = const(0x3FFFFFFF)  # the largest small int on a 32-bit board

OVERSAMPLING = {1: 1, 2: 2, 4: 3, 8: 4, 16: 5}


class BME280:
    typecode = "i"
    axes = (("temp", "Cel"), ("pressure", "Pa"), ("humidity", "%RH"))
    scale = (0.01, 1.0, 1 / 1024)

    def __init__(
        self, i2c, addr=_ADDR, oversampling=1, standby=0, iir=0, names=None, precise=False
    ):
        if oversampling not in OVERSAMPLING:
            raise ValueError("oversampling must be one of 1, 2, 4, 8, 16")
        self.i2c = i2c
        self.addr = addr
        self._buf = bytearray(26)
        one = memoryview(self._buf)[:1]
        check_id(i2c, addr, "BME280", _CHIP_ID, 0x60, one)
        # Reset, then wait while the chip copies its calibration from NVM (status im_update).
        soft_reset(i2c, addr, "BME280", _RESET, 0xB6, _STATUS, 0x01, one)
        b = self._buf
        i2c.readfrom_mem_into(addr, _CALIB00, b)
        self.T1, self.T2, self.T3 = u16_le(b, 0), s16_le(b, 2), s16_le(b, 4)
        self.P1 = u16_le(b, 6)
        self.P2, self.P3, self.P4 = s16_le(b, 8), s16_le(b, 10), s16_le(b, 12)
        self.P5, self.P6, self.P7 = s16_le(b, 14), s16_le(b, 16), s16_le(b, 18)
        self.P8, self.P9 = s16_le(b, 20), s16_le(b, 22)
        self.H1 = b[25]
        h = memoryview(b)[:7]
        i2c.readfrom_mem_into(addr, _CALIB26, h)
        self.H2 = s16_le(h, 0)
        self.H3 = h[2]
        h4 = (h[3] << 4) | (h[4] & 0x0F)
        h5 = (h[5] << 4) | (h[4] >> 4)
        self.H4 = h4 - 0x1000 if h4 & 0x800 else h4
        self.H5 = h5 - 0x1000 if h5 & 0x800 else h5
        self.H6 = h[6] - 0x100 if h[6] & 0x80 else h[6]
        osr = OVERSAMPLING[oversampling]
        self._w(_CTRL_HUM, osr)  # takes effect on the next CTRL_MEAS write
        self._w(_CONFIG, ((standby & 7) << 5) | ((iir & 7) << 2))
        self._w(_CTRL_MEAS, (osr << 5) | (osr << 2) | _NORMAL)
        self._data = memoryview(b)[:8]
        self.t_fine = 0
        self.precise = precise
        if precise:
            self.scale = (0.01, 1 / 256, 1 / 1024)
        self.axes = rename(self.axes, names)

    def _w(self, reg, value):
        self._buf[0] = value
        self.i2c.writeto_mem(self.addr, reg, memoryview(self._buf)[:1])

    def read_into(self, out, i):
        d = self._data
        self.i2c.readfrom_mem_into(self.addr, _DATA, d)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        adc_h = (d[6] << 8) | d[7]
        out[i] = self.temperature(adc_t)
        out[i + 1] = self.pressure64(adc_p) if self.precise else self.pressure(adc_p)
        out[i + 2] = self.humidity(adc_h)

    def read(self):
        from array import array

        out = array("i", (0, 0, 0))
        self.read_into(out, 0)
        return tuple(out)

    def temperature(self, adc_t):
        """Hundredths of a degree Celsius; sets t_fine for the other two."""
        t1 = self.T1
        var1 = (((adc_t >> 3) - (t1 << 1)) * self.T2) >> 11
        x = (adc_t >> 4) - t1
        var2 = (((x * x) >> 12) * self.T3) >> 14
        self.t_fine = var1 + var2
        return (self.t_fine * 5 + 128) >> 8

    def pressure(self, adc_p):
        """Pascal: the datasheet's BME280_compensate_P_int32, with each product that can pass
        2**30 split into halves (the floor-division identities keep the result exact)."""
        var1 = (self.t_fine >> 1) - 64000
        v = var1 >> 2
        vh = v >> 7
        vl = v & 127
        mid = vh * vl * 256 + vl * vl  # v * v == vh * vh * 2**14 + mid
        var2 = (vh * vh * 8 + (mid >> 11)) * self.P6  # ((v * v) >> 11) * P6
        var2 = var2 + ((var1 * self.P5) << 1)
        var2 = (var2 >> 2) + (self.P4 << 16)
        # (((P3 * ((v * v) >> 13)) >> 3) + ((P2 * var1) >> 1)) >> 18
        w = 2 * ((self.P3 * (vh * vh * 2 + (mid >> 13))) >> 3) + self.P2 * (var1 & 1023)
        var1 = ((w >> 10) + self.P2 * (var1 >> 10)) >> 9
        # ((32768 + var1) * P1) >> 15
        x = 32768 + var1
        p1 = self.P1
        var1 = (x * (p1 >> 8) + ((x * (p1 & 255)) >> 8)) >> 7
        if var1 <= 0:
            return 0  # avoid division by zero (datasheet)
        p = (1048576 - adc_p) - (var2 >> 12)
        if p < 0:
            return 0  # outside the sensor's range; the C code would wrap around
        q = p // var1  # not divmod(): its tuple would be an allocation
        r = p - q * var1
        if p <= 687194:  # p * 3125 < 2**31: datasheet (p * 3125 << 1) / var1
            p = q * 6250 + (r * 6250) // var1
        else:  # datasheet (p * 3125 / var1) * 2
            p = (q * 3125 + (r * 3125) // var1) * 2
        var1 = (self.P9 * (((p >> 3) * (p >> 3)) >> 13)) >> 12
        var2 = ((p >> 2) * self.P8) >> 13
        return p + ((var1 + var2 + self.P7) >> 4)

    def pressure64(self, adc_p):
        """Pascal in Q24.8 (divide by 256): the datasheet's 64-bit version."""
        var1 = self.t_fine - 128000
        var2 = var1 * var1 * self.P6
        var2 = var2 + ((var1 * self.P5) << 17)
        var2 = var2 + (self.P4 << 35)
        var1 = ((var1 * var1 * self.P3) >> 8) + ((var1 * self.P2) << 12)
        var1 = (((1 << 47) + var1) * self.P1) >> 33
        if var1 == 0:
            return 0  # avoid division by zero (datasheet)
        p = 1048576 - adc_p
        p = _cdiv(((p << 31) - var2) * 3125, var1)
        var1 = (self.P9 * (p >> 13) * (p >> 13)) >> 25
        var2 = (self.P8 * p) >> 19
        return ((p + var1 + var2) >> 8) + (self.P7 << 4)

    def humidity(self, adc_h):
        """%RH in Q22.10 (divide by 1024)."""
        v = self.t_fine - 76800
        x = (((adc_h << 14) - (self.H4 << 20) - (self.H5 * v)) + 16384) >> 15
        y = (
            (
                (((((v * self.H6) >> 10) * (((v * self.H3) >> 11) + 32768)) >> 10) + 2097152)
                * self.H2
            )
            + 8192
        ) >> 14
        # The datasheet clamps the result to 0..100 %RH. Where x * y would leave the small
        # ints (2**30 on 32-bit boards) the clamp is certain, so return it without the product.
        if y > 0:
            if x <= 0:
                return 0
            if x > _SMALL_MAX // y:
                return 419430400 >> 12
        v = x * y
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * self.H1) >> 4)
        if v < 0:
            v = 0
        if v > 419430400:
            v = 419430400
        return v >> 12


def _cdiv(a, b):
    # C integer division truncates toward zero; Python's // floors.
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q
