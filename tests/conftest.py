"""Suite-wide settings: lib/ on the path, Hypothesis profiles, and a guard that fails the run
when a test wrote into the source tree.

Hypothesis: the default profile ("ei") has no deadline (a loaded 2-core machine makes any
per-example time limit flaky) and is derandomized, so a failure comes back on every run and on
every machine. `HYPOTHESIS_PROFILE=explore` searches with fresh random seeds instead (more
examples, failures saved in a database outside the repository), for hunting new bugs locally;
tools/mutate.py uses "mutate" (no shrinking: a failure only has to be seen).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from harness import LIB, ROOT
from hypothesis import Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

# CPython tests import the board library directly: the same source that runs on MicroPython.
if str(LIB) not in sys.path:
    sys.path.insert(0, str(LIB))

# Hypothesis keeps caches (and, exploring, its example database) in .hypothesis/ under the
# working directory by default: the source tree. Keep them out of it.
_HYPOTHESIS_HOME = os.path.join(tempfile.gettempdir(), f"ei_ingest-hypothesis-{os.getuid()}")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("ei", deadline=None, derandomize=True, database=None)
# tools/mutate.py: a failure only has to be seen, not shrunk to its simplest example.
settings.register_profile(
    "mutate",
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
)
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=1000,
    database=DirectoryBasedExampleDatabase(os.path.join(_HYPOTHESIS_HOME, "examples")),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ei"))

# --- no test writes into the source tree -----------------------------------------------------
# Caches are the tools' own business (git ignores them); anything else that appears or changes
# under the repository while the suite runs was written by a test: tests write to tmp_path.
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def tree_snapshot(root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file under root, caches left out."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return out


def tree_changes(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    changed = [f"new: {p}" for p in sorted(after.keys() - before.keys())]
    changed += [f"changed: {p}" for p in sorted(p for p in before.keys() & after.keys()
                                                 if before[p] != after[p])]  # fmt: skip
    changed += [f"removed: {p}" for p in sorted(before.keys() - after.keys())]
    return changed


_BEFORE: dict[str, tuple[int, int]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(tree_snapshot())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    changes = tree_changes(_BEFORE, tree_snapshot())
    if changes:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "tests wrote into the source tree (use tmp_path):\n  " + "\n  ".join(changes[:40])
        if reporter is not None:
            reporter.write_line(text, red=True)
        else:
            print(text, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
