"""The board's remote management against a strict websocket peer (tests/strictws.py: raw
sockets, every client frame must be masked) that plays the service and injects faults; uploads
go to the real local ingestion server. The sim board runs lib/ in the micropython interpreter.

Waits are bounded by a guard only; no assertion depends on how long anything took."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import refusing_port
from remoteproc import DEVICE, Board
from serverproc import ServerProc
from strictws import Conn, StrictWsServer

FAST = {"BACKOFF_MS": 50, "BACKOFF_MAX_MS": 100, "POLL_MS": 50}


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    with ServerProc(tmp_path_factory.mktemp("data")) as s:
        yield s


def spec(ws: StrictWsServer, ingest: ServerProc, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": ws.url, "api_key": ingest.api_key, "hmac_key": ingest.hmac_key,
        "port": ingest.port, "settings": dict(FAST),
        "sensors": [{"name": "Accelerometer", "rows": 300, "rates": [100, 50]}],
    }  # fmt: skip
    out.update(extra)
    return out


def request(label: str = "idle", length: float = 300, interval: float = 10, **kw: Any) -> dict:
    sample = {"label": label, "length": length, "interval": interval,
              "path": "/api/training/data", "sensor": "Accelerometer"}  # fmt: skip
    sample.update(kw)
    return {"sample": sample}


def hello_ok(conn: Conn, seen: list[dict[str, Any]]) -> None:
    hello = conn.json()
    seen.append(hello)
    conn.text({"hello": True})


def until_done(conn: Conn) -> list[dict[str, Any]]:
    """Messages up to sampleFinished or sample:false."""
    got = []
    while True:
        msg = conn.json()
        got.append(msg)
        if msg.get("sampleFinished") or msg.get("sample") is False:
            return got


def run_board(tmp_path: Path, board_spec: dict[str, Any], name: str = "board") -> dict[str, Any]:
    board = Board(tmp_path, board_spec, name)
    try:
        return board.result()
    finally:
        board.stop()


def test_a_whole_session_every_frame_masked(tmp_path: Path, ingest: ServerProc) -> None:
    hellos: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    pongs: list[bytes] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, hellos)
        conn.send(9, b"are you there")
        conn.text({"startSnapshot": True, "resolution": "low"})
        answers.append(conn.json())
        pongs.extend(f.payload for f in conn.frames if f.opcode == 10)
        conn.text(request("idle", 500, 20))
        answers.extend(until_done(conn))
        conn.close(1000)

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=1))
    assert ws.violations == [] and ws.errors == []
    assert all(f.masked for c in ws.conns for f in c.frames) and ws.conns[0].frames
    hello = hellos[0]["hello"]
    assert hello["version"] == 3 and hello["apiKey"] == ingest.api_key
    assert hello["deviceId"] == DEVICE and hello["deviceType"] == "SIM"
    assert hello["connection"] == "ip" and hello["supportsSnapshotStreaming"] is False
    assert hello["sensors"] == [{"name": "Accelerometer", "maxSampleLengthS": 3,
                                 "frequencies": [100, 50]}]  # fmt: skip
    assert pongs == [b"are you there"]
    assert answers[0] == {
        "snapshotFailed": True, "error": "Device does not support snapshot streaming"
    }  # fmt: skip
    assert answers[1:] == [{"sample": True}, {"sampleStarted": True},
                           {"sampleUploading": True}, {"sampleFinished": True}]  # fmt: skip
    assert result["stored"] == 1
    sample = ingest.samples()[-1]
    assert sample["label"] == "idle" and sample["rows"] == 25 and sample["signature"] == "valid"


def test_server_drops_the_socket_board_reconnects_and_says_hello_again(
    tmp_path: Path, ingest: ServerProc
) -> None:
    hellos: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, hellos)
        if len(hellos) == 1:
            conn.drop()  # mid-session, no close frame
            return
        conn.text(request("after-drop"))
        answers.extend(until_done(conn))

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=1))
    assert ws.violations == [] and ws.connections == 2 and len(hellos) == 2
    assert hellos[0] == hellos[1]
    assert result["sessions"] == 2 and result["stored"] == 1
    assert answers[-1] == {"sampleFinished": True}
    assert any("connection lost" in line for line in Board_logs(tmp_path))


def Board_logs(tmp_path: Path, name: str = "board") -> list[str]:  # noqa: N802
    out = (tmp_path / f"{name}.out").read_text()  # the board's output file
    return [json.loads(x)["log"] for x in out.splitlines() if x.startswith('{"log"')]


def test_refused_hello_stops_with_an_error_naming_the_key(
    tmp_path: Path, ingest: ServerProc
) -> None:
    def script(conn: Conn) -> None:
        conn.json()
        conn.text({"hello": False, "err": "Invalid API key"})
        conn.close(1008)

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_failures=3, record_delays=True))
    assert result["error"] == "RemoteRefused"
    assert "Invalid API key" in result["text"] and "API_KEY" in result["text"]
    assert ingest.api_key not in (tmp_path / "board.out").read_text()
    assert ws.connections == 1 and result["delays"] == []  # no retry at all


@pytest.mark.parametrize(
    "req, why",
    [
        (request(sensor="Gyroscope"), "unknown sensor 'Gyroscope': this device has Accelerometer"),
        (request(length=4000), "length 4000 ms is 400 rows at 10 ms: Accelerometer holds 1 to 300"),
        (request(interval=7), "interval 7 ms is not a rate Accelerometer samples at (100, 50 Hz)"),
        (request(interval=0), "interval must be a number > 0, not 0"),
        (request(length="1s"), "length must be a number > 0, not '1s'"),
        (request(path="/api/nope/data"), "category must be one of"),
        (request(path="/v1/upload"), "path must be /api/<category>/files or /data"),
    ],
)
def test_requests_the_board_cannot_do_are_refused_with_the_reason(
    tmp_path: Path, ingest: ServerProc, req: dict[str, Any], why: str
) -> None:
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        conn.text(req)
        answers.append(conn.json())
        conn.close()

    before = len(ingest.samples())
    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=1))
    assert answers[0]["sample"] is False and why in answers[0]["error"], answers
    assert result["stored"] == 0 and len(ingest.samples()) == before


def test_upload_refused_goes_to_the_spool_and_is_sent_later(
    tmp_path: Path, ingest: ServerProc
) -> None:
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        conn.text(request("spooled"))
        answers.extend(until_done(conn))
        while True:  # stay connected while the board flushes its spool
            conn.message()

    ingest.set_fault(status=503, count=1)
    try:
        with StrictWsServer(script) as ws:
            board_spec = spec(ws, ingest, stop_samples=1, drain_spool=True,
                              spool=str(tmp_path / "spool"))  # fmt: skip
            board_spec["settings"]["FLUSH_MS"] = 100
            result = run_board(tmp_path, board_spec)
    finally:
        ingest.clear_faults()
    error = answers[-1]["error"]
    assert answers[-1]["sample"] is False
    assert "upload failed: HTTP 503" in error and "kept in the spool as file 1" in error
    assert result["spooled"] == 0  # flushed while idle
    stored = [s for s in ingest.samples() if s["label"] == "spooled"]
    assert len(stored) == 1 and stored[0]["rows"] == 30 and stored[0]["signature"] == "valid"


def test_upload_unreachable_is_kept_in_the_spool(tmp_path: Path, ingest: ServerProc) -> None:
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        conn.text(request("offline"))
        answers.extend(until_done(conn))
        conn.close()

    with StrictWsServer(script) as ws, refusing_port() as port:
        board_spec = spec(ws, ingest, stop_samples=1, spool=str(tmp_path / "spool"))
        board_spec["port"] = port  # nothing listens there
        result = run_board(tmp_path, board_spec)
    error = answers[-1]["error"]
    assert "upload failed" in error and "connection refused" in error
    assert "kept in the spool as file 1, sent when the service answers" in error
    assert result["spooled"] == 1 and result["stored"] == 0
    assert sorted(p.name for p in (tmp_path / "spool").iterdir()) == [
        "00000001.cbor", "00000001.m", "failed"
    ]  # fmt: skip


def test_fragmented_request_with_a_ping_between_the_fragments(
    tmp_path: Path, ingest: ServerProc
) -> None:
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        raw = json.dumps(request("fragments")).encode()
        conn.send(1, raw[:10], fin=False)
        conn.send(9, b"mid")  # control frames may come between fragments
        conn.send(0, raw[10:40], fin=False)
        conn.send(0, raw[40:], fin=True)
        answers.extend(until_done(conn))
        conn.close()

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=1))
    assert ws.violations == []
    assert [f.payload for f in ws.conns[0].frames if f.opcode == 10] == [b"mid"]
    assert answers[-1] == {"sampleFinished": True} and result["stored"] == 1


@pytest.mark.parametrize("size", [513, 70000, 1 << 33])
def test_oversized_frame_closes_with_1009_and_the_board_reconnects(
    tmp_path: Path, ingest: ServerProc, size: int
) -> None:
    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        if ws.connections == 1:
            if size < 1 << 32:
                conn.send(1, b"x" * size)
            else:  # a 64-bit length, and no payload: the board must not try to read it
                conn.sock.sendall(bytes([0x81, 127]) + size.to_bytes(8, "big"))
            conn.message()  # the board's close frame

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_sessions=2))
    assert ws.close_codes[0] == 1009 and ws.connections == 2 and result["sessions"] == 2
    assert any("over" in line and "1009" in line for line in Board_logs(tmp_path))


def test_a_message_of_exactly_max_message_bytes_is_served(
    tmp_path: Path, ingest: ServerProc
) -> None:
    answers: list[dict[str, Any]] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        raw = json.dumps(request("full")).encode()
        conn.send(1, raw + b" " * (512 - len(raw)))  # 512 bytes: the board's default bound
        answers.extend(until_done(conn))
        conn.close()

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=1))
    assert answers[-1] == {"sampleFinished": True} and result["stored"] == 1
    assert ws.violations == [] and ws.connections == 1


@pytest.mark.parametrize(
    "frame, why",
    [
        (bytes([0x81, 0x82, 1, 2, 3, 4, 0x7A, 0x59]), "masked"),  # servers must not mask
        (bytes([0xC1, 0x01, 0x78]), "RSV"),  # no extension was agreed
        (bytes([0x83, 0x00]), "opcode 3"),
        (bytes([0x80, 0x01, 0x78]), "continuation"),
        (bytes([0x09, 0x00]), "control"),  # a fragmented PING
    ],
)
def test_protocol_errors_close_with_1002(
    tmp_path: Path, ingest: ServerProc, frame: bytes, why: str
) -> None:
    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        if ws.connections == 1:
            conn.sock.sendall(frame)
            conn.message()

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_sessions=2))
    assert ws.close_codes[0] == 1002 and result["sessions"] == 2
    assert any(why in line for line in Board_logs(tmp_path)), Board_logs(tmp_path)


def test_frames_that_arrive_while_sampling_wait_their_turn(
    tmp_path: Path, ingest: ServerProc
) -> None:
    order: list[Any] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        conn.text(request("first", 1000, 10))
        assert conn.json() == {"sample": True}
        assert conn.json() == {"sampleStarted": True}
        conn.send(9, b"while sampling")  # sent while the board samples
        conn.text(request("second", 200, 20))
        while len([m for m in order if m == {"sampleFinished": True}]) < 2:
            f = conn.frame()
            order.append("pong" if f.opcode == 10 else json.loads(f.payload))
        conn.close()

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_samples=2))
    assert ws.violations == []
    assert order == [{"sampleUploading": True}, {"sampleFinished": True}, "pong",
                     {"sample": True}, {"sampleStarted": True}, {"sampleUploading": True},
                     {"sampleFinished": True}]  # fmt: skip
    assert result["stored"] == 2
    first = [s for s in ingest.samples() if s["label"] == "first"][-1]
    assert first["rows"] == 100  # the frames did not cut the sampling short


def test_wrong_accept_key_is_refused_and_retried_with_backoff(
    tmp_path: Path, ingest: ServerProc
) -> None:
    with StrictWsServer(lambda conn: None, accept=b"d3JvbmcgYWNjZXB0IGtleSE=") as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_failures=3, record_delays=True))
    assert ws.connections == 3 and result["sessions"] == 0
    assert len(result["delays"]) == 3
    assert all("Sec-WebSocket-Accept" in x for x in Board_logs(tmp_path) if "lost" in x)


def test_a_server_that_never_answers_pings_is_dropped(tmp_path: Path, ingest: ServerProc) -> None:
    pings = []

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        if ws.connections == 1:
            while True:  # read, never answer
                pings.append(conn.frame().opcode)
        while True:
            conn.message()  # the second connection answers PINGs

    with StrictWsServer(script) as ws:
        board_spec = spec(ws, ingest, stop_sessions=2)
        board_spec["settings"].update(PING_MS=200, PONG_MS=300)
        result = run_board(tmp_path, board_spec)
    assert pings and set(pings) == {9} and result["sessions"] == 2
    assert any("no answer to a PING in 300 ms" in x for x in Board_logs(tmp_path))


def test_backoff_doubles_with_jitter_up_to_the_cap(tmp_path: Path, ingest: ServerProc) -> None:
    with refusing_port() as port:
        ws_url = f"ws://127.0.0.1:{port}"  # nothing listens: every connect fails
        board_spec = {
            "url": ws_url, "api_key": ingest.api_key, "port": ingest.port, "record_delays": True,
            "stop_failures": 7, "settings": {"BACKOFF_MS": 1000, "BACKOFF_MAX_MS": 5000},
            "sensors": [{"name": "Accelerometer", "rows": 10, "rates": [10]}],
        }  # fmt: skip
        result = run_board(tmp_path, board_spec)
    caps = [1000, 2000, 4000, 5000, 5000, 5000, 5000]
    assert len(result["delays"]) == 7
    for delay, cap in zip(result["delays"], caps, strict=True):
        assert cap // 2 <= delay <= cap, (delay, cap)
    assert len(set(result["delays"][3:])) > 1  # jitter: not in lockstep


def test_board_reads_are_bounded_while_the_socket_is_silent(
    tmp_path: Path, ingest: ServerProc
) -> None:
    """A server that upgrades and then sends half a frame: the board's read times out (its
    socket timeout) and it reconnects, instead of hanging."""
    done = threading.Event()

    def script(conn: Conn) -> None:
        hello_ok(conn, [])
        if ws.connections == 1:
            conn.sock.sendall(bytes([0x81, 10]) + b"half")
            done.wait(30)

    with StrictWsServer(script) as ws:
        result = run_board(tmp_path, spec(ws, ingest, stop_sessions=2))
        done.set()
    assert result["sessions"] == 2
    assert any("timed out" in x for x in Board_logs(tmp_path)), Board_logs(tmp_path)


def test_upload_alone_closes_the_websocket_and_reports_after_the_next_hello(
    tmp_path: Path, ingest: ServerProc
) -> None:
    """What wss + https does by default (one TLS session at a time), forced here on ws."""
    seen: list[Any] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, seen)
        if len(seen) == 1:
            conn.text(request("alone"))
            while True:
                seen.append(conn.json())  # ends with the board's close frame (Closed)
        seen.append(conn.json())

    with StrictWsServer(script) as ws:
        board_spec = spec(ws, ingest, stop_samples=1)
        board_spec["settings"]["UPLOAD_ALONE"] = True
        result = run_board(tmp_path, board_spec)
    assert ws.violations == [] and ws.connections == 2 and ws.close_codes == [1000]
    hello = seen[0]
    assert seen[1:] == [{"sample": True}, {"sampleStarted": True}, {"sampleUploading": True},
                        hello, {"sampleFinished": True}]  # fmt: skip
    assert result["stored"] == 1 and result["sessions"] == 2


def test_a_link_lost_during_the_upload_gets_its_last_word_after_reconnecting(
    tmp_path: Path, ingest: ServerProc
) -> None:
    seen: list[Any] = []

    def script(conn: Conn) -> None:
        hello_ok(conn, seen)
        if len(seen) == 1:
            conn.text(request("lost-link"))
            while seen[-1] != {"sampleUploading": True}:
                seen.append(conn.json())
            conn.drop(reset=True)  # while the board uploads: its next write fails
            return
        seen.append(conn.json())

    ingest.set_fault(stall_seconds=1, count=1)  # the upload outlasts the drop by far
    try:
        with StrictWsServer(script) as ws:
            result = run_board(tmp_path, spec(ws, ingest, stop_sessions=2))
    finally:
        ingest.clear_faults()
    assert ws.connections == 2 and result["stored"] == 1 and result["sessions"] == 2
    assert seen[-2]["hello"]["deviceId"] == DEVICE and seen[-1] == {"sampleFinished": True}


def test_a_slow_spool_flush_is_not_taken_for_a_dead_link(
    tmp_path: Path, ingest: ServerProc
) -> None:
    """PING_MS and FLUSH_MS equal: the board PINGs, then flushes a spooled sample in the same
    round while the upload stalls for longer than PONG_MS. The PONG waits unread in the socket
    and is read before the link is judged: no dead link."""
    spool = str(tmp_path / "spool")

    def offline(conn: Conn) -> None:
        hello_ok(conn, [])
        conn.text(request("slow-flush"))
        until_done(conn)
        conn.close()

    with StrictWsServer(offline) as ws, refusing_port() as port:
        first = spec(ws, ingest, stop_samples=1, spool=spool)  # 1: the upload cannot connect:
        first["port"] = port  # the spool keeps it
        assert run_board(tmp_path, first)["spooled"] == 1

    def quiet(conn: Conn) -> None:
        hello_ok(conn, [])
        while True:
            conn.message()  # answers every PING, says nothing else

    ingest.set_fault(stall_seconds=1, count=1)
    try:
        with StrictWsServer(quiet) as ws:  # 2: the flush
            second = spec(ws, ingest, stop_samples=0, drain_spool=True, spool=spool)
            second["settings"].update(FLUSH_MS=100, PING_MS=100, PONG_MS=300)
            result = run_board(tmp_path, second, "board2")
    finally:
        ingest.clear_faults()
    logs = Board_logs(tmp_path, "board2")
    assert result["spooled"] == 0 and result["sessions"] == 1, logs
    assert not any("no answer to a PING" in x for x in logs)
    assert [s["label"] for s in ingest.samples()].count("slow-flush") == 1
