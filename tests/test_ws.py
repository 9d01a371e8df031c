"""ei_ws and ei_remote logic in both runtimes (micropython and CPython run the same scenario),
and heap_lock proof that the websocket's keep-alive path allocates nothing, with a negative
control that does allocate."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from harness import SCENARIOS, run_cpython, run_micropython
from strictws import Conn, StrictWsServer

RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}


@pytest.fixture(scope="module", params=["mpy", "cpy"])
def unit(request: pytest.FixtureRequest) -> dict[str, Any]:
    proc = RUNTIMES[request.param](SCENARIOS / "ws_unit.py")
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def test_urls(unit: dict[str, Any]) -> None:
    urls = unit["urls"]
    assert urls["ws://h"] == [False, "h", 80, "/"]
    assert urls["wss://h.example:8443/p/q?x=1"] == [True, "h.example", 8443, "/p/q?x=1"]
    assert urls["ws://10.0.0.2:4802/"] == [False, "10.0.0.2", 4802, "/"]
    assert urls["http://h"] == "ValueError: url must start with ws:// or wss://, not 'http://h'"
    for bad in ("ws://", "ws://u@h", "wss://[::1]:1"):
        assert urls[bad].startswith("ValueError: url ") and "host name" in urls[bad]
    for bad in ("ws://h:0", "ws://h:65536", "ws://h:x"):
        assert urls[bad].endswith("port must be 1..65535"), urls[bad]
    assert urls["3"].startswith("ValueError: url must be a str")


def test_accept_key_is_rfc_6455s_example(unit: dict[str, Any]) -> None:
    assert unit["accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3


def test_keepalive_with_a_fake_clock_across_the_ticks_wrap(unit: dict[str, Any]) -> None:
    # nothing yet / PING now / waiting for the answer / dead / heard since the PING /
    # 30 s of silence again since then / answered within the PING's own millisecond
    assert unit["keepalive"] == [0, 1, 0, 2, 0, 1, 0]


def test_backoff_grows_to_its_cap_with_jitter(unit: dict[str, Any]) -> None:
    for n, ms in enumerate(unit["backoff"], start=1):
        cap = min(1000 << min(n - 1, 16), 60000)
        assert cap // 2 <= ms <= cap, (n, ms)
    assert len(set(unit["backoff"][8:])) > 1


def test_bad_calls_name_what_is_wrong(unit: dict[str, Any]) -> None:
    bad = unit["bad"]
    assert bad["url"] == "url must start with ws:// or wss://, not 'http://x'"
    assert "api_key" in bad["api_key"] and "device_id" in bad["device_id"]
    assert bad["client"] == "client must be an ei_ingest Client, not 3"
    assert bad["spool"] == "spool must be an ei_spool.Spool or None, not 'spool'"
    assert bad["axes"] == "rec must be a Recording with the 3 axes of the sources"
    assert bad["not_rec"] == "rec must be a Recording with the 3 axes of the sources"
    assert bad["rates"] == "rates must be a number > 0, not 0"
    assert bad["too_fast"].startswith("sensor 'Acc': a read takes ")
    assert bad["serve"].startswith("add_sensor() first")
    assert bad["wss_ca"] == "wss:// needs ca=<DER bytes or file>, or insecure=True"
    assert bad["timeout"].startswith("timeout must be a number of seconds > 0")
    assert bad["max_message"] == "max_message must be an int >= 256 (bytes), not 100"
    assert bad["duplicate"] == "sensor 'Acc' is already added"


def _answer_pings(conn: Conn) -> None:
    while True:
        conn.message()  # answers every PING with a PONG, echoes nothing else


def _echo(conn: Conn) -> None:
    while True:
        opcode, data = conn.message()
        conn.send(opcode, data)


@pytest.mark.parametrize("mode, script, want", [
    ("pings", _answer_pings, {"rounds": 20, "error": None}),
    ("send", _echo, {"rounds": 0, "error": "MemoryError"}),  # negative control
])  # fmt: skip
def test_keepalive_path_allocates_nothing(mode: str, script: Any, want: dict[str, Any]) -> None:
    with StrictWsServer(script) as ws:
        proc = run_micropython(SCENARIOS / "ws_heaplock.py", ws.url, mode, timeout=60)
    assert json.loads(proc.stdout.decode().strip().splitlines()[-1]) == want
    assert ws.violations == []
    assert threading.active_count() >= 1
