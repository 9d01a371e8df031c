"""InvenSense MPU6050 accelerometer + gyroscope as a sampling source (I2C, big-endian).

    imu = MPU6050(i2c, accel_range=2, gyro_range=250)       # address 0x68 (AD0 low)
    imu.axes   # accX/accY/accZ in m/s2, gyrX/gyrY/gyrZ in deg/s
    rec = ei_sampler.recording_for((imu,), interval_ms=10, capacity=200)

One 14-byte burst from ACCEL_XOUT_H (accel, temperature, gyro) per row, into a buffer
allocated once; conversion is byte arithmetic. Memory (64-bit unix port, from .mpy): import
~3.7 KiB, ~0.4 KiB per instance.
"""

from micropython import const

from sensors import STANDARD_GRAVITY, check_id, rename, soft_reset

_ADDR = const(0x68)
_WHO_AM_I = const(0x75)
_PWR_MGMT_1 = const(0x6B)
_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_ACCEL_XOUT_H = const(0x3B)
_BURST = const(14)
_DEVICE_RESET = const(0x80)  # PWR_MGMT_1: every register to its default; clears when done
_CLK_PLL_XGYRO = const(0x01)  # awake, clocked from the X gyro PLL (datasheet recommends)

# full scale -> (config bits, LSB per unit)
ACCEL_RANGES = {2: (0 << 3, 16384), 4: (1 << 3, 8192), 8: (2 << 3, 4096), 16: (3 << 3, 2048)}
GYRO_RANGES = {
    250: (0 << 3, 131.0),
    500: (1 << 3, 65.5),
    1000: (2 << 3, 32.8),
    2000: (3 << 3, 16.4),
}


class MPU6050:
    typecode = "h"

    def __init__(
        self,
        i2c,
        addr=_ADDR,
        accel_range=2,
        gyro_range=250,
        accel=True,
        gyro=True,
        temperature=False,
        dlpf=3,
        names=None,
    ):
        if accel_range not in ACCEL_RANGES:
            raise ValueError("accel_range must be one of 2, 4, 8, 16 (g)")
        if gyro_range not in GYRO_RANGES:
            raise ValueError("gyro_range must be one of 250, 500, 1000, 2000 (deg/s)")
        if not (accel or gyro or temperature):
            raise ValueError("MPU6050: nothing to read (accel, gyro and temperature all off)")
        self.i2c = i2c
        self.addr = addr
        self._buf = bytearray(_BURST)
        one = memoryview(self._buf)[:1]
        check_id(i2c, addr, "MPU6050", _WHO_AM_I, 0x68, one)
        soft_reset(
            i2c, addr, "MPU6050", _PWR_MGMT_1, _DEVICE_RESET, _PWR_MGMT_1, _DEVICE_RESET, one
        )
        abits, alsb = ACCEL_RANGES[accel_range]
        gbits, glsb = GYRO_RANGES[gyro_range]
        self._w(_PWR_MGMT_1, _CLK_PLL_XGYRO)
        self._w(_CONFIG, dlpf & 7)
        self._w(_SMPLRT_DIV, 0)
        self._w(_ACCEL_CONFIG, abits)
        self._w(_GYRO_CONFIG, gbits)
        axes = []
        scale = []
        if accel:
            axes += [("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")]
            scale += [STANDARD_GRAVITY / alsb] * 3
        if gyro:
            axes += [("gyrX", "deg/s"), ("gyrY", "deg/s"), ("gyrZ", "deg/s")]
            scale += [1 / glsb] * 3
        if temperature:
            axes.append(("temp", "Cel"))
            scale.append(0.01)
        self.axes = rename(tuple(axes), names)
        self.scale = tuple(scale)
        self._accel = accel
        self._gyro = gyro
        self._temp = temperature

    def _w(self, reg, value):
        self._buf[0] = value
        self.i2c.writeto_mem(self.addr, reg, memoryview(self._buf)[:1])

    def read_into(self, out, i):
        b = self._buf
        self.i2c.readfrom_mem_into(self.addr, _ACCEL_XOUT_H, b)
        if self._accel:
            for k in range(0, 6, 2):
                v = (b[k] << 8) | b[k + 1]
                out[i] = v - 0x10000 if v & 0x8000 else v
                i += 1
        if self._gyro:
            for k in range(8, 14, 2):
                v = (b[k] << 8) | b[k + 1]
                out[i] = v - 0x10000 if v & 0x8000 else v
                i += 1
        if self._temp:
            v = (b[6] << 8) | b[7]
            v = v - 0x10000 if v & 0x8000 else v
            # datasheet: Cel = raw / 340 + 36.53; here in hundredths, rounded to nearest
            out[i] = (v * 100 + 170) // 340 + 3653
