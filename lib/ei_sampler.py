"""Sample sources into a Recording on a drift-free schedule (ei_forward prints them as lines).

A *source* is anything with:
    axes      tuple of (name, SenML unit), one per value it writes
    scale     tuple of floats, one per axis: physical value = raw * scale
    typecode  the narrowest array typecode that holds its raw values ('h' or 'i')
    read_into(buffer, offset)  writes len(axes) raw ints at buffer[offset:], allocating nothing

    rec = recording_for((mpu, adc), interval_ms=10, capacity=200)
    late = sample((mpu, adc), rec)          # rows taken after their deadline (still recorded)

Memory (measured on the 64-bit unix port from .mpy; less on a 32-bit board): importing costs
~4.5 KiB of heap. Sampling allocates nothing per row: the Recording's buffer is the only
storage (proved with heap_lock in tests/test_sim_timing.py).
"""

from ei_log import log as _log  # the library's one hook: ei_log.set_log(fn or None)
from ei_time import sleep_us, ticks_add, ticks_diff, ticks_us


class SystemClock:
    """The board clock; tests pass any object with these four names instead."""

    ticks_us = staticmethod(ticks_us)
    ticks_add = staticmethod(ticks_add)
    ticks_diff = staticmethod(ticks_diff)
    sleep_us = staticmethod(sleep_us)


CLOCK = SystemClock()


def typecode_of(sources):
    code = "h"
    for s in sources:
        t = getattr(s, "typecode", "h")
        if t == "f":
            return "f"
        if t in ("i", "I", "l", "L", "H"):
            code = "i"
    return code


def layout_of(sources):
    axes = []
    scale = []
    for s in sources:
        if len(s.axes) != len(s.scale):
            raise ValueError("source %r: %d axes but %d scales" % (s, len(s.axes), len(s.scale)))
        axes.extend(s.axes)
        scale.extend(s.scale)
    return tuple(axes), tuple(scale)


def recording_for(sources, interval_ms, capacity, typecode=None):
    """A Recording whose axes and scale are those of the sources, in order."""
    import ei_ingest

    axes, scale = layout_of(sources)
    return ei_ingest.Recording(
        sensors=axes,
        interval_ms=interval_ms,
        capacity=capacity,
        typecode=typecode or typecode_of(sources),
        scale=scale,
    )


def read_plan(sources, axes):
    plan = []
    off = 0
    for s in sources:
        plan.append((s, off))
        off += len(s.axes)
    if off != axes:
        raise ValueError("sources give %d values per row, recording has %d axes" % (off, axes))
    return tuple(plan)


def sample(sources, rec, rows=None, on_row=None, clock=None, late_us=None, collect=True):
    """Fill `rows` rows (default: all free rows) of `rec`, one every rec.interval_ms.

    Row k is due at start + k * interval (no drift); the call returns at
    start + rows * interval. A row that starts more than `late_us` (default: half an
    interval) after its deadline is still taken, as soon as possible, and counted: the
    return value is the number of late rows. `on_row(index)` runs after each row.
    """
    sampler = Sampler(sources, rec, clock=clock, late_us=late_us)
    if collect:
        import gc

        gc.collect()
    late = sampler.run(rows, on_row)
    if late:
        _log("ei_sampler: %d of %d rows late" % (late, sampler.rows))
    return late


class Sampler:
    """sample() in two steps: everything that allocates happens here, `run()` allocates
    nothing (wrap it in micropython.heap_lock() to prove it)."""

    def __init__(self, sources, rec, clock=None, late_us=None):
        self.plan = read_plan(sources, rec.axes)
        self.rec = rec
        # Whole microseconds per row plus a nanosecond remainder carried from row to row, so a
        # fractional interval (1000 / 3 ms, or 4.047 ms in float) does not drift either.
        ns = int(round(rec.interval_ms * 1_000_000))
        if ns < 1000:
            raise ValueError("interval_ms must be >= 0.001")
        self.interval = ns // 1000
        self.interval_ns = ns % 1000
        self.late_us = self.interval // 2 if late_us is None else late_us
        self.clock = clock or CLOCK
        self.rows = 0  # rows taken by the last run()

    def run(self, rows=None, on_row=None):
        rec = self.rec
        free = rec.capacity - len(rec)
        if rows is None:
            rows = free
        if rows < 0 or rows > free:
            raise ValueError("rows=%d but the recording has room for %d" % (rows, free))
        clock = self.clock
        plan = self.plan
        interval = self.interval
        late_us = self.late_us
        frac_ns = self.interval_ns
        carry = 0
        buf = rec.buffer
        axes = rec.axes
        pos = len(rec) * axes
        late = 0
        deadline = clock.ticks_us()
        for i in range(rows):
            wait = clock.ticks_diff(deadline, clock.ticks_us())
            if wait > 0:
                clock.sleep_us(wait)
                # A sleep can overrun (an interrupt, the GC, a busy host): look again.
                wait = clock.ticks_diff(deadline, clock.ticks_us())
            if -wait > late_us:
                late += 1
            for src, off in plan:
                src.read_into(buf, pos + off)
            rec.commit_rows(1)
            pos += axes
            if on_row is not None:
                on_row(i)
            carry += frac_ns
            if carry >= 1000:
                carry -= 1000
                deadline = clock.ticks_add(deadline, interval + 1)
            else:
                deadline = clock.ticks_add(deadline, interval)
        # The last row owns its interval too: N rows take N intervals.
        wait = clock.ticks_diff(deadline, clock.ticks_us())
        if wait > 0:
            clock.sleep_us(wait)
        self.rows = rows
        return late


def new_array(code, n):
    from array import array

    return array(code, bytes(n * {"b": 1, "h": 2, "i": 4, "f": 4}[code]))
