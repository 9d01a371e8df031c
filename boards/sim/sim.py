"""The simulated bench behind boards/sim/machine.py: clock, signals and I2C register models.

Everything is deterministic: signals are functions of the sim time (microseconds since
import, or a frozen value set with `freeze(t_us)`), computed with integer arithmetic from
one sine table so that reading a sensor allocates nothing (heap_lock-safe).

    import sim
    sim.freeze(250_000)             # signals as at t = 0.25 s; thaw() to follow real time
    sim.accel_mg(0, sim.now_us())   # what the accelerometers measure on X, in milli-g
    sim.detach(0, 0x68)             # unplug the MPU6050 from I2C(0)
    mpu = sim.device(0, 0x68)       # its register model: .regs, .hold, .poke(reg, data)
    sim.reset_bench()               # default bench: I2C(0) has all four sensors
    sim.hold(0)                     # press the button on pin 0 (BOOT); release(0) lets go

`EI_SIM_HOLD` (read at import): pins whose buttons are held from the start, e.g. "0" (BOOT,
which makes main.py skip its example).

Default bench on I2C(0): MPU6050 0x68, ADXL345 0x53, LIS3DH 0x18, BME280 0x76; I2C(1) empty.
"""

from array import array

try:
    from utime import sleep_us, ticks_diff, ticks_us  # real clock under a shadowed `time`
except ImportError:
    import time as _t

    def ticks_us():  # type: ignore[misc]
        return _t.perf_counter_ns() // 1000

    def ticks_diff(a, b):  # type: ignore[misc]
        return a - b

    def sleep_us(us):  # type: ignore[misc]
        _t.sleep(us / 1e6)


_start = ticks_us()
_frozen = None


def now_us():
    if _frozen is not None:
        return _frozen
    return ticks_diff(ticks_us(), _start)


def freeze(t_us):
    """Stop the signal clock at t_us (signals become exactly predictable)."""
    global _frozen
    _frozen = t_us


def thaw():
    global _frozen
    _frozen = None


def wait_us(us):
    """Real sleep (the pacing of I2S and timers follows wall time even when frozen)."""
    if us > 0:
        sleep_us(us)


# --- signals -------------------------------------------------------------------------
_N = 1024  # sine table entries per turn
SINE = array("h", [0] * _N)


def _fill_sine():
    import math

    for i in range(_N):
        SINE[i] = int(round(32767 * math.sin(2 * math.pi * i / _N)))


_fill_sine()


