"""Suite-wide settings: lib/ on the path, Hypothesis profiles, and a guard that fails the run
when a test wrote into the source tree.

Hypothesis: the default profile ("ei") has no deadline (a loaded 2-core machine makes any
per-example time limit flaky) and is derandomized, so a failure comes back on every run and on
every machine. `HYPOTHESIS_PROFILE=explore` searches with fresh random seeds instead (more
examples, failures saved in a database outside the repository), for hunting new bugs locally;
tools/mutate.py uses "mutate" (no shrinking: a failure only has to be seen).

Paths: pyproject.toml's `pythonpath` puts tests/, lib/ and tests/scenarios/ first; this file
appends boards/sim, tools and tools/bench (see below). No test module touches sys.path.

Shared fixtures:
- `server`: the local ingestion server (tools/ingest_server.py, a real process on a port the
  OS picked), one per test module: the module's tests share its data. A module sets
  `SERVER_OPTIONS = {...}` for ServerProc's keyword arguments (keys, max_body...) and
  `SERVER_SCHEMES = ("http", "https")` to run each of its tests against both (HTTPS with a
  throwaway CA). A module that needs more (samples uploaded first, faults cleared for each
  test) overrides `server` with a fixture of the same name that takes this one.
- `fresh_server`: a server of the test's own (its own data dir), for tests that count what
  the server stored or saw.
- `logs`: the library's log messages during the test, as a list.
- `quiet`: the library's log hook silenced for the test (`pytestmark =
  pytest.mark.usefixtures("quiet")` in modules whose failures are expected).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import ROOT, SIM
from hypothesis import Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase
from serverproc import ServerProc, make_test_ca

# Appended, not put first: boards/sim has a socket.py (the sim board's, for the scenario
# processes) that must never shadow the standard library's in this process, and its sim.py
# (the simulated bench) must win over tools/sim.py (the `make sim` runner, which no test
# imports).
for _path in (SIM, ROOT / "tools", ROOT / "tools" / "bench"):
    if str(_path) not in sys.path:
        sys.path.append(str(_path))

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


# --- shared fixtures ---------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    schemes = getattr(metafunc.module, "SERVER_SCHEMES", None)
    if schemes and "server" in metafunc.fixturenames:
        metafunc.parametrize("server", schemes, indirect=True, scope="module")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProc]:
    """The module's ingestion server (SERVER_OPTIONS, SERVER_SCHEMES: see the docstring)."""
    options = dict(getattr(request.module, "SERVER_OPTIONS", {}))
    scheme = getattr(request, "param", "http")
    base = tmp_path_factory.mktemp(f"server-{scheme}")
    if scheme == "https":
        options["tls"] = make_test_ca(base / "ca")
    with ServerProc(base / "data", **options) as proc:
        yield proc


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProc]:
    """A server of the test's own: what it stored and saw is this test's alone."""
    with ServerProc(tmp_path / "data") as proc:
        yield proc


@pytest.fixture
def quiet() -> Iterator[None]:
    """The library's log hook silenced for the test, then the default (print) again."""
    import ei_log

    ei_log.set_log(None)
    yield
    ei_log.set_log(ei_log._print_log)


@pytest.fixture
def logs() -> Iterator[list[str]]:
    """What the library logs during the test, one message an item (then print again)."""
    import ei_log

    seen: list[str] = []
    ei_log.set_log(seen.append)
    yield seen
    ei_log.set_log(ei_log._print_log)
