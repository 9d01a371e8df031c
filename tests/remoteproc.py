"""Remote management test helpers: the local server with its websocket, and the sim board.

``RemoteServer(data_dir, **ServerProc options)``: a :class:`serverproc.ServerProc` that also
reads the remote management port from the server's log (``ws_port``, ``ws_url``) and calls
the Studio-shaped API: ``devices()``, ``start_sampling(device_id, **body) -> HttpResult``,
``state(request_id)``, ``wait_connected(device_id, sessions_before=None)`` and
``wait_done(request_id)`` (polls until finished or failed; the deadline is only a guard).

``Board(tmp_path, spec)``: tests/scenarios/remote_board.py in the micropython interpreter as a
background process (``MICROPYPATH=lib:boards/sim:.frozen``); ``result()`` waits for it and
returns its last JSON line, ``logs()`` the library's log messages, ``stop()`` ends it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from harness import MICROPYPATH, ROOT, SCENARIOS, micropython_path
from serverproc import HttpResult, ServerProc

REMOTE = re.compile(r"remote management listening on (wss?)://[^\s:]+:(\d+)")
DEVICE = "02:e1:5a:00:00:01"  # the sim board's station MAC (ei_net.mac())
GUARD_S = 60.0  # waits end early as soon as the condition holds; this only stops a hang


class RemoteServer(ServerProc):
    ws_port = 0

    def start(self) -> RemoteServer:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()
        match = REMOTE.search(self.log_path.read_bytes()[offset:].decode(errors="replace"))
        if match is None:
            self.stop()
            raise RuntimeError("the server did not say where remote management listens")
        self.ws_port = int(match.group(2))
        self.ws_url = f"{match.group(1)}://127.0.0.1:{self.ws_port}"
        return self

    def api(self, method: str, path: str, body: Any = None, api_key: Any = True) -> HttpResult:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        return self.request(method, "/v1/api/1" + path, raw, headers, api_key=api_key)

    def devices(self) -> list[dict[str, Any]]:
        result = self.api("GET", "/devices")
        assert result.status == 200, result.text()
        return list(result.json()["devices"])

    def device(self, device_id: str = DEVICE) -> dict[str, Any] | None:
        for d in self.devices():
            if d["deviceId"] == device_id:
                return d
        return None

    def start_sampling(self, device_id: str = DEVICE, **body: Any) -> HttpResult:
        full = {"label": "wave", "lengthMs": 500, "category": "training", "intervalMs": 10}
        full.update(body)
        return self.api("POST", f"/device/{device_id}/start-sampling", full)

    def state(self, request_id: int) -> dict[str, Any]:
        result = self.api("GET", f"/sampling/{request_id}")
        assert result.status == 200, result.text()
        return dict(result.json()["request"])

    def wait_connected(self, device_id: str = DEVICE, board: Board | None = None) -> None:
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            found = self.device(device_id)
            if found and found["remote_mgmt_connected"]:
                return
            if board is not None and board.proc.poll() is not None:
                raise AssertionError(f"the board exited: {board.output()}")
            time.sleep(0.05)
        raise AssertionError(f"{device_id} never connected: {self.log_text()[-2000:]}")

    def wait_done(self, request_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            state = self.state(request_id)
            if state["state"] in ("finished", "failed"):
                return state
            time.sleep(0.05)
        raise AssertionError(f"request {request_id} still open: {self.state(request_id)}")


class Board:
    """The remote-management scenario on the sim board, as a background process."""

    def __init__(self, tmp_path: Path, spec: dict[str, Any], name: str = "board") -> None:
        self.spec_path = tmp_path / f"{name}.json"
        self.spec_path.write_text(json.dumps(spec))
        self.out_path = tmp_path / f"{name}.out"
        env = dict(os.environ, MICROPYPATH=MICROPYPATH)
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                [micropython_path(), str(SCENARIOS / "remote_board.py"), str(self.spec_path)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def logs(self) -> list[str]:
        return [x["log"] for x in self.lines() if "log" in x]

    def result(self, timeout: float = GUARD_S) -> dict[str, Any]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the board did not finish: {self.output()[-3000:]}") from None
        last = self.lines()[-1] if self.lines() else {}
        assert "samples" in last, f"exit {self.proc.returncode}: {self.output()[-3000:]}"
        return last

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
