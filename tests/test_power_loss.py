"""Power loss: the collecting micropython process is killed (SIGKILL) at random moments while it
puts and flushes; every recording whose put() returned reaches the server exactly once.

Each run starts the scenario on the same spool directory (a reboot: it resumes from the spool),
waits for its READY line (the spool is open), then kills it: even runs after a random 0-120 ms,
odd runs as soon as it announced its n-th put (n random in 1..7), so kills land in both.
After all runs one last process flushes everything. The server is the oracle: acknowledged ids
exactly once, nothing stored twice, every stored file signed right and decodable, and nothing
left behind in the spool (no temporary file, no orphan, nothing in failed/).

Random kills are the second line of defence: where they land depends on the machine's load, so
this test asserts only what must hold wherever they land, and prints where they landed. The
properties a lucky kill would show are proven deterministically elsewhere: crash leftovers are
cleaned and never uploaded (test_spool.py::test_crash_leftovers_are_cleaned_never_uploaded), a
file stored by the server but not yet deleted from the spool is sent again and the duplicate
counts as delivered (test_spool.py::test_lost_answer_then_duplicate_counts_as_delivered).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
from collections import Counter
from pathlib import Path

from harness import MICROPYPATH, ROOT, SCENARIOS, micropython_path, run_micropython
from serverproc import ServerProc
from stored import duplicates_answered, server_ids

RUNS = 80
SCRIPT = SCENARIOS / "spool_power.py"


def leftovers(spool: Path) -> list[str]:
    """Files a crash can leave: temporaries, and data files without their metadata."""
    names = set(os.listdir(spool)) if spool.exists() else set()
    out = [n for n in names if n.endswith(".tmp")]
    for n in names:
        stem, _, ext = n.partition(".")
        if ext in ("cbor", "json") and f"{stem}.m" not in names and f"{stem}.s" not in names:
            out.append(n)
    return sorted(out)


def committed_files_are_whole(spool: Path) -> int:
    """Every file with metadata (committed) is complete: its size and SHA-256 match."""
    count = 0
    for meta_path in list(spool.glob("*.m")) + list(spool.glob("*.s")):
        meta = json.loads(meta_path.read_text())
        data = (spool / meta_path.stem).with_suffix("." + meta["fmt"]).read_bytes()
        assert len(data) == meta["size"], meta_path
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], meta_path
        count += 1
    return count


def complete_lines(seen: list[str], rest: str) -> list[str]:
    """The lines a killed process finished writing: a kill can cut the last line short ("ACK 1"
    of "ACK 12"), and a cut line must not count."""
    text = "".join(seen) + rest
    return [line.strip() for line in text.split("\n")[:-1] if line.strip()]


def test_complete_lines_drops_a_cut_last_line() -> None:
    cut = complete_lines(["READY 0\n", "PUT 12\n"], "ACK 12\nACK 1")
    assert cut == ["READY 0", "PUT 12", "ACK 12"]
    assert complete_lines(["READY 0\n"], "\n\n") == ["READY 0"]
    assert complete_lines(["READY 0\n"], "") == ["READY 0"]


def test_power_loss_sigkill(tmp_path: Path) -> None:
    rng = random.Random(4242)
    spool = tmp_path / "spool"
    env = dict(os.environ, MICROPYPATH=MICROPYPATH)
    acked: set[int] = set()
    where: Counter[str] = Counter()
    crash_leftovers = 0
    pending_after_kill = 0
    with ServerProc(tmp_path / "data") as server:
        for run in range(RUNS):
            cmd = [micropython_path(), str(SCRIPT), str(spool), str(server.port)]
            proc = subprocess.Popen(
                [*cmd, str(run * 1000), "1000"], cwd=ROOT, env=env, stdout=subprocess.PIPE
            )
            assert proc.stdout is not None
            seen = [proc.stdout.readline().decode()]
            assert seen[0].startswith("READY"), seen
            if run % 2:
                # Kill right after the process announced its n-th put: lands inside puts.
                target = rng.randrange(1, 8)
                while target:
                    seen.append(proc.stdout.readline().decode())
                    assert seen[-1], f"run {run} ended early: {seen}"
                    target -= seen[-1].startswith("PUT ")
                proc.send_signal(signal.SIGKILL)
            else:
                try:
                    proc.wait(timeout=rng.uniform(0, 0.12))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            assert proc.returncode == -signal.SIGKILL, f"run {run} ended by itself"
            lines = complete_lines(seen, proc.stdout.read().decode())[1:]
            proc.stdout.close()
            for line in lines:
                if line.startswith("ACK "):
                    acked.add(int(line.split()[1]))
            last = lines[-1].split()[0] if lines else "READY"
            where[{"PUT": "put", "FLUSH": "flush"}.get(last, "between")] += 1
            if leftovers(spool):
                crash_leftovers += 1
            pending_after_kill += committed_files_are_whole(spool)
        final = run_micropython(SCRIPT, str(spool), str(server.port), "0", "0", "final")
        state = json.loads(final.stdout.decode().strip().splitlines()[-1])
        assert state["left"] == 0 and state["failed"] == [], state
        assert state["files"] == ["failed"], state
        assert os.listdir(spool / "failed") == []
        found = server_ids(server)  # also: each stored file is signed right and decodes
        resent = duplicates_answered(server)
    assert acked, "no put was acknowledged"
    missing = sorted(acked - set(found))
    assert not missing, f"acknowledged but never delivered: {missing[:20]}"
    twice = {rid: n for rid, n in found.items() if n > 1}
    assert not twice, f"stored more than once: {twice}"
    unacked = set(found) - acked
    # A put that finished just before the kill may be delivered without its ACK line: at most
    # one such recording per run.
    assert len(unacked) <= RUNS, unacked
    # Where the kills landed depends on the machine's load: reported, not asserted (see the
    # module docstring for the deterministic tests of these cases).
    print(f"power loss: {RUNS} kills {dict(where)}, {len(acked)} acked, {len(found)} stored, "
          f"{crash_leftovers} runs left crash debris, {pending_after_kill} committed files waited "
          f"after a kill, {resent} re-sent after a kill")  # fmt: skip
