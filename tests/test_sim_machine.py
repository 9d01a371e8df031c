"""The simulated machine module: the ESP32-like API the boards and examples use."""

from __future__ import annotations

from array import array

import machine
import pytest
import sim
from harness import ROOT, run_micropython


@pytest.fixture(autouse=True)
def bench():
    sim.reset_bench()
    yield
    sim.reset_bench()
    sim.thaw()


def test_i2c_scan_repr_and_enodev():
    i2c = machine.I2C(0, scl=machine.Pin(18), sda=machine.Pin(19))
    assert repr(i2c) == "I2C(0, scl=18, sda=19, freq=400000)"
    assert i2c.scan() == [0x18, 0x53, 0x68, 0x76]
    assert i2c.readfrom_mem(0x68, 0x75, 1) == b"\x68"
    assert i2c.readfrom_mem(0x76, 0xD0, 1) == b"\x60"
    assert i2c.readfrom_mem(0x53, 0x00, 1) == b"\xe5"
    assert i2c.readfrom_mem(0x18, 0x0F, 1) == b"\x33"
    for call in (
        lambda: i2c.readfrom_mem(0x10, 0, 1),
        lambda: i2c.writeto_mem(0x10, 0, b"\x00"),
        lambda: i2c.readfrom_mem_into(0x10, 0, bytearray(2)),
    ):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == 19


def test_mpu6050_model_sleeps_until_woken():
    i2c = machine.I2C(0)
    sim.freeze(0)
    assert i2c.readfrom_mem(0x68, 0x3B, 6) == bytes(6)  # asleep after power-up
    i2c.writeto_mem(0x68, 0x6B, b"\x00")
    assert i2c.readfrom_mem(0x68, 0x3F, 2) == b"\x40\x00"  # Z = 16384 = 1 g at +-2 g
    i2c.writeto_mem(0x68, 0x6B, b"\x80")  # device reset: asleep again
    assert i2c.readfrom_mem(0x68, 0x6B, 1) == b"\x40"


def test_signals_are_deterministic_in_sim_time():
    i2c = machine.I2C(0)
    i2c.writeto_mem(0x68, 0x6B, b"\x00")
    sim.freeze(123_456)
    a = i2c.readfrom_mem(0x68, 0x3B, 14)
    sim.freeze(987_654)
    b = i2c.readfrom_mem(0x68, 0x3B, 14)
    sim.freeze(123_456)
    assert i2c.readfrom_mem(0x68, 0x3B, 14) == a != b


def test_adc_esp32_style():
    sim.freeze(250_000)  # a quarter second: the 1 Hz signal is at its top, 2.65 V
    adc = machine.ADC(machine.Pin(32), atten=machine.ADC.ATTN_11DB)
    assert adc.read_uv() == 2_650_000
    assert adc.read_u16() == 2_650_000 * 65535 // 3_100_000
    adc.atten(machine.ADC.ATTN_6DB)
    assert adc.read_uv() == 1_750_000  # clipped at the 6 dB range


