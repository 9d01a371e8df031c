"""The board clock, one import for every module: ticks_ms, ticks_us, ticks_add, ticks_diff,
sleep_ms, sleep_us.

On MicroPython these are `time`'s own. On CPython (host tests and tools) they are defined here
with the boards' arithmetic: ticks wrap at 2**30 and ticks_diff gives the signed distance, so
code that is right on a board is right on the host too.

Memory: on a board, six names bound to built-ins; the CPython branch is never run there.
"""

try:
    from time import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us
except ImportError:  # CPython
    import time as _time

    _PERIOD = 1 << 30
    _HALF = 1 << 29

    def ticks_us():  # type: ignore[misc,no-redef]
        return (_time.perf_counter_ns() // 1000) & (_PERIOD - 1)  # type: ignore[attr-defined]

    def ticks_ms():  # type: ignore[misc,no-redef]
        return (_time.perf_counter_ns() // 1000000) & (_PERIOD - 1)  # type: ignore[attr-defined]

    def ticks_add(ticks, delta):  # type: ignore[misc,no-redef]
        return (ticks + delta) & (_PERIOD - 1)

    def ticks_diff(ticks1, ticks2):  # type: ignore[misc,no-redef]
        return ((ticks1 - ticks2 + _HALF) & (_PERIOD - 1)) - _HALF

    def sleep_us(us):  # type: ignore[misc,no-redef]
        if us > 0:
            _time.sleep(us / 1_000_000)

    def sleep_ms(ms):  # type: ignore[misc,no-redef]
        if ms > 0:
            _time.sleep(ms / 1000)
