"""The scheduler under a fake clock that wraps at 2**30 microseconds, like the boards.

argv: rows interval_us start_ticks slow_every slow_us
Every `slow_every`-th row the source takes `slow_us` of (fake) time to read; every other
row takes 7 us. Prints JSON: late count, rows, the fake time at the end, and a checksum of
the times at which rows were read, for the test to compare with its own model.
"""

import json
import sys

import ei_ingest
import ei_sampler

PERIOD = 1 << 30
MASK = PERIOD - 1
HALF = 1 << 29


class FakeClock:
    def __init__(self, start):
        self.t = start
        self.slept = 0

    def ticks_us(self):
        return self.t

    def ticks_add(self, t, d):
        return (t + d) & MASK

    def ticks_diff(self, a, b):
        return ((a - b + HALF) & MASK) - HALF

    def sleep_us(self, us):
        self.slept += us
        self.t = (self.t + us) & MASK

    def advance(self, us):
        self.t = (self.t + us) & MASK


class TimedSource:
    axes = (("t", ""),)
    scale = (1.0,)
    typecode = "i"

    def __init__(self, clock, slow_every, slow_us):
        self.clock = clock
        self.k = 0
        self.slow_every = slow_every
        self.slow_us = slow_us
        self.checksum = 0
        self.wrapped = 0
        self.prev = clock.t

    def read_into(self, buf, off):
        t = self.clock.t
        if t < self.prev:
            self.wrapped += 1
        self.prev = t
        buf[off] = t & 0xFFFFFF  # low bits only: an 'i' item stays a small int everywhere
        self.checksum = (self.checksum * 31 + t) % 1000000007
        self.k += 1
        if self.slow_every and self.k % self.slow_every == 0:
            self.clock.advance(self.slow_us)
        else:
            self.clock.advance(7)


def main():
    rows, interval_us, start, slow_every, slow_us = [int(a) for a in sys.argv[1:6]]
    clock = FakeClock(start)
    src = TimedSource(clock, slow_every, slow_us)
    rec = ei_ingest.Recording(src.axes, interval_ms=interval_us / 1000, capacity=rows, typecode="i")
    late = ei_sampler.sample((src,), rec, clock=clock, collect=False)
    print(
        json.dumps(
            {
                "late": late,
                "rows": len(rec),
                "end": clock.t,
                "wrapped": src.wrapped,
                "checksum": src.checksum,
                "last": rec.buffer[rows - 1],
            }
        )
    )


main()