def sin_q15(t_us, freq_mhz, phase=0):
    """32767 * sin(2*pi*(f*t + phase/1024)), f in millihertz: small ints only."""
    return SINE[((t_us * freq_mhz * _N) // 1_000_000_000 + phase) & (_N - 1)]


# Motion: a slow wobble plus gravity on Z. (amplitude, mHz, phase) per axis.
MOTION_ACCEL = ((300, 1000, 0), (200, 2500, 256), (100, 500, 512))  # milli-g
MOTION_GYRO = ((40000, 1000, 256), (-25000, 2500, 512), (10000, 500, 0))  # milli-deg/s
GRAVITY_MG = (0, 0, 1000)


def accel_mg(axis, t_us):
    amp, f, ph = MOTION_ACCEL[axis]
    return GRAVITY_MG[axis] + (amp * sin_q15(t_us, f, ph)) // 32767


def gyro_mdps(axis, t_us):
    amp, f, ph = MOTION_GYRO[axis]
    return (amp * sin_q15(t_us, f, ph)) // 32767


def die_temp_centi(t_us):
    """Chip temperature in hundredths of Cel: 25 C +- 2 C over 10 minutes."""
    return 2500 + (200 * sin_q15(t_us, 1667)) // 32767


def adc_uv(channel, t_us):
    """An analog input in microvolts: 1.65 V +- 1 V at 1 Hz, phase per channel."""
    return 1_650_000 + (1_000_000 * sin_q15(t_us, 1000, channel * 128)) // 32767


def tone(n, rate, freq_hz=1000, amplitude=8000):
    """Sample n of the microphone's test tone (int16)."""
    return (amplitude * SINE[((n * freq_hz * _N) // rate) & (_N - 1)]) // 32767


def _clip16(v):
    return 32767 if v > 32767 else (-32768 if v < -32768 else v)


def _put16_be(regs, r, v):
    v = _clip16(v) & 0xFFFF
    regs[r] = v >> 8
    regs[r + 1] = v & 0xFF


def _put16_le(regs, r, v):
    v = _clip16(v) & 0xFFFF
    regs[r] = v & 0xFF
    regs[r + 1] = v >> 8


# --- register models -----------------------------------------------------------------
class Device:
    """256 8-bit registers. Reads of [data, data+size) refresh from the signals first,
    unless `hold` is set (then tests poke raw register contents)."""

    data = 0
    size = 0

    def __init__(self):
        self.regs = bytearray(256)
        self.hold = False
        self.reset()

    def reset(self):
        pass

    def refresh(self, t_us):
        pass

    def poke(self, reg, data):
        self.hold = True
        for k in range(len(data)):
            self.regs[(reg + k) & 0xFF] = data[k]

    def read(self, reg, buf, n):
        if not self.hold and reg < self.data + self.size and reg + n > self.data:
            self.refresh(now_us())
        regs = self.regs
        for k in range(n):
            buf[k] = regs[(reg + k) & 0xFF]

    def write(self, reg, buf, n):
        for k in range(n):
            self.regs[(reg + k) & 0xFF] = buf[k]
            self.written(reg + k)

    def written(self, reg):
        pass


class MPU6050Model(Device):
    data = 0x3B
    size = 14
    _ACCEL_LSB = (16384, 8192, 4096, 2048)  # per g
    _GYRO_LSB10 = (1310, 655, 328, 164)  # per deg/s, times 10

    def reset(self):
        self.regs[:] = bytes(256)
        self.regs[0x75] = 0x68
        self.regs[0x6B] = 0x40  # powers up asleep

    def written(self, reg):
        if reg == 0x6B and self.regs[0x6B] & 0x80:
            self.reset()

    def refresh(self, t):
        r = self.regs
        if r[0x6B] & 0x40:
            return  # asleep: data registers keep their values (zero after reset)
        alsb = self._ACCEL_LSB[(r[0x1C] >> 3) & 3]
        glsb = self._GYRO_LSB10[(r[0x1B] >> 3) & 3]
        for a in range(3):
            _put16_be(r, 0x3B + 2 * a, accel_mg(a, t) * alsb // 1000)
            _put16_be(r, 0x43 + 2 * a, gyro_mdps(a, t) * glsb // 10000)
        _put16_be(r, 0x41, (die_temp_centi(t) - 3653) * 340 // 100)


class ADXL345Model(Device):
    data = 0x32
    size = 6

    def reset(self):
        self.regs[:] = bytes(256)
        self.regs[0x00] = 0xE5
        self.regs[0x2C] = 0x0A

    def refresh(self, t):
        r = self.regs
        if not r[0x2D] & 0x08:
            return  # standby
        fmt = r[0x31]
        # full resolution: 3.9 mg/LSB; 10-bit mode: 3.9 mg << range
        step = 3900 if fmt & 0x08 else 3900 << (fmt & 3)
        for a in range(3):
            _put16_le(r, 0x32 + 2 * a, accel_mg(a, t) * 1000 // step)


class LIS3DHModel(Device):
    data = 0x28
    size = 6
    _MG = (1, 2, 4, 12)  # mg per digit at 12 bit

    def reset(self):
        self.regs[:] = bytes(256)
        self.regs[0x0F] = 0x33
        self.regs[0x20] = 0x07  # power-down, axes enabled

    def read(self, reg, buf, n):
        # Bit 7 of the sub-address asks for auto-increment; without it a multi-byte read
        # returns the same register again and again, as on the chip.
        if reg & 0x80 or n == 1:
            Device.read(self, reg & 0x7F, buf, n)
            return
        Device.read(self, reg, buf, 1)
        for k in range(1, n):
            buf[k] = buf[0]

    def write(self, reg, buf, n):
        Device.write(self, reg & 0x7F, buf, n)

    def refresh(self, t):
        r = self.regs
        if not r[0x20] >> 4:
            return  # power-down
        mg = self._MG[(r[0x23] >> 4) & 3]
        if r[0x23] & 0x08:  # high resolution, 12 bit left-justified
            div, shift = mg, 4
        else:  # normal, 10 bit
            div, shift = mg * 4, 6
        for a in range(3):
            _put16_le(r, 0x28 + 2 * a, (accel_mg(a, t) // div) << shift)


# Calibration words: T and P from the Bosch BMP280 datasheet's worked example (section 3.12,
# adc_T 519888 -> 25.08 Cel, adc_P 415148 -> 100653 Pa); H from a typical BME280 part.
BME280_CALIB = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
BME280_H = (75, 362, 0, 313, 50, 30)  # dig_H1 .. dig_H6


class BME280Model(Device):
    data = 0xF7
    size = 8

    def reset(self):
        r = self.regs
        r[:] = bytes(256)
        r[0xD0] = 0x60
        for k in range(12):
            v = BME280_CALIB[k] & 0xFFFF
            r[0x88 + 2 * k] = v & 0xFF
            r[0x89 + 2 * k] = v >> 8
        h1, h2, h3, h4, h5, h6 = BME280_H
        r[0xA1] = h1
        r[0xE1] = h2 & 0xFF
        r[0xE2] = (h2 >> 8) & 0xFF
        r[0xE3] = h3
        r[0xE4] = (h4 >> 4) & 0xFF
        r[0xE5] = (h4 & 0x0F) | ((h5 & 0x0F) << 4)
        r[0xE6] = (h5 >> 4) & 0xFF
        r[0xE7] = h6 & 0xFF
        r[0xF7] = 0x80  # the chip's reset values: 0x80000 for P and T, 0x8000 for H
        r[0xFA] = 0x80
        r[0xFD] = 0x80

    def written(self, reg):
        if reg == 0xE0 and self.regs[0xE0] == 0xB6:
            self.reset()

    def refresh(self, t):
        r = self.regs
        if r[0xF4] & 3 == 0:
            return  # sleep mode
        # Raw ADC values around the datasheet example, moving slowly (10 minute period).
        s = sin_q15(t, 1667)
        adc_t = 519888 + (6000 * s) // 32767  # about +-1.9 Cel
        adc_p = 415148 + (400 * s) // 32767
        adc_h = 30000 + (2000 * sin_q15(t, 1667, 256)) // 32767
        r[0xF7] = adc_p >> 12
        r[0xF8] = (adc_p >> 4) & 0xFF
        r[0xF9] = (adc_p & 0x0F) << 4
        r[0xFA] = adc_t >> 12
        r[0xFB] = (adc_t >> 4) & 0xFF
        r[0xFC] = (adc_t & 0x0F) << 4
        r[0xFD] = adc_h >> 8
        r[0xFE] = adc_h & 0xFF


# --- buttons ---------------------------------------------------------------------------
# Pin ids whose button is held: an input with a pull-up reads 0 there, with a pull-down 1.
HELD = set()


def hold(pin):
    HELD.add(pin)


def release(pin):
    HELD.discard(pin)


def _held_from_env():
    import os

    getenv = getattr(os, "getenv", None)
    for pin in ((getenv and getenv("EI_SIM_HOLD")) or "").split(","):
        if pin.strip():
            hold(int(pin))


_held_from_env()


# --- the bench -------------------------------------------------------------------------
BUSES = {}


def reset_bench():
    BUSES.clear()
    BUSES[0] = {
        0x68: MPU6050Model(),
        0x53: ADXL345Model(),
        0x18: LIS3DHModel(),
        0x76: BME280Model(),
    }
    BUSES[1] = {}


def attach(bus, addr, model):
    BUSES.setdefault(bus, {})[addr] = model
    return model


def detach(bus, addr):
    BUSES.get(bus, {}).pop(addr, None)


def device(bus, addr):
    return BUSES[bus][addr]


reset_bench()
