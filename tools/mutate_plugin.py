"""The pytest plugin tools/mutate.py loads (`-p mutate_plugin`) into the runs it starts.

Two modes, chosen by environment variables:

- MUTATE_RECORD=<out.json> with MUTATE_TARGET=<lib file>: the unmutated baseline run. Records,
  for each test, the lines of the target file it ran in this process (its setup, call and
  teardown), whether it started a subprocess (which may run the file in micropython, out of
  sight of the tracer), and how long it took.
- MUTATE_PLAN=<plan.json>: a mutant's run. The tests the plan names run first, in its order
  (the ones that ran the mutated line, fastest first), then every other test in the usual
  order: nothing is left out, so a survivor has passed the whole set. Each test gets a time
  limit from the plan; past it the test fails with MutantTimeout (a mutant that hangs is found
  in seconds, not after the whole run's timeout). `"reverse": true` runs every test in reverse
  order (the baseline check that the tests do not depend on their order).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest


class MutantTimeout(BaseException):
    """A test ran past its limit. A BaseException: the library's `except Exception` (retry
    loops, cleanup) must not swallow it."""


_OUTSIDE = "<outside any test>"


class _Recorder:
    def __init__(self, target: str, out: str) -> None:
        self.target = os.path.realpath(target)
        self.out = out
        self.current = _OUTSIDE
        self.lines: dict[str, set[int]] = {_OUTSIDE: set()}
        self.spawns: set[str] = set()
        self.durations: dict[str, float] = {}
        self.order: list[str] = []
        self._popen_init = subprocess.Popen.__init__
        self._is_target: dict[str, bool] = {}

    def start(self) -> None:
        recorder = self
        original = self._popen_init

        def popen_init(popen: Any, *args: Any, **kwargs: Any) -> None:
            recorder.spawns.add(recorder.current)
            original(popen, *args, **kwargs)

        subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign,assignment]
        sys.settrace(self.tracer)
        threading.settrace(self.tracer)

    def stop(self) -> None:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
        subprocess.Popen.__init__ = self._popen_init  # type: ignore[method-assign]

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        name = frame.f_code.co_filename
        is_target = self._is_target.get(name)
        if is_target is None:  # realpath on every call made the traced run ten times slower
            is_target = self._is_target[name] = os.path.realpath(name) == self.target
        if not is_target:
            return None
        seen = self.lines.setdefault(self.current, set())
        seen.add(frame.f_lineno)

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                self.lines.setdefault(self.current, set()).add(frame.f_lineno)
            return local

        return local

    def save(self) -> None:
        data = {
            "lines": {k: sorted(v) for k, v in self.lines.items()},
            "spawns": sorted(self.spawns),
            "durations": self.durations,
            "order": self.order,
        }
        Path(self.out).write_text(json.dumps(data))


_RECORDER: _Recorder | None = None
_PLAN: dict[str, Any] | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _RECORDER, _PLAN
    if os.environ.get("MUTATE_RECORD"):
        _RECORDER = _Recorder(os.environ["MUTATE_TARGET"], os.environ["MUTATE_RECORD"])
        _RECORDER.start()
    if os.environ.get("MUTATE_PLAN"):
        _PLAN = json.loads(Path(os.environ["MUTATE_PLAN"]).read_text())


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RECORDER is not None:
        _RECORDER.stop()
        _RECORDER.save()


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if _PLAN is None:
        return
    if _PLAN.get("reverse"):
        items.reverse()
        return
    rank = {nodeid: n for n, nodeid in enumerate(_PLAN.get("first", []))}
    first = sorted((i for i in items if i.nodeid in rank), key=lambda i: rank[i.nodeid])
    rest = [i for i in items if i.nodeid not in rank]
    items[:] = first + rest


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise MutantTimeout("past the time limit tools/mutate.py gave this test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    if _RECORDER is not None:
        _RECORDER.current = item.nodeid
        _RECORDER.order.append(item.nodeid)
        start = time.monotonic()
        try:
            return (yield)
        finally:
            _RECORDER.durations[item.nodeid] = time.monotonic() - start
            _RECORDER.current = _OUTSIDE
    limit = None if _PLAN is None else _PLAN.get("limits", {}).get(item.nodeid)
    if limit is None:
        return (yield)
    previous = signal.signal(signal.SIGALRM, _alarm)
    # Raised again every 2 s, should the first one be caught by a bare `except:` somewhere.
    signal.setitimer(signal.ITIMER_REAL, limit, 2.0)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
