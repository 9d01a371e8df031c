"""Studio starts the sampling, end to end: the local server (a real process, which does not
import lib/) plays Studio and the ingestion service; the sim board runs ei_remote in the
micropython interpreter. The server is asked through its Studio-shaped REST API, the board
samples the sim MPU6050 and uploads, and the stored file is decoded here independently.

The board's own HMAC key is deliberately wrong: a valid signature proves it signed with the
request's hmacKey, as the protocol asks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daq import decode, rows
from remoteproc import DEVICE, Board, RemoteServer
from serverproc import TestCA, make_test_ca

XYZ = ["accX", "accY", "accZ"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module", params=["ws+http", "wss+https"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, ca: TestCA
) -> Iterator[RemoteServer]:
    tls = ca if request.param == "wss+https" else None
    with RemoteServer(tmp_path_factory.mktemp("data"), tls=tls) as s:
        yield s


def board_spec(server: RemoteServer, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "url": server.ws_url, "api_key": server.api_key, "hmac_key": "not-the-project-key",
        "port": server.port, "tls": server.scheme == "https", "stop_samples": 1,
        "sensors": [{"name": "Accelerometer", "rows": 500, "rates": [100, 50]}],
    }  # fmt: skip
    if server.tls is not None:
        ca = tmp_path / "ca.der"
        ca.write_bytes(server.tls.ca_der)
        spec["ca"] = str(ca)
    spec.update(extra)
    return spec


def test_studio_starts_sampling_and_the_sample_is_stored(
    server: RemoteServer, tmp_path: Path
) -> None:
    board = Board(tmp_path, board_spec(server, tmp_path))
    try:
        server.wait_connected(board=board)
        device = server.device(DEVICE)
        assert device is not None
        assert device["deviceType"] == "SIM" and device["remoteMgmtMode"] == "ingestion"
        assert device["sensors"] == [
            {"name": "Accelerometer", "maxSampleLengthS": 5, "frequencies": [100, 50]}
        ]
        answer = server.start_sampling(
            label="wave é", lengthMs=1234, intervalMs=20, category="testing",
            sensor="Accelerometer",
        )  # fmt: skip
        assert answer.status == 200, answer.text()
        assert answer.json()["success"] is True
        state = server.wait_done(answer.json()["id"])
        result = board.result()
    finally:
        board.stop()
    assert state["state"] == "finished", state
    assert state["accepted"] is True
    assert {"sampleStarted", "sampleUploading", "sampleFinished"} <= set(state["progress"])
    # over wss + https the websocket is closed for the upload and reopened: one more hello
    sessions = 2 if server.tls is not None else 1
    assert result == {**result, "samples": 1, "stored": 1, "sessions": sessions}
    # ... and the upload's kept-alive connection is closed before it reopens: one TLS session
    # at a time (two do not fit a Pico W's heap)
    assert result["upload_open_at_connect"] == [False] * sessions
    stored = [s for s in server.samples() if s["id"] == state["sample"]["id"]]
    assert len(stored) == 1
    sample = stored[0]
    assert sample["label"] == "wave é" and sample["category"] == "testing"
    assert sample["signature"] == "valid"  # signed with the request's hmacKey
    assert sample["deviceName"] == DEVICE and sample["deviceType"] == "SIM"
    assert abs(sample["rows"] * 20 - 1234) <= 20  # the requested length, within one interval
    obj = decode(server.raw(sample["id"]))
    assert obj["payload"]["interval_ms"] == 20
    assert [s["name"] for s in obj["payload"]["sensors"]] == XYZ
    assert len(rows(obj)) == sample["rows"]
    g = [r[2] for r in rows(obj)]
    assert all(0.89 * 9.80665 < z < 1.11 * 9.80665 for z in g)  # the sim's gravity on Z
    seen = [r for r in server.requests_seen() if r["outcome"] == 200][-1]
    assert seen["path"] == "/api/testing/data"  # the path of the request, as given
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-label"] == "wave%20%C3%A9"
    assert headers["x-file-name"].startswith("wave__.")


def test_an_idle_board_keeps_its_session_with_pings(server: RemoteServer, tmp_path: Path) -> None:
    """The board PINGs the quiet server every 100 ms; every PONG keeps the session (a PONG
    back within the PING's own millisecond included): 8 frames, one session, no reconnect."""
    spec = board_spec(server, tmp_path, stop_samples=1 << 30, stop_frames=8)
    spec["settings"] = {"PING_MS": 100, "PONG_MS": 2000, "POLL_MS": 50}
    board = Board(tmp_path, spec)
    try:
        result = board.result()
    finally:
        board.stop()
    assert result["sessions"] == 1, board.output()
    assert not any("connection lost" in line for line in board.logs())