@pytest.mark.parametrize("bits", [16, 32])
def test_i2s_tone(bits):
    i2s = machine.I2S(
        0,
        sck=machine.Pin(14),
        ws=machine.Pin(15),
        sd=machine.Pin(13),
        mode=machine.I2S.RX,
        bits=bits,
        format=machine.I2S.MONO,
        rate=8000,
        ibuf=4000,
    )
    i2s.paced = False
    buf = bytearray(bits // 8 * 16)
    assert i2s.readinto(buf) == len(buf)
    step = bits // 8
    samples = [int.from_bytes(buf[k + step - 2 : k + step], "little", signed=True)
               for k in range(0, len(buf), step)]  # fmt: skip
    assert samples[:5] == [sim.tone(n, 8000) for n in range(5)]
    assert samples[2] == 8000 * sim.SINE[256] // 32767  # 1 kHz at 8 kHz: a quarter turn


def test_i2s_reads_into_int16_array():
    i2s = machine.I2S(0, sck=14, ws=15, sd=13, mode=1, bits=16, format=0, rate=16000, ibuf=1)
    i2s.paced = False
    a = array("h", [0] * 8)
    assert i2s.readinto(memoryview(a)[2:6]) == 8
    assert list(a) == [0, 0] + [sim.tone(n, 16000) for n in range(4)] + [0, 0]


def test_misc_machine_api():
    assert len(machine.unique_id()) == 6
    assert machine.freq() == 240_000_000
    machine.freq(160_000_000)
    assert machine.freq() == 160_000_000
    machine.freq(240_000_000)
    with pytest.raises(SystemExit):
        machine.reset()
    p = machine.Pin(2, machine.Pin.OUT, value=0)
    p.on()
    assert p.value() == 1
    wdt = machine.WDT(timeout=100_000)
    wdt.feed()
    rtc = machine.RTC()
    assert len(rtc.datetime()) == 8


def test_board_files_have_the_same_shape():
    names = {"DEVICE_TYPE", "I2C_ID", "I2C_SCL", "I2C_SDA", "ADC_PIN", "ADC_ATTEN", "LED_PIN",
             "I2S_ID", "I2S_SCK", "I2S_WS", "I2S_SD", "I2S_BITS", "i2c", "led", "analog",
             "i2s_mic", "device_name"}  # fmt: skip
    import ast

    for b in ("esp32", "pico_w", "sim"):
        tree = ast.parse((ROOT / "boards" / b / "board.py").read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        for n in tree.body:
            if isinstance(n, ast.Assign):
                defined |= {t.id for t in n.targets if isinstance(t, ast.Name)}
        assert names <= defined, (b, names - defined)


def test_sim_board_on_micropython():
    code = (
        "import board\n"
        "print(board.DEVICE_TYPE, board.device_name(), board.i2c(), board.i2c().scan())\n"
        "a = board.analog(); print(a.axes, a.typecode)\n"
        "l = board.led(); l.on(); print(l.value())\n"
        "m = board.i2s_mic(16000); b = bytearray(8); print(m.readinto(b))\n"
    )
    out = run_micropython(code, code=True).stdout.decode().split("\n")
    assert out[0] == "SIM 24:0a:c4:5e:1a:01 I2C(0, scl=18, sda=19, freq=400000) [24, 83, 104, 118]"
    assert out[1] == "(('adc', 'V'),) i"
    assert out[2] == "1"
    assert out[3] == "8"


# The sim's Timer thread and WDT read sim.ticks_us() and wait with sim.wait_us(): both are
# replaced by a virtual clock that only the test advances, one millisecond at a time, and only
# once the timer thread has caught up (parked, waiting for a later time). So the counts are
# exact on any machine: a starved thread makes the test slower, never different.
VIRTUAL_CLOCK = """
import utime, sim
VT = [0]
PARKED = [None]
def _ticks():
    return VT[0]
def _wait(us):
    target = VT[0] + us
    PARKED[0] = target
    while VT[0] < target:
        utime.sleep_ms(1)
    PARKED[0] = None
sim.ticks_us = _ticks
sim.wait_us = _wait
def settle(timer):
    t0 = utime.ticks_ms()
    while timer._running and (PARKED[0] is None or PARKED[0] <= VT[0]):
        if utime.ticks_diff(utime.ticks_ms(), t0) > 60000:
            raise SystemExit("timer thread stuck")
        utime.sleep_ms(1)
def unparked():
    t0 = utime.ticks_ms()
    while PARKED[0] is not None:
        if utime.ticks_diff(utime.ticks_ms(), t0) > 60000:
            raise SystemExit("stopped timer thread never woke")
        utime.sleep_ms(1)
def advance(ms, timer=None):
    for _ in range(ms):
        if timer is not None:
            settle(timer)
        VT[0] += 1000
    if timer is not None:
        settle(timer)
"""


def test_timer_and_wdt_on_micropython():
    code = VIRTUAL_CLOCK + (
        "from machine import Timer, WDT\n"
        "n = [0]\n"
        "def cb(t):\n"
        "    n[0] += 1\n"
        "t = Timer(0, mode=Timer.PERIODIC, period=10, callback=cb)\n"
        "advance(105, t)\n"
        "t.deinit()\n"
        "c = n[0]\n"
        "advance(30)\n"
        "unparked()\n"  # the stopped thread woke and left (without a callback)
        "o = Timer(1)\n"
        "o.init(mode=Timer.ONE_SHOT, period=20, callback=cb)\n"
        "advance(50, o)\n"
        "w = WDT(timeout=20)\n"
        "advance(20)\n"
        "w.feed()\n"  # in time: at the timeout exactly
        "advance(40)\n"
        "try:\n"
        "    w.feed()\n"
        "    print(c, n[0], 'fed')\n"
        "except SystemExit as e:\n"
        "    print(c, n[0], 'reset')\n"
    )
    c, n, wdt = run_micropython(code, code=True).stdout.decode().split()
    assert int(c) == 10  # 10 ms periodic for 105 ms: at 10, 20, ... 100 ms
    assert int(n) == int(c) + 1  # nothing after deinit(), then the one-shot once
    assert wdt == "reset"  # fed 40 ms after a 20 ms timeout: the board would have reset
