"""The examples' sampling part on the micropython sim board (uploads: the _upload tests)."""

from __future__ import annotations

import json

from harness import run_micropython

PRELUDE = "import sys, json\nsys.path.append('examples')\n"
# The sampler's clock, faked: time moves only when the sampler sleeps, and the sim's signals
# follow it (sim.freeze), so no row can be late on a loaded machine and the values are those at
# exactly 0, 10, 20, ... ms.
FAKE_CLOCK = """
import ei_sampler, sim
class FakeClock:
    def __init__(self):
        self.t = 0
        sim.freeze(0)
    def ticks_us(self):
        return self.t
    def ticks_add(self, t, d):
        return t + d
    def ticks_diff(self, a, b):
        return a - b
    def sleep_us(self, us):
        if us > 0:
            self.t += us
            sim.freeze(self.t)
ei_sampler.CLOCK = FakeClock()
"""


def run(code):
    return json.loads(run_micropython(PRELUDE + code, code=True).stdout.decode().splitlines()[-1])


def test_motion_collect():
    out = run(
        FAKE_CLOCK + "import motion\n"
        "rec, late = motion.collect(100, 10)\n"
        "print(json.dumps([len(rec), late, rec.sensors, rec.interval_ms, rec.typecode,"
        " [rec.buffer[i] for i in range(6)], list(rec.scale)]))\n"
    )
    rows, late, sensors, interval, typecode, first, scale = out
    assert rows == 100 and interval == 10 and typecode == "h"
    assert late == 0  # the fake clock: no row can be late, whatever the machine's load
    assert [s[0] for s in sensors] == ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]
    assert 15000 < first[2] < 17700  # Z about 1 g
    assert abs(scale[0] - 9.80665 / 16384) < 1e-12
    assert abs(scale[3] - 1 / 131) < 1e-12


def test_analog_collect():
    out = run(
        FAKE_CLOCK + "import analog\n"
        "rec, late = analog.collect(100, 10)\n"
        "print(json.dumps([len(rec), rec.interval_ms, rec.sensors, rec.typecode,"
        " min(rec.buffer), max(rec.buffer)]))\n"
    )
    rows, interval, sensors, typecode, lo, hi = out
    assert rows == 100 and interval == 10 and sensors == [["adc", "V"]] and typecode == "i"
    # a 1 Hz sine of 1 V around 1.65 V over one second, in microvolts
    assert 600_000 < lo < 700_000 and 2_600_000 < hi < 2_700_000


def test_audio_collect():
    out = run(
        "import audio, time\n"
        "t = time.ticks_us()\n"
        "rec = audio.collect(8000, rate=8000)\n"
        "dt = time.ticks_diff(time.ticks_us(), t)\n"
        "print(json.dumps([len(rec), rec.sensors, rec.typecode, rec.scale,"
        " [rec.buffer[i] for i in range(8)], max(rec.buffer), dt]))\n"
    )
    n, sensors, typecode, scale, first, peak, dt = out
    assert n == 8000 and sensors == [["audio", "wav"]] and typecode == "h" and scale is None
    assert peak == 8000  # the sim tone's amplitude, 16 bits from the 32-bit slots
    # I2S paces the capture: one second of audio cannot arrive sooner (no upper bound: a
    # loaded host may take longer, and that proves nothing about the example).
    assert dt > 0.99e6
