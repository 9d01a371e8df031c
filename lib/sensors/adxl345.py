"""Analog Devices ADXL345 accelerometer as a sampling source (I2C, little-endian).

    acc = ADXL345(i2c, range_g=16, rate_hz=100)     # address 0x53 (SDO low) or 0x1D
    acc.axes   # accX/accY/accZ in m/s2

Full-resolution mode: 3.9 mg/LSB at every range (datasheet typical), right-justified and
sign-extended, so the 16-bit little-endian words are the raw counts. One 6-byte burst from
DATAX0 per row into a buffer allocated once. The chip has no soft reset:
init writes every register it uses. Memory (64-bit unix port, from .mpy): import
~2.2 KiB, ~0.3 KiB per instance.
"""

from micropython import const

from sensors import STANDARD_GRAVITY, check_id, rename

_ADDR = const(0x53)
_DEVID = const(0x00)
_BW_RATE = const(0x2C)
_POWER_CTL = const(0x2D)
_DATA_FORMAT = const(0x31)
_DATAX0 = const(0x32)
_MEASURE = const(0x08)
_FULL_RES = const(0x08)

RANGES = {2: 0, 4: 1, 8: 2, 16: 3}
# output data rate (Hz) -> BW_RATE code
RATES = {25: 0x08, 50: 0x09, 100: 0x0A, 200: 0x0B, 400: 0x0C, 800: 0x0D, 1600: 0x0E, 3200: 0x0F}
G_PER_LSB = 0.0039


class ADXL345:
    typecode = "h"

    def __init__(self, i2c, addr=_ADDR, range_g=16, rate_hz=100, names=None):
        if range_g not in RANGES:
            raise ValueError("range_g must be one of 2, 4, 8, 16")
        if rate_hz not in RATES:
            raise ValueError("rate_hz must be one of %s" % sorted(RATES))
        self.i2c = i2c
        self.addr = addr
        self._buf = bytearray(6)
        check_id(i2c, addr, "ADXL345", _DEVID, 0xE5, memoryview(self._buf)[:1])
        self._w(_POWER_CTL, 0)  # standby while configuring
        self._w(_BW_RATE, RATES[rate_hz])
        self._w(_DATA_FORMAT, _FULL_RES | RANGES[range_g])
        self._w(_POWER_CTL, _MEASURE)
        self.axes = rename((("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")), names)
        self.scale = (G_PER_LSB * STANDARD_GRAVITY,) * 3

    def _w(self, reg, value):
        self._buf[0] = value
        self.i2c.writeto_mem(self.addr, reg, memoryview(self._buf)[:1])

    def read_into(self, out, i):
        b = self._buf
        self.i2c.readfrom_mem_into(self.addr, _DATAX0, b)
        for k in range(0, 6, 2):
            v = b[k] | (b[k + 1] << 8)
            out[i] = v - 0x10000 if v & 0x8000 else v
            i += 1
