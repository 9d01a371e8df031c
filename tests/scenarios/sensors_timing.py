"""100 rows of MPU6050 data at 100 Hz on the sim board: when each row was read, and the total.

    sensors_timing.py real
    sensors_timing.py fake <late_row> <late_us> <slow_row> <slow_us>

"real": the board clock. "fake": a fake clock (time moves only when the scheduler sleeps or a
test says so): the sleep before row <late_row> overruns by <late_us> (the row starts late,
as when the host is busy), and reading row <slow_row> takes <slow_us> (the row started on time
and finishes late: lateness is about the start). Prints one JSON object: per row, the clock
just before the read (start) and just after it (end), relative to the start of the call, the
late count and the total. Run by tests/test_sim_timing.py in micropython and CPython.
"""

import json
import sys
from array import array

import board
import ei_sampler
from sensors.mpu6050 import MPU6050

ROWS = 100
INTERVAL_MS = 10
MASK = (1 << 30) - 1
HALF = 1 << 29


class FakeClock:
    """Wraps at 2**30 like the boards; starts near the wrap to cross it."""

    def __init__(self, late_row, late_us):
        self.t = MASK - 300_000
        self.sleeps = 0
        self.late_row, self.late_us = late_row, late_us

    def ticks_us(self):
        return self.t

    def ticks_add(self, t, d):
        return (t + d) & MASK

    def ticks_diff(self, a, b):
        return ((a - b + HALF) & MASK) - HALF

    def sleep_us(self, us):
        self.sleeps += 1
        over = self.late_us if self.sleeps == self.late_row else 0  # row k sleeps k-th
        self.t = (self.t + us + over) & MASK

    def advance(self, us):
        self.t = (self.t + us) & MASK


class Stamped:
    """A source that notes the clock just before and after each read of the one it wraps."""

    def __init__(self, src, clock, starts, ends, slow_row=-1, slow_us=0):
        self.src, self.clock, self.starts, self.ends = src, clock, starts, ends
        self.axes, self.scale, self.typecode = src.axes, src.scale, src.typecode
        self.row, self.t0 = 0, 0
        self.slow_row, self.slow_us = slow_row, slow_us

    def read_into(self, buf, off):
        clock = self.clock
        self.starts[self.row] = clock.ticks_diff(clock.ticks_us(), self.t0)
        self.src.read_into(buf, off)
        if self.row == self.slow_row:
            clock.advance(self.slow_us)
        self.ends[self.row] = clock.ticks_diff(clock.ticks_us(), self.t0)
        self.row += 1


def main():
    fake = sys.argv[1] == "fake"
    clock = FakeClock(int(sys.argv[2]), int(sys.argv[3])) if fake else ei_sampler.CLOCK
    starts = array("i", [0] * ROWS)
    ends = array("i", [0] * ROWS)
    slow = (int(sys.argv[4]), int(sys.argv[5])) if fake else (-1, 0)
    imu = Stamped(MPU6050(board.i2c()), clock, starts, ends, *slow)
    rec = ei_sampler.recording_for((imu,), INTERVAL_MS, ROWS)
    imu.t0 = clock.ticks_us()
    late = ei_sampler.sample((imu,), rec, clock=clock, collect=False)
    wall = clock.ticks_diff(clock.ticks_us(), imu.t0)
    out = {"rows": len(rec), "late": late, "wall_us": wall, "accZ_first": rec.buffer[2]}
    out["starts"] = list(starts)
    out["ends"] = list(ends)
    print(json.dumps(out))


main()
