"""The upload scenario (tests/scenarios/upload.py) run in either runtime against a server: the
client's and the upload's arguments as JSON in, the scenario's last output line (the stored
name, or the error and its text) back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import SCENARIOS, run_cpython, run_micropython
from serverproc import ServerProc

XYZ = [["accX", "m/s2"], ["accY", "m/s2"], ["accZ", "m/s2"]]


ROWS = [[i * 97 % 2000 - 1000, -i, 32767 - i] for i in range(250)]


RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}


def client_args(server: ServerProc, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        api_key=server.api_key, hmac_key=server.hmac_key, device_type="SIM-BOARD",
        device_name="02:00:00:00:00:01", host="127.0.0.1", port=server.port, tls=False,
        timeout=5,
    )  # fmt: skip
    args.update(kw)
    return args


def upload(
    runtime: str, tmp_path: Path, client: dict[str, Any], upload: dict[str, Any],
    recording: dict[str, Any] | None = None, via_file: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    spec = {
        "client": client,
        "upload": upload,
        "recording": recording or {"sensors": XYZ, "interval_ms": 10, "rows": ROWS},
        "via_file": via_file,
    }
    path = tmp_path / f"upload-{runtime}.json"
    path.write_text(json.dumps(spec))
    proc = RUNTIMES[runtime](SCENARIOS / "upload.py", str(path), timeout=60)
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def find(server: ServerProc, name: str) -> dict[str, Any]:
    matches = [s for s in server.samples() if s["fileName"] == name]
    assert len(matches) == 1, f"{name} stored {len(matches)} times"
    return matches[0]


def client_args_for_port(port: int, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        api_key="ei_x", hmac_key="k", device_type="SIM", host="127.0.0.1", port=port, tls=False,
        timeout=2,
    )  # fmt: skip
    args.update(kw)
    return args
