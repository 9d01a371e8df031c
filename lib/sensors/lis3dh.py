"""ST LIS3DH accelerometer as a sampling source (I2C, little-endian, left-justified).

    acc = LIS3DH(i2c, range_g=2, rate_hz=100)       # address 0x18 (SA0 low) or 0x19
    acc.axes   # accX/accY/accZ in m/s2

High-resolution mode (12 bit). The 16-bit words are stored as read (left-justified, the
low 4 bits zero), so the scale is the datasheet sensitivity / 16. One 6-byte burst from
OUT_X_L with the auto-increment bit per row. The chip has no soft reset:
init writes every register it uses. Memory (64-bit unix port, from .mpy): import
~2.3 KiB, ~0.3 KiB per instance.
"""

from micropython import const

from sensors import STANDARD_GRAVITY, check_id, rename

_ADDR = const(0x18)
_WHO_AM_I = const(0x0F)
_CTRL_REG1 = const(0x20)
_CTRL_REG4 = const(0x23)
_OUT_X_L = const(0x28)
_AUTO_INCREMENT = const(0x80)
_XYZ_ENABLE = const(0x07)
_BDU = const(0x80)  # block data update: high and low bytes from the same sample
_HR = const(0x08)

# full scale (g) -> (CTRL_REG4 FS bits, sensitivity in mg/digit at 12 bit)
RANGES = {2: (0 << 4, 1), 4: (1 << 4, 2), 8: (2 << 4, 4), 16: (3 << 4, 12)}
# output data rate (Hz) -> CTRL_REG1 ODR bits
RATES = {1: 1, 10: 2, 25: 3, 50: 4, 100: 5, 200: 6, 400: 7}


class LIS3DH:
    typecode = "h"

    def __init__(self, i2c, addr=_ADDR, range_g=2, rate_hz=100, names=None):
        if range_g not in RANGES:
            raise ValueError("range_g must be one of 2, 4, 8, 16")
        if rate_hz not in RATES:
            raise ValueError("rate_hz must be one of %s" % sorted(RATES))
        self.i2c = i2c
        self.addr = addr
        self._buf = bytearray(6)
        check_id(i2c, addr, "LIS3DH", _WHO_AM_I, 0x33, memoryview(self._buf)[:1])
        bits, mg = RANGES[range_g]
        self._w(_CTRL_REG1, (RATES[rate_hz] << 4) | _XYZ_ENABLE)
        self._w(_CTRL_REG4, _BDU | bits | _HR)
        self.axes = rename((("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")), names)
        self.scale = (mg / 16 / 1000 * STANDARD_GRAVITY,) * 3

    def _w(self, reg, value):
        self._buf[0] = value
        self.i2c.writeto_mem(self.addr, reg, memoryview(self._buf)[:1])

    def read_into(self, out, i):
        b = self._buf
        self.i2c.readfrom_mem_into(self.addr, _OUT_X_L | _AUTO_INCREMENT, b)
        for k in range(0, 6, 2):
            v = b[k] | (b[k + 1] << 8)
            out[i] = v - 0x10000 if v & 0x8000 else v
            i += 1
