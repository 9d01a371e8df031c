"""A simulated `machine` module so board code runs unchanged on the unix port and CPython.

Shadows the unix port's built-in `machine` (MICROPYPATH=lib:boards/sim:.frozen). The API
follows the ESP32 port (ADC atten constants, read_uv, I2C repr, OSError(19) for an absent
I2C address); the devices behind it live in `sim` (see boards/sim/sim.py for the controls).
"""

import sys

import sim

_MP = sys.implementation.name == "micropython"
_ENODEV = 19
_EIO = 5


def unique_id():
    return b"\x24\x0a\xc4\x5e\x1a\x01"


_freq = 240_000_000


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz


class ResetCalled(SystemExit):
    pass


def reset():
    raise ResetCalled("machine.reset()")


def soft_reset():
    raise ResetCalled("machine.soft_reset()")


PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset_cause():
    return PWRON_RESET


def idle():
    pass


def lightsleep(ms=0):
    sim.wait_us(ms * 1000)


def deepsleep(ms=0):
    sim.wait_us(ms * 1000)
    raise ResetCalled("machine.deepsleep(%d)" % ms)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 0 if value is None else int(bool(value))

    def __repr__(self):
        return "Pin(%s)" % (self.id,)

    def init(self, mode=-1, pull=-1, *, value=None):
        self.mode = mode
        self.pull = pull
        if value is not None:
            self._value = int(bool(value))

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.IN and self.pull in (Pin.PULL_UP, Pin.PULL_DOWN):
                # A button to ground (pull-up) or to 3V3 (pull-down): held reads the other level.
                held = self.id in sim.HELD
                return int(held) if self.pull == Pin.PULL_DOWN else int(not held)
            return self._value
        self._value = int(bool(v))

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def toggle(self):
        self._value ^= 1

    def irq(self, handler=None, trigger=3):
        return None


def _pin_id(p):
    return p.id if isinstance(p, Pin) else p


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_12BIT = 12
    CORE_TEMP = 4
    _FULL_SCALE_UV = (950_000, 1_250_000, 1_750_000, 3_100_000)  # per attenuation

    def __init__(self, id, *, sample_ns=0, atten=3):
        self.channel = _pin_id(id)
        self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def init(self, *, sample_ns=0, atten=3):
        self._atten = atten

    def width(self, bits):
        pass

    def read_uv(self):
        if self.channel == 4:  # the RP2040's temperature sensor channel
            return 706_000 - (sim.die_temp_centi(sim.now_us()) - 2700) * 1721 // 100
        uv = sim.adc_uv(self.channel, sim.now_us())
        top = self._FULL_SCALE_UV[self._atten]
        return top if uv > top else uv

    def read_u16(self):
        if self.channel == 4:
            return self.read_uv() * 65535 // 3_300_000
        return self.read_uv() * 65535 // self._FULL_SCALE_UV[self._atten]

    def read(self):
        return self.read_u16() >> 4


_I2C_DEFAULT_PINS = {0: (18, 19), 1: (25, 26)}


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400_000, timeout=50_000):
        dscl, dsda = _I2C_DEFAULT_PINS.get(id, (None, None))
        self.id = id
        self.scl = _pin_id(scl) if scl is not None else dscl
        self.sda = _pin_id(sda) if sda is not None else dsda
        self.freq = freq
        self._ptr = {}

    def __repr__(self):
        return "I2C(%s, scl=%s, sda=%s, freq=%d)" % (self.id, self.scl, self.sda, self.freq)

    def _dev(self, addr):
        bus = sim.BUSES.get(self.id)  # no {} default: this runs under heap_lock
        dev = bus.get(addr) if bus is not None else None
        if dev is None:
            raise OSError(_ENODEV) if _MP else OSError(_ENODEV, "ENODEV")
        return dev

    def scan(self):
        return sorted(sim.BUSES.get(self.id, {}))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).read(memaddr, buf, len(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self._dev(addr).read(memaddr, buf, nbytes)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).write(memaddr, buf, len(buf))

    def writeto(self, addr, buf, stop=True):
        dev = self._dev(addr)
        if len(buf):
            self._ptr[addr] = buf[0]
            if len(buf) > 1:
                dev.write(buf[0], memoryview(buf)[1:], len(buf) - 1)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._dev(addr).read(self._ptr.get(addr, 0), buf, len(buf))

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)


class SoftI2C(I2C):
    def __init__(self, scl, sda, *, freq=400_000, timeout=50_000):
        I2C.__init__(self, 0, scl=scl, sda=sda, freq=freq, timeout=timeout)

    def __repr__(self):
        return "SoftI2C(scl=%s, sda=%s, freq=%d)" % (self.scl, self.sda, self.freq)


