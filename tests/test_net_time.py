"""ei_net clock: the port epoch (1970 or 2000) to Unix seconds, "never set" as None, NTP retries.

The 2000-epoch and unset-clock cases run the real `unix_time()` under a `time` module that
behaves like an ESP32's or a fresh Pico W's (a `time.py` on MICROPYPATH shadows the built-in)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from harness import MICROPYPATH, SCENARIOS, run_cpython, run_micropython

EXPECTED_TO_UNIX = [
    None,
    None,
    1704067200,
    None,
    None,
    1704067200,
    None,
    1764115200,
    1764115200,
]

FAKE_TIME = """
from utime import *
import utime

_MODE = {mode!r}
_OFF = 946684800


def time():
    if _MODE == "esp32":
        return utime.time() - _OFF
    if _MODE == "esp32_unset":
        return 4321
    return 1609459200 + 77  # rp2_unset: a Pico W boots at 2021-01-01


def gmtime(secs=None):
    if secs is None:
        secs = time()
    if _MODE.startswith("esp32"):
        return utime.gmtime(secs + _OFF)
    return utime.gmtime(secs)
"""


def _json(stdout: bytes) -> dict[str, Any]:
    return dict(json.loads(stdout.decode().strip().splitlines()[-1]))


class HostClock:
    """The host's Unix time just before and just after a subprocess ran: whatever it read from
    the same clock lies in between (whole seconds), however long a loaded machine took."""

    def __enter__(self) -> HostClock:
        self.before = int(time.time())
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = int(time.time()) + 1

    def holds(self, unix_seconds: int) -> bool:
        return self.before <= unix_seconds <= self.after


def test_to_unix_and_host_clock_micropython() -> None:
    with HostClock() as clock:
        out = _json(run_micropython(SCENARIOS / "net_time.py", "ok").stdout)
    assert out["to_unix"] == EXPECTED_TO_UNIX
    assert out["epoch_year"] == 1970
    assert clock.holds(out["unix_time"]), (clock.before, out["unix_time"], clock.after)
    assert clock.holds(out["sync"]), (clock.before, out["sync"], clock.after)
    assert out["ntp_calls"] == 1
    assert out["ntp_host"] == "ntp.example"


def test_to_unix_and_host_clock_cpython() -> None:
    with HostClock() as clock:
        out = _json(run_cpython(SCENARIOS / "net_time.py", "ok").stdout)
    assert out["to_unix"] == EXPECTED_TO_UNIX
    assert clock.holds(out["unix_time"]), (clock.before, out["unix_time"], clock.after)


@pytest.mark.parametrize(
    ("ntp", "calls", "synced"), [("fail:2", 3, True), ("fail", 3, False), ("ok", 1, True)]
)
def test_ntp_retries(ntp: str, calls: int, synced: bool) -> None:
    out = _json(run_micropython(SCENARIOS / "net_time.py", ntp).stdout)
    assert out["ntp_calls"] == calls
    assert (out["sync"] is not None) == synced


def _with_fake_time(tmp_path: Path, mode: str) -> dict[str, Any]:
    (tmp_path / "time.py").write_text(FAKE_TIME.format(mode=mode))
    env = {"MICROPYPATH": f"{tmp_path}:{MICROPYPATH}"}
    return _json(run_micropython(SCENARIOS / "net_time.py", "ok", env=env).stdout)


def test_esp32_epoch_2000(tmp_path: Path) -> None:
    with HostClock() as clock:
        out = _with_fake_time(tmp_path, "esp32")
    assert out["epoch_year"] == 2000
    assert clock.holds(out["time"] + 946684800), "fake clock is not 2000-based"
    assert clock.holds(out["unix_time"]), (clock.before, out["unix_time"], clock.after)
    assert out["to_unix"] == EXPECTED_TO_UNIX


@pytest.mark.parametrize(("mode", "year"), [("esp32_unset", 2000), ("rp2_unset", 1970)])
def test_clock_never_set_gives_none(tmp_path: Path, mode: str, year: int) -> None:
    out = _with_fake_time(tmp_path, mode)
    assert out["epoch_year"] == year
    assert out["unix_time"] is None
    assert out["sync"] is None  # the sim's NTP "succeeds" but this clock stays unset
