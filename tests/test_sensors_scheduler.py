"""ei_sampler.sample(): deadline schedule under a fake clock that wraps at 2**30 us.

The expected timeline comes from a model written here (unbounded ints, no wraparound), not
from the library: row k is due at start + k * interval; a row read more than interval/2
after its due time is late; a late row is still taken.
"""

from __future__ import annotations

import json

import ei_ingest
import ei_sampler
import pytest
from harness import SCENARIOS, run_cpython, run_micropython
from hypothesis import given, settings
from hypothesis import strategies as st

PERIOD = 1 << 30


def model(rows, interval, start, costs):
    """(late rows, times each row was read, end time) without any wraparound."""
    t = start
    due = start
    late = 0
    reads = []
    for k in range(rows):
        if t < due:
            t = due
        elif t - due > interval // 2:
            late += 1
        reads.append(t)
        t += costs(k)
        due += interval
    return late, reads, max(t, due)


def scenario_model(rows, interval, start, slow_every, slow_us):
    def cost(k):
        return slow_us if slow_every and (k + 1) % slow_every == 0 else 7

    late, reads, end = model(rows, interval, start, cost)
    checksum = 0
    for t in reads:
        checksum = (checksum * 31 + t % PERIOD) % 1000000007
    return late, checksum, end % PERIOD


def run_scenario(runtime, *args):
    script = SCENARIOS / "sensors_fakeclock.py"
    argv = [str(a) for a in args]
    proc = (
        run_micropython(script, *argv) if runtime == "micropython" else run_cpython(script, *argv)
    )
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_100k_rows_through_wraparound_zero_drift(runtime):
    rows, interval = 100_000, 10_000
    start = PERIOD - 1_000_000  # wraps after 100 rows
    out = run_scenario(runtime, rows, interval, start, 0, 0)
    assert out["rows"] == rows
    assert out["wrapped"] == 1
    assert out["late"] == 0
    # zero cumulative drift: the call ends exactly rows intervals after it started
    assert out["end"] == (start + rows * interval) % PERIOD
    late, checksum, end = scenario_model(rows, interval, start, 0, 0)
    assert out["checksum"] == checksum  # every row read exactly at start + k * interval
    assert out["end"] == end


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_late_rows_counted_exactly_and_schedule_recovers(runtime):
    rows, interval = 100_000, 10_000
    start = PERIOD - 123_456
    out = run_scenario(runtime, rows, interval, start, 1000, 25_000)
    late, checksum, end = scenario_model(rows, interval, start, 1000, 25_000)
    # a 25 ms stall makes the next two rows late (15 ms, then 5.014 ms behind); the stall on
    # the very last row makes none: 99 * 2
    assert late == 198
    assert out["late"] == late
    assert out["rows"] == rows  # late rows are taken, not dropped
    assert out["checksum"] == checksum
    assert out["end"] == end


