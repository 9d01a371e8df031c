"""`make sim EXAMPLE=<name>`: try any example on the simulated board against a local server.

    python tools/sim.py motion                 # or analog, audio, collect, forwarder, remote
    python tools/sim.py motion --boot          # through main.py, as after make deploy MAIN=motion
    EI_SIM_WIFI=wrong_password python tools/sim.py motion      # a fault switch (README)

Starts the local ingestion server (tools/local_server.py) on a free 127.0.0.1 port, writes a
config.py for it (host, port, keys, plain HTTP) into build/sim/ (--work-dir), runs the example
in the micropython interpreter with the sim board (boards/sim: Wi-Fi, clock, sensors), prints
what the server stored, and stops the server. The example's own output streams as it runs.
Examples that never end on a board run a bounded number of rounds here (SIM_CALLS); `remote`
connects to the server's remote management websocket, and this runner plays the person in
Studio: it starts one sample (1 s, label idle) on the listed board, follows it until stored,
then stops the board. The sim's switches (EI_SIM_*) in the environment reach the example.
Exits with the example's status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import deploy  # noqa: E402
import remote as studio  # noqa: E402 (tools/remote.py: Studio's calls, as its CLI makes them)
from local_server import LocalServer  # noqa: E402

# How each example runs on the sim when its main() would never return on a board. The remote
# example serves Studio until STOP_FILE appears in the board's folder (the runner writes it once
# the sample it asked for is stored).
STOP_FILE = "sim-stop"
SIM_CALLS = {
    "forwarder": "main(200)",
    "collect": "main(3)",
    "remote": f"main(lambda: {STOP_FILE!r} in __import__('os').listdir())",
}
REMOTE_SAMPLE = {"label": "idle", "length_ms": 1000, "interval_ms": 10.0}  # what "Studio" asks
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
BOARD_FILES = ("config.py", "main.py", "main.log", "spool", STOP_FILE)


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
        remote = example == "remote"
        settings: dict[str, Any] = {}
        if remote:  # the board connects to this server's websocket, as to Studio's
            settings = {"REMOTE_URL": f"ws://127.0.0.1:{server.remote_port}", "REMOTE_ROWS": 200}
        config = write_config(work_dir, server, **settings)
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
        if remote:
            board = subprocess.Popen(cmd, cwd=work_dir, env=board_env(work_dir))
            rc = studio_takes_a_sample(server, board, work_dir, boot, timeout)
        else:
            try:
                rc = subprocess.run(
                    cmd, cwd=work_dir, env=board_env(work_dir), timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                print(
                    f"sim: {example} still running after {timeout:.0f} s: stopped", file=sys.stderr
                )
                rc = 124
        samples = server.samples()
    print()
    print_stored(samples)
    print("sim: the server has stopped")
    if rc != 0:
        print(f"sim: {example} stopped with an error (exit {rc})", file=sys.stderr)
    return rc


def wait_for_device(api: studio.Api, board: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The deviceId of the first connected device, once the board has said hello."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and board.poll() is None:
        for device in api.call("GET", "/devices")["devices"]:
            if device["remote_mgmt_connected"]:
                return str(device["deviceId"])
        time.sleep(0.2)
    return None


def studio_takes_a_sample(
    server: LocalServer, board: subprocess.Popen[bytes], work_dir: Path, boot: bool, timeout: float
) -> int:
    """What a person does in Studio: wait for the board in the device list, click "Start
    sampling" (1 s, label idle, 100 Hz), follow the request until its upload is stored. Then
    the board is stopped: STOP_FILE, or Ctrl-C through main.py. The board's exit status, or 1
    if the sample did not arrive."""
    api = studio.Api(f"http://127.0.0.1:{server.port}", server.api_key, None, "1")
    done = False
    try:
        device = wait_for_device(api, board, timeout)
        if device is None:
            print("sim: the board never connected to remote management", file=sys.stderr)
        else:
            print(f"sim: Studio lists {device}; starting sampling", flush=True)
            ask = argparse.Namespace(
                device=device, sensor=None, category="training", no_wait=False,
                timeout=timeout, frequency=None, **REMOTE_SAMPLE,
            )  # fmt: skip
            done = studio.sample(api, ask) == 0
    except studio.ApiError as exc:
        print(f"sim: {exc}", file=sys.stderr)
    finally:
        if boot:
            board.send_signal(signal.SIGINT)  # main.py: "stopped by Ctrl-C"
        else:
            (work_dir / STOP_FILE).touch()
        try:
            rc = board.wait(60)
        except subprocess.TimeoutExpired:
            board.kill()
            rc = board.wait()
            print("sim: the board did not stop within 60 s", file=sys.stderr)
    return rc if rc != 0 or done else 1


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