def _byte_view(buf):
    """A byte-addressed view of any buffer (an int16 memoryview on MicroPython too)."""
    try:
        return memoryview(buf).cast("B")  # CPython
    except AttributeError:
        pass
    if isinstance(buf, (bytearray, bytes)):
        return buf
    import uctypes

    mv = memoryview(buf)
    if not len(mv):
        return bytearray(0)
    item = uctypes.addressof(mv[1:]) - uctypes.addressof(mv) if len(mv) > 1 else 2
    if item == 1:
        return mv
    return uctypes.bytearray_at(uctypes.addressof(mv), len(mv) * item)


class I2S:
    RX = 1
    TX = 2
    MONO = 0
    STEREO = 1

    def __init__(self, id, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        self.id = id
        self.init(
            sck=sck,
            ws=ws,
            sd=sd,
            mck=mck,
            mode=mode,
            bits=bits,
            format=format,
            rate=rate,
            ibuf=ibuf,
        )

    def init(self, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        if sys.platform == "rp2" and _pin_id(ws) != _pin_id(sck) + 1:
            raise ValueError("ws pin must be sck + 1")
        self.mode, self.bits, self.format, self.rate = mode, bits, format, rate
        self.sample = 0  # index of the next tone sample
        self._t0 = sim.ticks_us()
        self.paced = True  # readinto waits for the samples to "arrive", like DMA
        self._last = None
        self._view = None

    def deinit(self):
        pass

    def irq(self, handler):
        pass

    @staticmethod
    def shift(*, buf, bits, shift):
        mv = _byte_view(buf)
        step = bits // 8
        for k in range(0, len(mv) - step + 1, step):
            v = 0
            for j in range(step):
                v |= mv[k + j] << (8 * j)
            if v >> (bits - 1):
                v -= 1 << bits
            v = v << shift if shift > 0 else v >> -shift
            for j in range(step):
                mv[k + j] = (v >> (8 * j)) & 0xFF

    def readinto(self, buf):
        if buf is not self._last:  # reading into the same buffer again allocates nothing
            self._last = buf
            self._view = _byte_view(buf)
        mv = self._view
        slot = self.bits // 8
        chans = 2 if self.format == self.STEREO else 1
        frames = len(mv) // (slot * chans)
        if self.paced:
            due = (self.sample + frames) * 1_000_000 // self.rate
            wait = due - sim.ticks_diff(sim.ticks_us(), self._t0)
            if wait > 0:
                sim.wait_us(wait)
        k = 0
        n = self.sample
        rate = self.rate
        for _ in range(frames):
            v = sim.tone(n, rate)
            if slot == 4:  # 24-bit data left-justified in a 32-bit slot, some low-bit noise
                lo = (n * 40503) & 0xFF
                for _c in range(chans):
                    mv[k] = 0
                    mv[k + 1] = lo
                    mv[k + 2] = v & 0xFF
                    mv[k + 3] = (v >> 8) & 0xFF
                    k += 4
            else:
                for _c in range(chans):
                    mv[k] = v & 0xFF
                    mv[k + 1] = (v >> 8) & 0xFF
                    k += 2
            n += 1
        self.sample = n
        return k

    def write(self, buf):
        return len(buf)


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, *, mode=PERIODIC, period=-1, freq=-1, callback=None):
        self.id = id
        self._running = False
        if callback is not None:
            self.init(mode=mode, period=period, freq=freq, callback=callback)

    def init(self, *, mode=PERIODIC, period=-1, freq=-1, callback=None):
        import _thread

        self.deinit()
        self.period_us = 1_000_000 // freq if freq > 0 else period * 1000
        self.mode = mode
        self.callback = callback
        self._running = True
        self._gen = getattr(self, "_gen", 0) + 1
        _thread.start_new_thread(self._run, (self._gen,))

    def _run(self, gen):
        t0 = sim.ticks_us()
        k = 1
        while self._running and self._gen == gen:
            wait = k * self.period_us - sim.ticks_diff(sim.ticks_us(), t0)
            if wait > 0:
                sim.wait_us(wait)
            if not (self._running and self._gen == gen):
                break
            if self.callback is not None:
                self.callback(self)
            if self.mode == self.ONE_SHOT:
                self._running = False
                break
            k += 1

    def deinit(self):
        self._running = False


class RTC:
    def __init__(self, id=0):
        self._mem = bytearray()

    def datetime(self, dt=None):
        import time

        if dt is not None:
            return None
        y, mo, d, h, mi, s, wd, _yd = time.gmtime()[:8]
        return (y, mo, d, wd, h, mi, s, 0)

    def init(self, dt=None):
        pass

    def memory(self, data=None):
        if data is None:
            return bytes(self._mem)
        self._mem = bytearray(data[:2048])


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        self.timeout_us = timeout * 1000
        self._fed = sim.ticks_us()

    def feed(self):
        late = sim.ticks_diff(sim.ticks_us(), self._fed) - self.timeout_us
        self._fed = sim.ticks_us()
        if late > 0:
            raise ResetCalled("WDT expired %d us before feed(): the board would have reset" % late)
