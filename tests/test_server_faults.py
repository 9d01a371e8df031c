"""Fault injection (--enable-faults): status, close_after_bytes, stall; the request log."""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from harness import VECTORS
from serverproc import ServerProc

VECTOR = (VECTORS / "docs-example-compact.json").read_bytes()


@pytest.fixture
def server(server: ServerProc) -> Iterator[ServerProc]:
    """conftest.py's server (one for the module), with no queued fault and an empty log for
    every test."""
    server.clear_faults()
    server.clear_requests_seen()
    yield server
    server.clear_faults()


def new_samples(server: ServerProc, before: set[int]) -> list[str]:
    """File names of the samples stored since ``before`` (a set of ids) was taken."""
    return [s["fileName"] for s in server.samples() if s["id"] not in before]


def ids(server: ServerProc) -> set[int]:
    return {s["id"] for s in server.samples()}


def unique_body() -> bytes:
    """A valid unsigned file whose hash no other test uses (for duplicate checks)."""
    return json.dumps(
        {
            "protected": {"ver": "v1", "alg": "none"},
            "signature": "00",
            "payload": {
                "device_type": "FAULTS",
                "device_name": uuid.uuid4().hex,
                "interval_ms": 5,
                "sensors": [{"name": "x", "units": "g"}],
                "values": [1, 2, 3],
            },
        }
    ).encode()


def test_log_starts_empty_and_records_without_the_api_key(server: ServerProc) -> None:
    assert server.requests_seen() == []
    assert server.post_data("training", VECTOR, file_name="a.json").status == 200
    assert server.post_data("training", VECTOR, file_name="b.json", api_key=None).status == 401
    seen = server.requests_seen()
    assert [(r["method"], r["path"], r["outcome"]) for r in seen] == [
        ("POST", "/api/training/data", 200),
        ("POST", "/api/training/data", 401),
    ]
    assert seen[0]["bodySize"] == len(VECTOR)
    assert seen[0]["headers"]["x-file-name"] == "a.json"
    assert all(k.lower() != "x-api-key" for r in seen for k in r["headers"])
    server.samples()  # not an upload: not logged
    assert len(server.requests_seen()) == 2
    server.clear_requests_seen()
    assert server.requests_seen() == []


def test_status_fault_answers_the_next_n_uploads(server: ServerProc) -> None:
    before = ids(server)
    server.set_fault(status=500, count=2)
    first = server.post_data("training", VECTOR, file_name="a.json")
    second = server.post_files("training", [("b.json", VECTOR, "application/json")])
    third = server.post_data("training", VECTOR, file_name="c.json")
    assert (first.status, second.status, third.status) == (500, 500, 200)
    assert first.text() == "fault injected: status 500"
    assert first.headers["content-type"].startswith("text/plain")
    assert new_samples(server, before) == ["c.json"]
    assert [r["outcome"] for r in server.requests_seen()] == [500, 500, 200]


def test_status_fault_with_custom_body_and_clear(server: ServerProc) -> None:
    server.set_fault(status=503, body="busy, retry later", count=5)
    result = server.post_data("training", VECTOR, file_name="a.json")
    assert (result.status, result.text()) == (503, "busy, retry later")
    server.clear_faults()
    assert server.post_data("training", VECTOR, file_name="a.json").status == 200


def test_faults_do_not_touch_other_endpoints(server: ServerProc) -> None:
    server.set_fault(status=500, count=1)
    assert server.samples() is not None
    assert server.post_data("training", VECTOR, file_name="a.json").status == 500


def test_close_after_bytes_drops_without_answer(server: ServerProc) -> None:
    before = ids(server)
    server.set_fault(close_after_bytes=100, count=2)
    for _ in range(2):
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            server.post_data("training", VECTOR, file_name="a.json")
    assert server.post_data("training", VECTOR, file_name="after-drop.json").status == 200
    seen = server.requests_seen()
    assert [r["outcome"] for r in seen] == ["dropped", "dropped", 200]
    assert [r["bodySize"] for r in seen] == [100, 100, len(VECTOR)]
    assert new_samples(server, before) == ["after-drop.json"]


