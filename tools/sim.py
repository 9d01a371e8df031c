"""`make sim EXAMPLE=<name>`: try any example on the simulated board against a local server.

    python tools/sim.py motion                 # or analog, audio, collect, forwarder
    python tools/sim.py motion --boot          # through main.py, as after make deploy MAIN=motion
    EI_SIM_WIFI=wrong_password python tools/sim.py motion      # a fault switch (README)

Starts the local ingestion server (tools/local_server.py) on a free 127.0.0.1 port, writes a
config.py for it (host, port, keys, plain HTTP) into build/sim/ (--work-dir), runs the example
in the micropython interpreter with the sim board (boards/sim: Wi-Fi, clock, sensors), prints
what the server stored, and stops the server. The example's own output streams as it runs.
Examples that never end on a board run a bounded number of rounds here (SIM_CALLS). The sim's
switches (EI_SIM_*) in the environment reach the example. Exits with the example's status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import deploy  # noqa: E402
from local_server import LocalServer  # noqa: E402

# How each example runs on the sim when its main() would never return on a board.
SIM_CALLS = {"forwarder": "main(200)", "collect": "main(3)"}
WIFI_SSID = "sim-lab"  # what the sim's access point accepts: any name and password


def micropython() -> str:
    local = Path(sys.executable).parent / "micropython"
    return str(local) if local.exists() else shutil.which("micropython") or "micropython"


def write_config(folder: Path, server: LocalServer, **settings: Any) -> Path:
    """The config.py a user would write for this server: `settings` add to or replace it."""
    values: dict[str, Any] = {
        "WIFI_SSID": WIFI_SSID,
        "WIFI_PASSWORD": "sim-password",
        "API_KEY": server.api_key,
        "HMAC_KEY": server.hmac_key,
        "HOST": "127.0.0.1",
        "PORT": server.port,
        "TLS": False,
        "CA": None,
        "LABEL": "idle",
        "CATEGORY": "training",
    }
    values.update(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.py"
    lines = ["# Written by tools/sim.py for the local server of this run.\n"]
    lines += [f"{name} = {value!r}\n" for name, value in values.items()]
    path.write_text("".join(lines))
    return path


def board_env(device_dir: Path) -> dict[str, str]:
    """The environment of the simulated board: its files (config.py) first, then the
    examples, lib/ and the sim's machine/network/socket modules."""
    path = [device_dir, ROOT / "examples", ROOT / "lib", ROOT / "boards" / "sim"]
    return dict(os.environ, MICROPYPATH=":".join(str(p) for p in path) + ":.frozen")


def print_stored(samples: list[dict[str, Any]]) -> None:
    if not samples:
        print("the server stored nothing")
        return
    print(f"{'stored file':<40} {'label':<8} {'category':<9} {'rows':>6}  signature")
    for s in samples:
        print(
            f"{s['fileName']:<40} {s['label'] or '':<8} {s['category']:<9} {s['rows']:>6}  "
            f"{s['signature']}"
        )


# What a run leaves in the work dir; removed first, so each run starts as a fresh board (a
# spool from an earlier run was signed with that run's key).
BOARD_FILES = ("config.py", "main.py", "main.log", "spool")


def fresh_board(work_dir: Path) -> None:
    for name in BOARD_FILES:
        path = work_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run(
    example: str, work_dir: Path, boot: bool = False, timeout: float = 600,
    boot_delay_ms: int | None = None,
) -> int:  # fmt: skip
    deploy.find_example(example)
    fresh_board(work_dir)
    with (
        tempfile.TemporaryDirectory(prefix="ei-sim-") as tmp,
        LocalServer(Path(tmp) / "data") as server,
    ):
        print(f"sim: local ingestion server on http://127.0.0.1:{server.port}")
        config = write_config(work_dir, server)
        print(f"sim: board files in {deploy._rel(work_dir)} ({config.name} for this server)")
        if boot:
            main_py = deploy.render_main(example, work_dir / "main.py", delay_ms=boot_delay_ms)
            cmd = [micropython(), str(main_py)]
            print(f"sim: booting: main.py runs {example}.main()")
        else:
            call = SIM_CALLS.get(example, "main()")
            cmd = [micropython(), "-c", f"import {example}\n{example}.{call}"]
            print(f"sim: {example}.{call}")
        sys.stdout.flush()
        try:
            rc = subprocess.run(
                cmd, cwd=work_dir, env=board_env(work_dir), timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"sim: {example} still running after {timeout:.0f} s: stopped", file=sys.stderr)
            rc = 124
        samples = server.samples()
    print()
    print_stored(samples)
    print("sim: the server has stopped")
    if rc != 0:
        print(f"sim: {example} stopped with an error (exit {rc})", file=sys.stderr)
    return rc


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("example", help=f"one of: {', '.join(deploy.example_names())}")
    p.add_argument("--boot", action="store_true", help="run it through main.py, as at boot")
    p.add_argument("--boot-delay-ms", type=int, default=None, help="main.py's countdown")
    p.add_argument("--work-dir", type=Path, default=ROOT / "build" / "sim")
    args = p.parse_args(argv)
    try:
        return run(args.example, args.work_dir, args.boot, boot_delay_ms=args.boot_delay_ms)
    except deploy.DeployError as e:
        print(f"sim: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
