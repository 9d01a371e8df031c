"""Print sources as `edge-impulse-data-forwarder` lines over the serial port.

    fwd = Forwarder((imu,))        # sources as for ei_sampler.sample()
    fwd.run(interval_ms=10)        # "v1,v2,...\n" in physical units, forever (or rows=N)

Memory (64-bit unix port, from .mpy; less on a 32-bit board): importing costs ~1.7 KiB of heap
plus ~2.5 KiB for ei_fixed (its number text, shared with the JSON encoder), a Forwarder for 6
axes ~1 KiB more; a line allocates nothing (heap_lock proof in tests/scenarios/sensors_heaplock).
"""

import sys

import ei_sampler
from micropython import const

# The most bytes one value and its comma take: an int32 reading times a factor below 2**29 has
# at most 19 digits, 20 decimals print 21; a sign and a point.
_VALUE_BYTES = const(24)


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
        self.axes, scale = ei_sampler.layout_of(self.sources)
        n = len(self.axes)
        self._plan = ei_sampler.read_plan(self.sources, n)
        code = ei_sampler.typecode_of(self.sources)
        if code == "f":
            raise ValueError("Forwarder: sources must give ints (typecode 'h' or 'i')")
        plan = ei_fixed.plan(scale, code, False, decimals)
        if plan is None:
            raise ValueError(
                "Forwarder: every scale * 10**decimals must be below 2**29, decimals at most 20"
            )
        self._kernel, _, self._params = plan
        self._row = ei_sampler.new_array(code, n)
        self._state = ei_sampler.new_array("i", 4)
        self._line = bytearray(_VALUE_BYTES * n + 1)
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
        clock = clock or ei_sampler.CLOCK
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
