"""The heap instrument: which MicroPython interpreters there are, lib/ compiled for each, and the
smallest `-X heapsize` at which a job still succeeds (bisection, exact and repeatable).

Interpreters (`interpreters()`):
- `unix64`: the PyPI `micropython` in .venv (64-bit: 8-byte words, 32-byte GC blocks), .mpy
  compiled with `-march=x64`. Always there; it carries CI.
- `board32`, `board32idf`: the static 32-bit builds in `$MICROPYTHON32` (default
  `../shared/micropython32`, set by the Makefile), .mpy with its `bin/mpy-cross -march=x86`.
  board32 takes TLS buffers from the GC heap like rp2, board32idf from the system heap like
  ESP32. Absent folder: said once, the 64-bit figures stand alone.
- `board32-frozen`, `board32idf-frozen`: the same, built by tools/mp32/build.py with lib/ frozen
  (and a ROMFS image frozen as bytes), in build/mp32/bin; present after `make heap-frozen`.

A job is a line of code run with `-c` after the module holding it was compiled to .mpy (so the
compiler's peak does not count). It succeeds when the interpreter exits 0 and the last line of
its stdout is "ok". `Measure` records the heapsize and, at that heapsize, the GC's usable bytes
and what was allocated when the job started: their difference is the free heap the job needs
(what `gc.mem_free()` after `gc.collect()` must show on a board).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "heap"
MP32_DEFAULT = "../shared/micropython32"
MP32_BUILT = ROOT / "build" / "mp32" / "bin"
JOBS = ("bench_heap.py", "bench_naive.py", "romfs_mount.py")
SIM_MODULES = ("machine.py", "network.py", "ntptime.py", "sim.py")
STEP = 16  # one GC block on a 32-bit build; half of one on the 64-bit port


def _no_aslr() -> list[str]:
    """`setarch -R`: the GC scans the C stack conservatively, and with addresses randomised a
    stale word that looks like a heap pointer keeps a dead block alive in some runs and not in
    others (an upload's figure moved by 384 bytes). Fixed addresses make runs repeatable."""
    setarch = shutil.which("setarch")
    if setarch is None:
        return []
    probe = subprocess.run([setarch, platform.machine(), "-R", "true"], capture_output=True)
    return [setarch, platform.machine(), "-R"] if probe.returncode == 0 else []


NO_ASLR = _no_aslr()


@dataclass(frozen=True)
class Interp:
    """One MicroPython binary and how to compile .mpy for it."""

    name: str
    binary: Path
    mpy_cross: Path
    march: str
    word: int  # bytes per machine word: 8 (unix64) or 4 (board32*)
    tls_in_heap: bool  # mbedTLS allocates from the GC heap (rp2) or not (ESP32, unix)
    frozen: bool = False
    root: Path = BUILD  # tests put their builds under tmp_path (dataclasses.replace)

    @property
    def build(self) -> Path:
        """Where lib/ and the jobs are compiled for this interpreter (shared per -march)."""
        return self.root / self.march


def _venv_tool(name: str) -> Path:
    local = Path(sys.executable).parent / name
    if local.exists():
        return local
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run `make venv`")
    return Path(found)


def micropython32_dir() -> Path | None:
    """The folder with the 32-bit builds ($MICROPYTHON32, else ../shared/micropython32), if any."""
    raw = os.environ.get("MICROPYTHON32") or MP32_DEFAULT
    path = Path(raw) if Path(raw).is_absolute() else ROOT / raw
    return path if (path / "bin" / "micropython-board32").is_file() else None


_said_absent = False


def say_absent_once() -> None:
    global _said_absent
    if not _said_absent and micropython32_dir() is None:
        raw = os.environ.get("MICROPYTHON32") or MP32_DEFAULT
        print(
            f"heap: no 32-bit MicroPython at {raw} (set MICROPYTHON32=<folder with "
            "bin/micropython-board32>): 64-bit figures only",
            file=sys.stderr,
        )
    _said_absent = True


def unix64() -> Interp:
    return Interp("unix64", _venv_tool("micropython"), _venv_tool("mpy-cross"), "x64", 8, False)


def board32(variant: str = "board32", frozen: bool = False) -> Interp | None:
    """A 32-bit interpreter, or None when its binary is not there."""
    kit = micropython32_dir()
    if frozen:
        binary = MP32_BUILT / f"micropython-{variant}-frozen"
        cross = MP32_BUILT / "mpy-cross"
    else:
        if kit is None:
            return None
        binary = kit / "bin" / f"micropython-{variant}"
        cross = kit / "bin" / "mpy-cross"
    if not binary.is_file() or not cross.is_file():
        return None
    name = variant + ("-frozen" if frozen else "")
    return Interp(name, binary, cross, "x86", 4, variant == "board32", frozen)


def interpreters(frozen: bool = False) -> list[Interp]:
    """unix64, then the 32-bit builds that are present (and their frozen builds if asked)."""
    say_absent_once()
    found = [unix64()]
    for variant in ("board32", "board32idf"):
        for f in (False, True) if frozen else (False,):
            interp = board32(variant, f)
            if interp is not None:
                found.append(interp)
    return found


def lib_sources() -> list[Path]:
    return sorted(p for p in (ROOT / "lib").rglob("*.py") if "__pycache__" not in p.parts)


def mpy_cross(
    cross: Path, march: str | None, src: Path, out: Path, name: str | None = None
) -> None:
    """Compile src to out; `name` is the source name kept in the .mpy (and in the heap once
    loaded: an absolute path of this checkout would make the figures depend on where it is)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(cross)] + ([f"-march={march}"] if march else [])
    cmd += ["-s", name or src.name, "-o", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {src}: {proc.stderr.strip()}")


def compile_all(interp: Interp) -> Path:
    """lib/ (with sensors/), the board-side jobs and the sim board's modules as .mpy:
    <build>/lib, <build>/jobs, <build>/simboard. Returns <build>."""
    out = interp.build
    if out.exists():
        shutil.rmtree(out)
    for src in lib_sources():
        rel = src.relative_to(ROOT / "lib")
        mpy_cross(interp.mpy_cross, interp.march, src, out / "lib" / rel.with_suffix(".mpy"),
                  rel.as_posix())  # fmt: skip
    for name in JOBS:
        src = ROOT / "tools" / "bench" / name
        mpy_cross(
            interp.mpy_cross, interp.march, src, out / "jobs" / Path(name).with_suffix(".mpy")
        )
    motion = ROOT / "examples" / "motion.py"
    mpy_cross(interp.mpy_cross, interp.march, motion, out / "jobs" / "motion.mpy")
    for name in SIM_MODULES:
        src = ROOT / "boards" / "sim" / name
        dest = out / "simboard" / Path(name).with_suffix(".mpy")  # not "sim": '' is on the path
        mpy_cross(interp.mpy_cross, interp.march, src, dest)
    return out


def default_path(interp: Interp) -> str:
    """MICROPYPATH for jobs: the compiled lib/ and jobs (frozen builds: lib/ from .frozen).
    Jobs run in interp.build, so paths are short and relative: module __file__ strings live
    in the heap, "lib/ei_http.mpy" as on a board ("/lib/ei_http.mpy"), wherever the checkout."""
    return "jobs:.frozen" if interp.frozen else "lib:jobs:.frozen"


def run(
    interp: Interp,
    heap: int,
    code: str,
    path: str,
    timeout: float = 300,
    script: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, MICROPYPATH=path)
    cmd = [*NO_ASLR, str(interp.binary), "-X", f"heapsize={heap}"]
    cmd += [str(script)] if script is not None else ["-c", code]
    return subprocess.run(cmd, cwd=interp.build, env=env, capture_output=True, timeout=timeout)


def succeeds(proc: subprocess.CompletedProcess[bytes]) -> bool:
    lines = proc.stdout.decode(errors="replace").strip().splitlines()
    return proc.returncode == 0 and bool(lines) and lines[-1].strip() == "ok"


@dataclass(frozen=True)
class Measure:
    """One bisected job: heapsize (the -X figure), usable GC bytes at it, in use at the start."""

    heapsize: int
    usable: int
    start: int

    @property
    def free_needed(self) -> int:
        """Free heap (gc.mem_free() after gc.collect()) the job needs before it starts."""
        return self.usable - self.start


class HeapError(RuntimeError):
    pass


def smallest_heap(
    interp: Interp,
    job: str,
    path: str | None = None,
    lo: int = 2048,
    hi: int = 4 << 20,
    script: Path | None = None,
    confirm: int = 1,
) -> Measure:
    """Bisect -X heapsize to STEP bytes for `job`: code that prints "heap <in use at start>
    <usable>" and then "ok" as bench_heap.run does (or a script file that does the same).
    Jobs that follow a real clock (motion.py samples for 2 s) can differ a little from run to
    run: `confirm` runs must pass at the result, else it moves up a step at a time."""
    path = path or default_path(interp)
    code = job

    def ok(n: int) -> bool:
        return succeeds(run(interp, n, code, path, script=script))

    top = run(interp, hi, code, path, script=script)
    if not succeeds(top):
        raise HeapError(
            f"{interp.name}: fails even with {hi} bytes of heap: {job or script}\n"
            + top.stdout.decode(errors="replace")[-2000:]
            + top.stderr.decode(errors="replace")[-2000:]
        )
    lo = lo // STEP * STEP
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP
        if ok(mid):
            hi = mid
        else:
            lo = mid
    for _ in range(64):  # at most 1 KiB above the bisection's figure
        runs = [run(interp, hi, code, path, script=script) for _ in range(confirm)]
        if all(succeeds(r) for r in runs):
            break
        hi += STEP
    else:
        raise HeapError(f"{interp.name}: {job or script} does not pass steadily near {hi} bytes")
    proc = runs[-1]
    for line in proc.stdout.decode().splitlines():
        if line.startswith("heap "):
            _, start, usable = line.split()
            return Measure(hi, int(usable), int(start))
    raise HeapError(f"{interp.name}: no heap line from {job or script}")


def job(name: str, *args: object) -> str:
    """The line that runs bench_heap.run(name, ...)."""
    call = ", ".join(repr(a) for a in (name, *args))
    return f"import bench_heap\nbench_heap.run({call})"


def names(items: Iterable[Interp]) -> str:
    return ", ".join(i.name for i in items)
