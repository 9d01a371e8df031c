"""The board's clocks, one home for every module: ticks_ms, ticks_us, ticks_add, ticks_diff,
sleep_ms, sleep_us, and the wall clock as Unix seconds for `iat` (unix_time, to_unix; ei_net
sets it from NTP).

On MicroPython these are `time`'s own. On CPython (host tests and tools) they are defined here
with the boards' arithmetic: ticks wrap at 2**30 and ticks_diff gives the signed distance, so
code that is right on a board is right on the host too.

Memory: on a board, six names bound to built-ins and two small functions; the CPython branch is
never run there.
"""

import time

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


_EPOCH_2000 = 946684800  # seconds from 1970-01-01 to 2000-01-01 (UTC)
_UNIX_2024 = 1704067200  # 2024-01-01: an earlier clock was never set (both above small ints)


def to_unix(secs, epoch_year=None):
    """Convert a port's `time.time()` value to Unix seconds; None before 2024 (clock unset).

    `epoch_year` is the port's epoch (1970 or 2000); default: this port's, from gmtime(0).
    """
    if epoch_year is None:
        epoch_year = time.gmtime(0)[0]
    unix = int(secs) + (_EPOCH_2000 if epoch_year == 2000 else 0)
    if unix < _UNIX_2024:
        return None
    return unix


def unix_time():
    """Seconds since 1970-01-01 UTC for `iat`, or None if the clock was never set."""
    return to_unix(time.time())
