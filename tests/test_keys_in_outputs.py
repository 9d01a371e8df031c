"""Keys appear in no output and in no file but the config.py that holds them (issue 20).

`make demo`, `make sim` with every example (and once through main.py, as at boot) and the deploy dry
run (with a ROMFS image too) run with recognisable keys: the local server is given them
(tools/local_server.LocalServer's own random keys replaced in a wrapper process, which also keeps
the server's output in a .server.log file), and the temporary folders the tools make are kept
(tempfile.TemporaryDirectory in that process does not delete) so that every file they wrote can be
searched: the server's log and data, the sim board's spool and main.log, the deploy's build. Then
every stdout, stderr and file is searched for each key; the keys may only be in files named
config.py (what a board reads them from). The server and page side (login, listings, export, push,
LAN keys) is in test_server_lan.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import ROOT

API_KEY = "ei_RECOGNISABLE_api_7c1e5b"
HMAC_KEY = "RECOGNISABLE_hmac_0a9d44"
WIFI_PASSWORD = "RECOGNISABLE_wifi_d3f2"
KEYS = (API_KEY, HMAC_KEY, WIFI_PASSWORD)
# The examples proper: the modules of examples/ with a main() (uplink.py is their helper).
EXAMPLES = sorted(
    p.stem for p in (ROOT / "examples").glob("*.py") if "\ndef main(" in p.read_text()
)

# Run a tool's main with LocalServer given the keys and temporary folders kept.
WRAPPER = f"""
import runpy, subprocess, sys, tempfile, types
sys.path.insert(0, {str(ROOT / "tools")!r})
import local_server

_init = local_server.LocalServer.__init__


def _with_keys(self, data_dir, api_key=None, hmac_key=None, extra_args=()):
    _init(self, data_dir, {API_KEY!r}, {HMAC_KEY!r}, extra_args)


class _Kept:
    def __init__(self, suffix=None, prefix=None, dir=None, **kw):
        self.name = tempfile.mkdtemp(suffix, prefix, dir)

    def __enter__(self):
        return self.name

    def __exit__(self, *exc):
        return False


class _Tee:  # the server's output, as LocalServer reads it, also into a .server.log file
    def __init__(self, raw):
        self.raw = raw
        self.log = open(tempfile.mkstemp(suffix=".server.log")[1], "wb", buffering=0)

    def readline(self):
        line = self.raw.readline()
        self.log.write(line)
        return line

    def __iter__(self):
        for line in self.raw:
            self.log.write(line)
            yield line

    def close(self):
        self.raw.close()


def _popen(*args, **kw):
    proc = subprocess.Popen(*args, **kw)
    proc.stdout = _Tee(proc.stdout)
    return proc


local_server.subprocess = types.SimpleNamespace(
    Popen=_popen, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT,
    TimeoutExpired=subprocess.TimeoutExpired,
)
local_server.LocalServer.__init__ = _with_keys
tempfile.TemporaryDirectory = _Kept
tool = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(tool, run_name="__main__")
"""


def run_tool(tmp: Path, tool: str, *args: str, timeout: float = 300) -> bytes:
    """Run tools/<tool> through the wrapper with its temporary files under `tmp`; return what
    it printed (stdout and stderr)."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), EI_SIM_WIFI="ok")
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(ROOT / "tools" / tool), *args],
        cwd=ROOT, env=env, capture_output=True, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, (tool, args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout + proc.stderr


def test_demo_sim_and_deploy_show_no_key(tmp_path: Path) -> None:
    outputs: dict[str, bytes] = {}
    outputs["demo"] = run_tool(tmp_path / "demo", "demo.py")
    for example in EXAMPLES:
        work = tmp_path / f"sim-{example}"
        outputs[f"sim {example}"] = run_tool(
            tmp_path / f"tmp-{example}", "sim.py", example, "--work-dir", str(work)
        )
    outputs["sim motion --boot"] = run_tool(
        tmp_path / "tmp-boot", "sim.py", "motion", "--boot", "--boot-delay-ms", "0",
        "--work-dir", str(tmp_path / "sim-boot"),
    )  # fmt: skip
    config = tmp_path / "user" / "config.py"
    config.parent.mkdir()
    config.write_text(
        f'WIFI_SSID = "lab"\nWIFI_PASSWORD = "{WIFI_PASSWORD}"\nAPI_KEY = "{API_KEY}"\n'
        f'HMAC_KEY = "{HMAC_KEY}"\nHOST = "192.168.1.20"\nPORT = 4810\nTLS = False\n'
    )
    for board, extra in (("esp32", ()), ("pico_w", ("--romfs",))):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "deploy.py"), "deploy", "--board", board,
             "--port", "/dev/ttyACM0", "--dry-run", "--no-ca", "--config", str(config),
             "--build-dir", str(tmp_path / "build"), *extra],
            cwd=ROOT, capture_output=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outputs[f"deploy {board}"] = proc.stdout + proc.stderr

    # The runs did what they say (so the search below looked at real work).
    assert b"4 recordings stored with valid signatures" in outputs["demo"]
    for example in EXAMPLES:
        assert b"signature" in outputs[f"sim {example}"] or example == "forwarder", example
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    logs = [p for p in files if p.name.endswith(".log")]
    assert len(logs) >= len(EXAMPLES) + 2, "the servers' logs were kept"
    assert any(p.suffix == ".mpy" for p in files), "the deploy built the board's files"

    for key in KEYS:
        needle = key.encode()
        shown = [name for name, out in outputs.items() if needle in out]
        assert shown == [], (key, shown)
        holders = [p for p in files if needle in p.read_bytes()]
        assert holders, f"{key}: not even in a config.py (the runs did not use it)"
        leaked = [str(p.relative_to(tmp_path)) for p in holders if p.name != "config.py"]
        assert leaked == [], (key, leaked)
