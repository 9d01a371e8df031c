"""boards/main.py, as `make deploy MAIN=<example>` installs it, booting on the simulated board:
every example runs after the countdown; the BOOT button or Ctrl-C in the countdown skips it and
leaves the REPL; an error is printed and written to main.log, and the board stays at the REPL
instead of resetting into the same error. The example uploads to a real local server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import deploy
import pytest
from harness import ROOT, micropython_path
from serverproc import ServerProc

SECRET = "boot-SECRET-pw"
COUNTDOWN = "main.py: {}.main() in {} ms; Ctrl-C or hold BOOT for the REPL"


def board_dir(server: ServerProc, folder: Path, example: str, delay_ms: int) -> Path:
    """A board's file system: config.py for the server and main.py set to run `example`."""
    folder.joinpath("config.py").write_text(
        f"API_KEY = {server.api_key!r}\nHMAC_KEY = {server.hmac_key!r}\nHOST = '127.0.0.1'\n"
        f"PORT = {server.port}\nTLS = False\nWIFI_SSID = 'lab'\nWIFI_PASSWORD = {SECRET!r}\n"
        "LABEL = 'boot'\nROWS = 10\nAUDIO_ROWS = 800\nSPOOL_DIR = 'spool'\n"
    )
    deploy.render_main(example, folder / "main.py", delay_ms=delay_ms)
    return folder


def boot(folder: Path, **env: str) -> subprocess.Popen[str]:
    """Start the board: micropython runs main.py in the board's directory (main.log lands
    there), with the board's files, the examples, lib/ and the sim on the path."""
    path = [folder, ROOT / "examples", ROOT / "lib", ROOT / "boards" / "sim"]
    full_env = dict(os.environ, MICROPYPATH=":".join(map(str, path)) + ":.frozen", **env)
    return subprocess.Popen(
        [micropython_path(), "main.py"], cwd=folder, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def interrupt_after(proc: subprocess.Popen[str], first: str) -> tuple[int, str]:
    """Wait for a line matching the regular expression `first`, then press Ctrl-C (SIGINT, as
    a terminal does)."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if re.match(first, line):
            break
    else:
        raise AssertionError(f"no line matching {first!r}: {''.join(seen)}")
    proc.send_signal(signal.SIGINT)
    rc, rest = finish(proc)
    return rc, "".join(seen) + rest


def stored(server: ServerProc, out: str, example: str) -> dict[str, object]:
    line = next(x for x in out.splitlines() if x.startswith(f"{example}: "))
    name = line.rsplit(" uploaded as ", 1)[1]
    (sample,) = [s for s in server.samples() if s["fileName"] == name]
    return sample


@pytest.mark.parametrize("example", ["motion", "analog", "audio"])
def test_boot_runs_the_example(server: ServerProc, tmp_path: Path, example: str) -> None:
    rc, out = finish(boot(board_dir(server, tmp_path, example, 200)))
    assert rc == 0, out
    assert out.splitlines()[0] == COUNTDOWN.format(example, 200)
    sample = stored(server, out, example)
    assert sample["label"] == "boot" and sample["signature"] == "valid"
    assert not (tmp_path / "main.log").exists()
    assert SECRET not in out


FORWARDER_LINE = r"-?\d+\.\d+(,-?\d+\.\d+){5}$"  # six numbers for the data forwarder


@pytest.mark.parametrize(
    ("example", "first"), [("forwarder", FORWARDER_LINE), ("collect", r"collect: 1 uploaded")]
)
def test_boot_runs_the_endless_examples(
    server: ServerProc, tmp_path: Path, example: str, first: str
) -> None:
    """forwarder and collect run until the board loses power; Ctrl-C stops them cleanly."""
    rc, out = interrupt_after(boot(board_dir(server, tmp_path, example, 0)), first)
    assert rc == 0, out
    assert out.splitlines()[0] == COUNTDOWN.format(example, 0)
    assert out.splitlines()[-1] == f"main.py: {example} stopped by Ctrl-C"


def test_boot_button_skips_the_example(server: ServerProc, tmp_path: Path) -> None:
    before = len(server.samples())
    rc, out = finish(boot(board_dir(server, tmp_path, "motion", 5000), EI_SIM_HOLD="0"))
    assert rc == 0
    assert out.splitlines() == [
        COUNTDOWN.format("motion", 5000),
        "main.py: motion skipped (the BOOT button is held); the REPL is yours",
    ]
    assert len(server.samples()) == before


def test_ctrl_c_in_the_countdown_skips_the_example(server: ServerProc, tmp_path: Path) -> None:
    before = len(server.samples())
    proc = boot(board_dir(server, tmp_path, "motion", 600_000))
    rc, out = interrupt_after(proc, re.escape(COUNTDOWN.format("motion", 600_000)))
    assert rc == 0
    assert out.splitlines()[-1] == "main.py: motion skipped (Ctrl-C); the REPL is yours"
    assert len(server.samples()) == before


HEAP_LOCKED_CTRL_C = (
    "import micropython\n\n\ndef {}():\n    micropython.heap_lock()\n    raise KeyboardInterrupt\n"
)


def test_ctrl_c_with_the_heap_locked_is_still_reported(server: ServerProc, tmp_path: Path) -> None:
    """The unix port raises Ctrl-C at once, even inside a garbage collection, whose lock then
    stays (a board raises it between bytecodes); a full heap is the same on a board. main.py's
    Ctrl-C messages need no heap: an example and a BOOT button interrupted with it locked."""
    board_dir(server, tmp_path, "locked", 0)
    (tmp_path / "locked.py").write_text(HEAP_LOCKED_CTRL_C.format("main"))
    rc, out = finish(boot(tmp_path))
    assert (rc, out.splitlines()[-1]) == (0, "main.py: locked stopped by Ctrl-C"), out
    board_dir(server, tmp_path, "locked", 5000)
    (tmp_path / "board.py").write_text(HEAP_LOCKED_CTRL_C.format("boot_button"))
    rc, out = finish(boot(tmp_path))
    assert (rc, out.splitlines()[-1]) == (
        0,
        "main.py: locked skipped (Ctrl-C); the REPL is yours",
    ), out


def test_an_error_is_printed_logged_and_not_retried(server: ServerProc, tmp_path: Path) -> None:
    rc, out = finish(boot(board_dir(server, tmp_path, "motion", 0), EI_SIM_WIFI="no_ap"))
    # main.py ends normally: on a board the REPL starts; nothing resets into the same error
    assert rc == 0, out
    lines = out.splitlines()
    assert lines.count(COUNTDOWN.format("motion", 0)) == 1
    assert "main.py: motion.main() failed:" in lines
    assert "WifiError: no Wi-Fi access point found named 'lab' (status -2)" in lines
    assert lines[-1] == "main.py: the REPL is yours (the error is in /main.log); reset to try again"
    assert "ResetCalled" not in out
    log = (tmp_path / "main.log").read_text()
    assert log.startswith("motion.main() failed:\nTraceback")
    assert "WifiError: no Wi-Fi access point found named 'lab'" in log
    assert SECRET not in out + log
