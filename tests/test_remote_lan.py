"""Issue 20 for remote management: the local server bound to a LAN address (0.0.0.0).

Studio's REST routes (/v1) and the websocket want the key whoever seems to ask (forged
X-Forwarded-For / Forwarded headers claiming loopback change nothing), and wrong keys sent in a
websocket hello spend the same per-address budget as wrong keys on the HTTP routes: a guesser
is answered 429 before the upgrade, and on HTTP too. The budget's peer must not be loopback
(loopback is never slowed down), so that test connects through this computer's LAN address.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from remoteproc import RemoteServer

FORGED = {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1", "X-Real-IP": "127.0.0.1"}
WRONG_KEY = "ei_" + "0" * 64
REFILL_S = 6.0  # the server's failed-key budget: one try back every 6 s, 10 in hand
STUDIO_ROUTES = [
    ("GET", "/v1/api/1/devices"),
    ("GET", "/v1/api/1/device/aa:bb"),
    ("POST", "/v1/api/1/device/aa:bb/start-sampling"),
    ("GET", "/v1/api/1/sampling/1"),
]


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    base = tmp_path_factory.mktemp("lan")
    with RemoteServer(base / "data", api_key=None, host="0.0.0.0", enable_faults=False) as s:
        yield s


def hello(api_key: str | None) -> dict[str, Any]:
    h: dict[str, Any] = {"version": 3, "deviceId": "aa:bb", "deviceType": "TEST",
                         "connection": "ip", "sensors": []}  # fmt: skip
    if api_key is not None:
        h["apiKey"] = api_key
    return {"hello": h}


async def say_hello(url: str, api_key: str | None) -> tuple[Any, Any]:
    """(the server's answer to the hello, how the socket ended or "open")."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, autoping=False, headers=FORGED) as ws:
            await ws.send_str(json.dumps(hello(api_key)))
            msg = await ws.receive(timeout=10)
            answer = json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else msg.type
            if isinstance(answer, dict) and answer.get("hello") is True:
                return answer, "open"
            end = await ws.receive(timeout=10)
            return answer, (end.type, end.data)  # the code sent (ws.close_code can be our own 1006)


@pytest.mark.parametrize(("method", "path"), STUDIO_ROUTES)
def test_studio_routes_want_the_key(lan: RemoteServer, method: str, path: str) -> None:
    body = json.dumps({"label": "x", "lengthMs": 100, "category": "training", "intervalMs": 10})
    raw = body.encode() if method == "POST" else b""
    for key in (False, WRONG_KEY):
        refused = lan.request(method, path, raw, dict(FORGED), api_key=key)
        assert refused.status == 401, refused.text()
        assert refused.json() == {"success": False, "error": "Missing or invalid x-api-key header"}
    if path.endswith("/devices"):
        assert lan.request(method, path, headers=dict(FORGED)).status == 200


def test_the_websocket_wants_the_key_in_hello(lan: RemoteServer) -> None:
    closed = (aiohttp.WSMsgType.CLOSE, 1008)
    refused = {"hello": False, "err": "Invalid API key"}
    assert asyncio.run(say_hello(lan.ws_url, None)) == (refused, closed)
    assert asyncio.run(say_hello(lan.ws_url, WRONG_KEY)) == (refused, closed)
    answer, state = asyncio.run(say_hello(lan.ws_url, lan.api_key))
    assert answer["hello"] is True and state == "open"


def lan_address(server: RemoteServer) -> str:
    hints = re.findall(r'for a board, config.py: HOST = "([^"]+)"', server.log_text())
    if not hints:
        pytest.skip("this computer has no LAN address to connect from (only loopback)")
    return str(hints[0])


async def handshake_status(url: str, api_key: str) -> int | dict[str, Any]:
    """The hello's answer, or the HTTP status that refused the upgrade."""
    try:
        answer, _ = await say_hello(url, api_key)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status
    return answer  # type: ignore[no-any-return]


def test_wrong_keys_over_the_websocket_spend_the_shared_budget(tmp_path: Path) -> None:
    with RemoteServer(
        tmp_path / "data", api_key=None, host="0.0.0.0", enable_faults=False
    ) as server:
        host = lan_address(server)
        url = f"ws://{host}:{server.ws_port}"
        answers = [asyncio.run(handshake_status(url, WRONG_KEY)) for _ in range(10)]
        assert all(a == {"hello": False, "err": "Invalid API key"} for a in answers), answers
        # Spent: the next tries are held back before the upgrade. Each try the budget lets
        # through spends what was earned back, so one comes well within 10 more.
        for _ in range(10):
            held = asyncio.run(handshake_status(url, WRONG_KEY))
            if held == 429:
                break
        assert held == 429
        held_at = time.monotonic()
        conn = http.client.HTTPConnection(host, server.port, timeout=15)
        conn.request("GET", "/api/samples", headers={"x-api-key": server.api_key})
        samples = conn.getresponse()
        conn.close()
        if samples.status != 429:  # only a machine too slow to ask within one refill period
            assert time.monotonic() - held_at >= REFILL_S, samples.status
        assert "too many failed keys from " + host in server.log_text()
        # loopback is never slowed down: the person at this computer still gets in
        answer, state = asyncio.run(say_hello(server.ws_url, server.api_key))
        assert answer["hello"] is True and state == "open"
        assert server.api_key not in server.log_text()
