"""Soak: 1,000 put+flush cycles on the micropython interpreter under a small heap.

The interpreter runs with `-X heapsize=40wK`: 40 K words, i.e. the footprint of a 40 KiB heap
on a 32-bit board (80 KiB on this 64-bit host). As on a board, lib/ is imported as .mpy (the
compiler's own peak is not the library's). The scenario samples the free heap after
gc.collect() every 100 cycles; from cycle 100 on it must never be lower than at cycle 100 (no
leak, no downward trend), and nothing may raise MemoryError. The server gets 1,000 recordings.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness import LIB, SCENARIOS, SIM, run_micropython
from serverproc import ServerProc

HEAPSIZE = "40wK"
CYCLES = 1000


def compile_mpy(out: Path) -> Path:
    """lib/ and the scenario helpers as .mpy for this host (bytecode plus x64 native code)."""
    from harness import micropython_path

    cross = str(Path(micropython_path()).parent / "mpy-cross")
    sources = [(p, p.relative_to(LIB)) for p in LIB.rglob("*.py")]
    sources.append((SCENARIOS / "spool_common.py", Path("spool_common.py")))
    # The sim's socket stands in for a board's built-in: no compiler peak for it either.
    sources.append((SIM / "socket.py", Path("socket.py")))
    for src, rel in sources:
        target = out / rel.with_suffix(".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([cross, "-march=x64", "-o", str(target), str(src)], check=True)
    script = out / "spool_soak.py"  # next to spool_common.mpy: the script's dir is on sys.path
    script.write_bytes((SCENARIOS / "spool_soak.py").read_bytes())
    return script


def test_soak_1000_cycles_small_heap(tmp_path: Path) -> None:
    build = tmp_path / "mpy"
    script = compile_mpy(build)
    with ServerProc(tmp_path / "data") as server:
        proc = run_micropython(
            script, str(tmp_path / "spool"), str(server.port), str(CYCLES), "60000",
            heapsize=HEAPSIZE, timeout=90,
            # Sockets without joining Wi-Fi: the sim's network module is no part of this budget.
            env={"MICROPYPATH": f"{build}:boards/sim:.frozen", "EI_SIM_SOCKETS": "always"},
        )  # fmt: skip
        assert b"MemoryError" not in proc.stderr + proc.stdout
        out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        assert out["cycles"] == CYCLES and out["delivered"] == CYCLES and out["left"] == 0, out
        assert len(server.samples()) == CYCLES
    free = out["free"][1:]  # cycles 100, 200, ..., 1000
    assert len(free) == CYCLES // 100
    at_100 = free[0]
    assert at_100 > 0
    assert all(f >= at_100 for f in free), f"free heap shrank below cycle 100's: {free}"
    assert free[-1] >= at_100
    print(f"soak heap {HEAPSIZE}: free after gc at cycle 100 = {at_100}, at {CYCLES} = {free[-1]}")