def test_close_after_zero_bytes_on_a_raw_socket(server: ServerProc) -> None:
    before = ids(server)
    server.set_fault(close_after_bytes=0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/training/data HTTP/1.1\r\nHost: x\r\nx-api-key: "
            + server.api_key.encode()
            + b"\r\nx-file-name: a.json\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(VECTOR)}\r\n\r\n".encode()
        )
        assert sock.recv(100) == b""  # closed without a byte of answer
    assert server.requests_seen()[0]["outcome"] == "dropped"
    assert new_samples(server, before) == []


def test_stall_delays_the_answer(server: ServerProc) -> None:
    server.set_fault(stall_seconds=1.0, count=1)
    start = time.monotonic()
    result = server.post_data("training", VECTOR, file_name="slow.json")
    assert result.status == 200
    # A lower bound only: load can make the answer later, never earlier.
    assert time.monotonic() - start >= 0.95
    assert server.post_data("training", VECTOR, file_name="fast.json").status == 200
    # count=1: the stall applied to the first upload only (the server's log says which got a
    # fault; a wall-clock upper bound on the second would fail on a loaded machine).
    seen = server.requests_seen()
    assert [r["headers"]["x-file-name"] for r in seen] == ["slow.json", "fast.json"]
    assert seen[0]["fault"] == {"stall_seconds": 1.0}
    assert "fault" not in seen[1]


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 60.0) -> None:
    """Poll `condition` until it holds; the deadline only catches a hang, it is not a timing
    claim, so it is generous enough for any load."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {deadline_s} s waiting for {what}")
        time.sleep(0.05)


def test_stall_outlasting_the_client_still_stores_once_with_dedupe(server: ServerProc) -> None:
    """A client that times out and retries with x-disallow-duplicates gets one stored copy."""
    before = ids(server)
    body = unique_body()
    # The stall is ten times the client's timeout, so the client gives up first however slow
    # the machine.
    server.set_fault(stall_seconds=3, count=1)
    headers = {"x-disallow-duplicates": "1"}
    with pytest.raises(TimeoutError):
        server.request(
            "POST",
            "/api/training/data",
            body,
            {"x-file-name": "retry.json", "Content-Type": "application/json", **headers},
            timeout=0.3,
        )
    # The stalled request is still being handled: wait until the server has finished it (its
    # log entry gets an outcome) instead of sleeping for the stall and hoping that was enough.
    wait_for(lambda: server.requests_seen()[0]["outcome"] is not None, "the stalled upload")
    assert server.requests_seen()[0]["outcome"] == 200
    retry = server.post_data("training", body, file_name="retry.json", headers=headers)
    assert retry.status == 400 and "duplicate" in retry.text()
    assert new_samples(server, before) == ["retry.json"]


def test_faults_queue_in_order(server: ServerProc) -> None:
    server.set_fault(status=429, count=1)
    server.set_fault(status=502, count=1)
    statuses = [server.post_data("training", VECTOR, file_name="q.json").status for _ in range(3)]
    assert statuses == [429, 502, 200]


@pytest.mark.parametrize(
    "spec",
    [
        b"not json",
        b"[]",
        b'{"status": 99}',
        b'{"status": 500, "stall_seconds": 1}',
        b'{"count": 0, "status": 500}',
        b'{"colour": "red"}',
        b'{"stall_seconds": -1}',
    ],
)
def test_bad_fault_specs_are_refused(server: ServerProc, spec: bytes) -> None:
    result = server.request("POST", "/_faults", spec, {"Content-Type": "application/json"})
    assert result.status == 400 and result.text().startswith("fault:")
    assert server.post_data("training", VECTOR, file_name="ok.json").status == 200
