"""`make sim EXAMPLE=<name>` (tools/sim.py): any example on the simulated board against a local
ingestion server that the command starts on a free port and stops again; the config.py it
writes; what it prints; the sim's fault switches passed through."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from harness import ROOT

SIM = [sys.executable, str(ROOT / "tools" / "sim.py")]


def sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, **(env or {})),
    )  # fmt: skip


def server_port(out: str) -> int:
    m = re.search(r"^sim: local ingestion server on http://127\.0\.0\.1:(\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def table(out: str) -> list[list[str]]:
    """The rows of the stored-files table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("stored file"))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("sim:"):
            break
        rows.append(line.split())
    return rows


def assert_stopped(port: int) -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


def test_make_sim_runs_an_example_and_stops_the_server(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["make", "--no-print-directory", "sim", "EXAMPLE=analog", f"SIM_DIR={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    port = server_port(proc.stdout)
    name = re.search(r"^analog: 200 rows \(\d+ late\) uploaded as (\S+)$", proc.stdout, re.M)
    assert name, proc.stdout
    assert table(proc.stdout) == [[name.group(1), "idle", "training", "200", "valid"]]
    assert proc.stdout.rstrip().endswith("sim: the server has stopped")
    assert_stopped(port)
    # The config it wrote: this server, plain HTTP, a key for it (never printed).
    config = {
        t.id: ast.literal_eval(n.value)
        for n in ast.parse((tmp_path / "config.py").read_text()).body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    assert (config["HOST"], config["PORT"], config["TLS"]) == ("127.0.0.1", port, False)
    assert config["API_KEY"].startswith("ei_") and config["API_KEY"] not in proc.stdout
    assert config["HMAC_KEY"] not in proc.stdout


@pytest.mark.parametrize(
    ("example", "stored", "line"),
    [
        ("motion", 1, r"motion: 200 rows \(\d+ late\) uploaded as "),
        ("audio", 1, r"audio: 16000 samples at 16000 Hz uploaded as "),
        ("collect", 3, r"collect: recording 3 stored as 3"),
        ("forwarder", 0, r"-?\d+\.\d+(,-?\d+\.\d+){5}$"),
    ],
)
def test_every_example(tmp_path: Path, example: str, stored: int, line: str) -> None:
    proc = sim(example, "--work-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(line, proc.stdout, re.M), proc.stdout
    rows = table(proc.stdout) if stored else []
    assert len(rows) == stored and all(r[-1] == "valid" for r in rows)
    if not stored:
        assert "the server stored nothing" in proc.stdout
    if example == "forwarder":  # a bounded run here; on a board it streams until reset
        assert len(re.findall(line, proc.stdout, re.M)) == 200
    assert_stopped(server_port(proc.stdout))


def test_a_fresh_board_each_run(tmp_path: Path) -> None:
    """A spool left by an earlier run was signed with that run's key: it is cleared first."""
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "00000001.cbor").write_bytes(b"\xa0")
    (tmp_path / "main.log").write_text("old\n")
    proc = sim("collect", "--work-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert "collect: 0 recordings waiting from before the reset" in proc.stdout
    assert len(table(proc.stdout)) == 3 and not (tmp_path / "main.log").exists()


def test_fault_switch_reaches_the_board(tmp_path: Path) -> None:
    proc = sim("motion", "--work-dir", str(tmp_path), env={"EI_SIM_WIFI": "wrong_password"})
    assert proc.returncode == 1
    assert "WifiError: wrong Wi-Fi password for 'sim-lab'" in proc.stdout
    assert "the server stored nothing" in proc.stdout
    assert "sim: motion stopped with an error (exit 1)" in proc.stderr
    assert_stopped(server_port(proc.stdout))


def test_boot_runs_it_through_main_py(tmp_path: Path) -> None:
    proc = sim("motion", "--boot", "--boot-delay-ms", "100", "--work-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert "main.py: motion.main() in 100 ms; Ctrl-C or hold BOOT for the REPL" in proc.stdout
    assert len(table(proc.stdout)) == 1
    assert 'EXAMPLE = "motion"' in (tmp_path / "main.py").read_text()


def test_unknown_example_lists_the_others(tmp_path: Path) -> None:
    proc = sim("nope", "--work-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "no example 'nope'" in proc.stderr
    assert "analog, audio, collect, forwarder, motion" in proc.stderr
    assert "local ingestion server" not in proc.stdout  # checked before anything starts


@pytest.mark.parametrize("boot", [False, True])
def test_make_sim_remote_plays_studio(tmp_path: Path, boot: bool) -> None:
    """The board connects to the server's websocket; the runner, as the person in Studio,
    starts a 1 s sample on the listed device; the board records and uploads it, is stopped
    (a stop file, or Ctrl-C through main.py) and the server with it."""
    args = ["remote", "--work-dir", str(tmp_path)] + (["--boot", "--boot-delay-ms", "0"] * boot)
    proc = sim(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^sim: Studio lists 02:e1:5a:00:00:01; starting sampling$", out, re.M), out
    stored = re.search(r"^stored as (idle\.\w+\.cbor) \(sample 1, 100 rows, signature valid\)$",
                       out, re.M)  # fmt: skip
    assert stored, out
    assert table(out) == [[stored.group(1), "idle", "training", "100", "valid"]]
    if boot:
        assert "main.py: remote stopped by Ctrl-C" in out
    assert_stopped(server_port(out))
