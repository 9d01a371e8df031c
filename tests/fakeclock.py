"""A fake clock for board scenarios run as subprocesses, in both runtimes: time moves only when
the code sleeps, so deadlines, timeouts and elapsed times come out exactly the same on an idle
and on a loaded machine.

- MicroPython: a `time.py` put first on MICROPYPATH shadows the built-in `time` (the real one
  stays reachable as `utime`); ei_time, the sim board and the scenario all import it.
- CPython: `time` is built in and cannot be shadowed, so a bootstrap replaces its monotonic,
  perf_counter and sleep functions in the child process, then runs the scenario.

`time.time()` (the calendar clock) stays real in both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import LIB, MICROPYPATH, ROOT, SIM, run_micropython

MICROPYTHON_TIME = """\
# Fake clock (tests/fakeclock.py): ticks move only in sleep_*.
from utime import *  # noqa: F403 (time(), gmtime(), ticks_diff, ticks_add stay real)

_now = [0]  # microseconds since start


def ticks_us():
    return _now[0] & 0x3FFFFFFF


def ticks_ms():
    return (_now[0] // 1000) & 0x3FFFFFFF


def ticks_cpu():
    return ticks_us()


def sleep_us(us):
    if us > 0:
        _now[0] += us


def sleep_ms(ms):
    if ms > 0:
        _now[0] += ms * 1000


def sleep(s):
    if s > 0:
        _now[0] += int(s * 1000000)
"""

CPYTHON_BOOT = """\
# Fake clock (tests/fakeclock.py): monotonic clocks move only in time.sleep.
import runpy
import sys
import time

_now = [10**9]  # nanoseconds; starts at 1 s so nothing reads a zero clock


def _sleep(s):
    if s > 0:
        _now[0] += round(s * 1e9)


time.sleep = _sleep
time.monotonic = lambda: _now[0] / 1e9
time.monotonic_ns = lambda: _now[0]
time.perf_counter = lambda: _now[0] / 1e9
time.perf_counter_ns = lambda: _now[0]
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(script))
runpy.run_path(script, run_name="__main__")
"""


def micropython_dir(directory: Path) -> Path:
    """Write the fake `time.py` into `directory` (put it first on MICROPYPATH)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "time.py").write_text(MICROPYTHON_TIME)
    return directory


def run_micropython_fake(
    directory: Path, script: str | Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """run_micropython with the fake clock; `directory` holds (or gets) the fake time.py."""
    micropython_dir(directory)
    full = dict(env or {})
    full["MICROPYPATH"] = f"{directory}:{full.get('MICROPYPATH', MICROPYPATH)}"
    return run_micropython(script, *args, env=full)


def run_cpython_fake(
    directory: Path, script: str | Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """The scenario under CPython (lib/ and the sim board on the path) with the fake clock."""
    directory.mkdir(parents=True, exist_ok=True)
    boot = directory / "fakeclock_boot.py"
    boot.write_text(CPYTHON_BOOT)
    env = dict(os.environ, PYTHONPATH=f"{LIB}{os.pathsep}{SIM}")
    proc = subprocess.run(
        [sys.executable, str(boot), str(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"python (fake clock) {script} exited {proc.returncode}\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    return proc