class FakeClock:
    def __init__(self, start):
        self.t = start

    def ticks_us(self):
        return self.t

    def ticks_add(self, t, d):
        return (t + d) % PERIOD

    def ticks_diff(self, a, b):
        return (a - b + PERIOD // 2) % PERIOD - PERIOD // 2

    def sleep_us(self, us):
        assert us > 0
        self.t = (self.t + us) % PERIOD


class CostSource:
    axes = (("v", ""),)
    scale = (1.0,)
    typecode = "h"

    def __init__(self, clock, costs):
        self.clock = clock
        self.costs = costs
        self.k = 0
        self.reads = []

    def read_into(self, buf, off):
        self.reads.append(self.clock.t)
        buf[off] = self.k % 1000
        self.clock.t = (self.clock.t + self.costs[self.k]) % PERIOD
        self.k += 1


@settings(max_examples=200, deadline=None)
@given(
    interval=st.integers(100, 50_000),
    start=st.integers(0, PERIOD - 1),
    costs=st.lists(st.integers(0, 200_000), min_size=1, max_size=300),
)
def test_any_read_durations_match_the_model(interval, start, costs):
    clock = FakeClock(start)
    src = CostSource(clock, costs)
    rec = ei_ingest.Recording(src.axes, interval_ms=interval / 1000, capacity=len(costs))
    late = ei_sampler.sample((src,), rec, clock=clock, collect=False)
    m_late, m_reads, m_end = model(len(costs), interval, start, lambda k: costs[k])
    assert late == m_late
    assert src.reads == [t % PERIOD for t in m_reads]
    assert clock.t == m_end % PERIOD
    assert len(rec) == len(costs)
    assert [rec.buffer[i] for i in range(len(costs))] == [k % 1000 for k in range(len(costs))]


def test_rows_and_offsets_of_combined_sources():
    class Src:
        typecode = "h"

        def __init__(self, n, base):
            self.axes = tuple((f"{base}{i}", "u") for i in range(n))
            self.scale = tuple(float(i + 1) for i in range(n))
            self.base = 10 if base == "a" else 20

        def read_into(self, buf, off):
            for i in range(len(self.axes)):
                buf[off + i] = self.base + i

    a, b = Src(3, "a"), Src(2, "b")
    rec = ei_sampler.recording_for((a, b), 5, 4)
    assert rec.sensors == (("a0", "u"), ("a1", "u"), ("a2", "u"), ("b0", "u"), ("b1", "u"))
    assert rec.scale == (1.0, 2.0, 3.0, 1.0, 2.0)
    assert rec.typecode == "h"
    clock = FakeClock(5)
    assert ei_sampler.sample((a, b), rec, rows=3, clock=clock, collect=False) == 0
    assert len(rec) == 3
    assert list(rec.buffer)[:15] == [10, 11, 12, 20, 21] * 3
    assert clock.t == 5 + 3 * 5000
    with pytest.raises(ValueError, match="room for 1"):
        ei_sampler.sample((a, b), rec, rows=2, clock=clock)
    with pytest.raises(ValueError, match="3 values per row, recording has 5"):
        ei_sampler.sample((a,), rec, clock=clock)


def test_recording_for_widens_typecode():
    class S:
        def __init__(self, code, name):
            self.typecode, self.axes, self.scale = code, ((name, "u"),), (1.0,)

        def read_into(self, buf, off):
            buf[off] = 0

    assert ei_sampler.recording_for((S("h", "a"), S("i", "b")), 10, 2).typecode == "i"
    assert ei_sampler.recording_for((S("h", "a"), S("f", "b")), 10, 2).typecode == "f"
    assert ei_sampler.recording_for((S("h", "a"),), 10, 2).typecode == "h"


def test_host_ticks_shim_wraps_like_the_boards():
    if hasattr(__import__("time"), "ticks_us"):
        pytest.skip("running with real ticks")
    add, diff = ei_sampler.ticks_add, ei_sampler.ticks_diff
    assert add(PERIOD - 1, 1) == 0
    assert add(0, -1) == PERIOD - 1
    assert diff(0, PERIOD - 1) == 1
    assert diff(PERIOD - 1, 0) == -1
    assert diff(add(12345, 1 << 28), 12345) == 1 << 28
    assert 0 <= ei_sampler.ticks_us() < PERIOD


@pytest.mark.parametrize(
    "interval_ms,rows", [(1000 / 3, 30_000), (1000 / 16000, 160_000), (4.047, 1000)]
)
def test_fractional_intervals_do_not_drift(interval_ms, rows):
    start = PERIOD - 777
    clock = FakeClock(start)
    src = CostSource(clock, [3] * rows)
    rec = ei_ingest.Recording(src.axes, interval_ms=interval_ms, capacity=rows)
    assert ei_sampler.sample((src,), rec, clock=clock, collect=False) == 0
    # the interval is kept to the nanosecond: at most 0.5 ns per row of drift (0.0015 ppm of
    # 1000/3 ms), against 1 us per row (3000 ppm) if it were cut to whole microseconds
    for k in (0, 1, 2, 3, rows // 2, rows - 1):
        due = start + k * interval_ms * 1000
        err = abs((src.reads[k] - due + PERIOD // 2) % PERIOD - PERIOD // 2)
        assert err <= 1 + k * 0.0005, k
    total = rows * interval_ms * 1000
    err = abs((clock.t - start - round(total) + PERIOD // 2) % PERIOD - PERIOD // 2)
    assert err <= 1 + rows * 0.0005


def test_late_rows_are_logged_once_with_the_module_name(logs: list[str]) -> None:
    """One line per sample() that had late rows, naming the sampler (what a user greps for)."""
    clock = FakeClock(0)
    costs = [0, 25_000, 0, 0, 0]  # a 25 ms read at 10 ms a row
    src = CostSource(clock, costs)
    rec = ei_ingest.Recording(src.axes, interval_ms=10, capacity=5)
    late = ei_sampler.sample((src,), rec, clock=clock, collect=False)
    m_late = model(5, 10_000, 0, lambda k: costs[k])[0]
    assert late == m_late >= 1
    assert logs == [f"ei_sampler: {m_late} of 5 rows late"]
