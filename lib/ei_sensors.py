"""Sample sources into a Recording on a drift-free schedule, or stream them as serial lines.

A *source* is anything with:
    axes      tuple of (name, SenML unit), one per value it writes
    scale     tuple of floats, one per axis: physical value = raw * scale
    typecode  the narrowest array typecode that holds its raw values ('h' or 'i')
    read_into(buffer, offset)  writes len(axes) raw ints at buffer[offset:], allocating nothing

    rec = recording_for((mpu, adc), interval_ms=10, capacity=200)
    late = sample((mpu, adc), rec)          # rows taken after their deadline (still recorded)

Memory (measured on the 64-bit unix port from .mpy; less on a 32-bit board): importing costs
~5.5 KiB of heap, a Forwarder for 6 axes ~1 KiB plus ~2 KiB for ei_fixed (its number text,
shared with the JSON encoder). Sampling allocates nothing per row: the
Recording's buffer is the only storage (proved with heap_lock in tests/test_sim_timing.py).
"""

import sys

from ei_log import log as _log  # the library's one hook: ei_log.set_log(fn or None)
from ei_time import sleep_us, ticks_add, ticks_diff, ticks_us


class SystemClock:
    """The board clock; tests pass any object with these four names instead."""

    ticks_us = staticmethod(ticks_us)
    ticks_add = staticmethod(ticks_add)
    ticks_diff = staticmethod(ticks_diff)
    sleep_us = staticmethod(sleep_us)


CLOCK = SystemClock()


def _typecode(sources):
    code = "h"
    for s in sources:
        t = getattr(s, "typecode", "h")
        if t == "f":
            return "f"
        if t in ("i", "I", "l", "L", "H"):
            code = "i"
    return code


def _layout(sources):
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

    axes, scale = _layout(sources)
    return ei_ingest.Recording(
        sensors=axes,
        interval_ms=interval_ms,
        capacity=capacity,
        typecode=typecode or _typecode(sources),
        scale=scale,
    )


def _plan(sources, axes):
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
        _log("ei_sensors: %d of %d rows late" % (late, sampler.rows))
    return late


class Sampler:
    """sample() in two steps: everything that allocates happens here, `run()` allocates
    nothing (wrap it in micropython.heap_lock() to prove it)."""

    def __init__(self, sources, rec, clock=None, late_us=None):
        self.plan = _plan(sources, rec.axes)
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


class Forwarder:
    """Print sources as `edge-impulse-data-forwarder` lines: "v1,v2,...\n" in physical units.

    Each value is raw * scale as fixed-point decimal text, written by ei_fixed (the same code
    that writes scaled JSON rows) into one preallocated bytearray: integer arithmetic, no
    floats per row. `decimals` digits after the point for every axis, or per axis the fewest
    that show one raw step (ei_fixed.decimals).
    """

    def __init__(self, sources, stream=None, decimals=None):
        import ei_fixed

        self.sources = tuple(sources)
        self.axes, scale = _layout(self.sources)
        n = len(self.axes)
        self._plan = _plan(self.sources, n)
        code = _typecode(self.sources)
        if code == "f":
            raise ValueError("Forwarder: sources must give ints (typecode 'h' or 'i')")
        plan = ei_fixed.plan(scale, code, False, decimals)
        if plan is None:
            raise ValueError(
                "Forwarder: every scale * 10**decimals must be below 2**30, decimals at most 20"
            )
        self._kernel, _, self._params, width = plan
        self._row = _array(code, n)
        self._state = _array("i", 4)
        self._line = bytearray(width * n + 1)
        if stream is None:
            stream = getattr(sys.stdout, "buffer", sys.stdout)
        self._stream = stream
        self._mp = sys.implementation.name == "micropython"
        self._mv = memoryview(self._line)

    def format_row(self, row):
        """Write one row of raw values as a line into the line buffer; return its length."""
        state = self._state
        state[0] = 0
        state[1] = 0
        state[2] = 0
        line = self._line
        self._kernel(row, state, line, len(line), len(self.axes), 1, self._params)
        n = state[1]
        line[n] = 10  # "\n"
        return n + 1

    def write_row(self):
        """Read every source once and write the line."""
        row = self._row
        for src, off in self._plan:
            src.read_into(row, off)
        n = self.format_row(row)
        if self._mp:
            self._stream.write(self._line, n)
        else:
            self._stream.write(self._mv[:n])

    def run(self, interval_ms, rows=None, clock=None):
        """Write a line every interval_ms (deadline schedule) forever or for `rows` lines.

        Returns the number of late lines."""
        clock = clock or CLOCK
        interval = int(round(interval_ms * 1000))
        late = 0
        deadline = clock.ticks_us()
        i = 0
        while rows is None or i < rows:
            wait = clock.ticks_diff(deadline, clock.ticks_us())
            if wait > 0:
                clock.sleep_us(wait)
            elif -wait > interval // 2:
                late += 1
            self.write_row()
            deadline = clock.ticks_add(deadline, interval)
            i += 1
        return late


def _array(code, n):
    from array import array

    return array(code, bytes(n * {"b": 1, "h": 2, "i": 4, "f": 4}[code]))
