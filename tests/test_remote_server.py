"""The local server's remote management side, a real process on loopback, driven by test peers
(aiohttp's websocket client; cbor2 decodes CBOR independently of the server's reader/writer).

Hello v1-v4 in JSON and CBOR answered in kind, the key checked first, keep-alive, bounds, and
Studio's REST calls with the state of each sampling request, which is finished only once the
matching upload was stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import cbor2
import pytest
from remoteproc import RemoteServer
from serverproc import sign_json

SENSORS = [{"name": "Accelerometer", "maxSampleLengthS": 60, "frequencies": [100, 50]}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    """The server's own keep-alive limits (30 s, 75 s): a slow, loaded machine does not close
    the test peers, which do not answer PINGs."""
    with RemoteServer(tmp_path_factory.mktemp("data")) as s:
        yield s


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    """A server that PINGs after 0.5 s of silence and closes after 1.5 s (and waits as long
    for a hello): for the keep-alive test only."""
    args = ["--remote-ping-s", "0.5", "--remote-silent-s", "1.5"]
    with RemoteServer(tmp_path_factory.mktemp("data"), extra_args=args) as s:
        yield s


def hello(server: RemoteServer, version: int = 3, **over: Any) -> dict[str, Any]:
    h: dict[str, Any] = {"version": version, "apiKey": server.api_key, "deviceId": "aa:bb:cc",
                         "deviceType": "TEST", "connection": "ip", "sensors": SENSORS}  # fmt: skip
    if version == 1:
        h["sensors"] = ["Accelerometer"]
    if version >= 3:
        h["supportsSnapshotStreaming"] = False
    if version == 4:
        h["mode"] = "ingestion"
    h.update(over)
    return {"hello": h}


@asynccontextmanager
async def peer(server: RemoteServer, **kw: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    kw.setdefault("autoping", False)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.ws_url, **kw) as ws:
            yield ws


async def say(ws: aiohttp.ClientWebSocketResponse, msg: Any, binary: bool = False) -> Any:
    if binary:
        await ws.send_bytes(cbor2.dumps(msg))
    else:
        await ws.send_str(json.dumps(msg))
    return await answer(ws)


async def answer(ws: aiohttp.ClientWebSocketResponse) -> Any:
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return ("cbor", cbor2.loads(msg.data))
        if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
            continue
        return ("closed", sent_code(ws, msg))


def sent_code(ws: aiohttp.ClientWebSocketResponse, msg: aiohttp.WSMessage) -> int | None:
    """The close code the server sent, or 1006 if the connection ended without a close frame.
    Not ws.close_code after a close frame: aiohttp answers it, and when the server has already
    dropped the connection (it may, once its frame is out) that answer fails and sets 1006."""
    return msg.data if msg.type == aiohttp.WSMsgType.CLOSE else ws.close_code


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@pytest.mark.parametrize("binary", [False, True])
def test_hello_versions_answered_in_kind(server: RemoteServer, version: int, binary: bool) -> None:
    async def go() -> tuple[Any, dict[str, Any] | None]:
        async with peer(server) as ws:
            got = await say(ws, hello(server, version, deviceId=f"v{version}{binary}"), binary)
            return got, server.device(f"v{version}{binary}")

    got, device = asyncio.run(go())
    if binary:
        assert got[0] == "cbor"
        got = got[1]
    assert got["hello"] is True and isinstance(got["serverTimestamp"], int)
    assert device is not None and device["remote_mgmt_connected"] is True
    assert device["helloVersion"] == version
    want = [{"name": "Accelerometer", "maxSampleLengthS": None, "frequencies": []}]
    assert device["sensors"] == (want if version == 1 else SENSORS)


@pytest.mark.parametrize("binary", [False, True])
def test_a_wrong_key_is_refused_before_anything_else(server: RemoteServer, binary: bool) -> None:
    async def go() -> tuple[Any, Any]:
        async with peer(server) as ws:
            bad = hello(server, apiKey="ei_wrong", deviceId="intruder", version=99)
            return await say(ws, bad, binary), await answer(ws)

    refused, closed = asyncio.run(go())
    if binary:
        assert refused[0] == "cbor"
        refused = refused[1]
    # the key is checked first: the bad version is not even looked at
    assert refused == {"hello": False, "err": "Invalid API key"}
    assert closed == ("closed", 1008)
    assert server.device("intruder") is None
    assert "ei_wrong" not in server.log_text()


@pytest.mark.parametrize(
    "first, why",
    [
        ("ping", "the first message must be hello"),
        ({"sample": True}, "the first message must be hello"),
        ({"hello": {"apiKey": "KEY", "version": 3}}, "hello.deviceId must be"),
        ({"hello": {"apiKey": "KEY", "version": 3, "deviceId": "x", "deviceType": "T",
                    "sensors": [{"name": "A", "frequencies": ["fast"]}]}},
         "hello.sensors[0].frequencies must be a list of numbers"),
    ],
)  # fmt: skip
def test_bad_first_messages_are_refused(server: RemoteServer, first: Any, why: str) -> None:
    async def go() -> tuple[Any, Any]:
        async with peer(server) as ws:
            if isinstance(first, str):
                await ws.send_str(first)
                return await answer(ws), await answer(ws)
            text = json.dumps(first).replace("KEY", server.api_key)
            await ws.send_str(text)
            return await answer(ws), await answer(ws)

    refused, closed = asyncio.run(go())
    assert refused["hello"] is False and why in refused["err"], refused
    assert closed == ("closed", 1008)


def test_pings_text_pings_and_no_compression(server: RemoteServer) -> None:
    async def go() -> tuple[Any, ...]:
        async with peer(server, compress=15) as ws:  # offers permessage-deflate
            await say(ws, hello(server, deviceId="pinger"))
            await ws.ping(b"42")
            pong = await ws.receive(timeout=10)
            await ws.send_str("ping")
            text = await ws.receive(timeout=10)
            return pong.type, pong.data, text.data, ws.compress

    pong_type, pong_data, text, compress = asyncio.run(go())
    assert pong_type == aiohttp.WSMsgType.PONG and pong_data == b"42"
    assert text == "pong"
    assert compress == 0  # the server did not take the offer


def test_oversized_message_closes_with_1009(server: RemoteServer) -> None:
    async def go() -> Any:
        async with peer(server, max_msg_size=0) as ws:
            await say(ws, hello(server, deviceId="big"))
            await ws.send_str(json.dumps({"sampleReading": True, "pad": "x" * 70000}))
            return await answer(ws)

    assert asyncio.run(go()) == ("closed", 1009)


def test_silent_peers_are_closed_and_hello_is_awaited_only_so_long(impatient: RemoteServer) -> None:
    async def go() -> tuple[Any, Any, int]:
        async with peer(impatient) as quiet:  # never says hello
            no_hello = await answer(quiet)
        pings = 0
        async with peer(impatient) as silent:  # says hello, then never answers a PING
            await say(silent, hello(impatient, deviceId="silent"))
            while True:
                msg = await silent.receive(timeout=30)
                if msg.type != aiohttp.WSMsgType.PING:
                    return no_hello, ("closed", sent_code(silent, msg)), pings
                pings += 1

    no_hello, closed, pings = asyncio.run(go())
    assert no_hello == ("closed", 1008)
    assert closed == ("closed", 1001) and pings >= 1  # pinged before it was closed
    device = impatient.device("silent")
    assert device is not None and device["remote_mgmt_connected"] is False


def test_rest_routes_need_the_key(server: RemoteServer) -> None:
    for method, path in [
        ("GET", "/devices"),
        ("GET", "/device/x"),
        ("POST", "/device/x/start-sampling"),
        ("GET", "/sampling/1"),
    ]:
        for key in (None, "ei_wrong"):
            result = server.api(method, path, {}, api_key=key)
            assert result.status == 401, (method, path)
            assert result.json() == {
                "success": False,
                "error": "Missing or invalid x-api-key header",
            }


@pytest.mark.parametrize(
    "body, status, why",
    [
        ({"label": "", "lengthMs": 1000, "category": "training", "intervalMs": 10}, 400, "label"),
        ({"label": "a", "lengthMs": 0, "category": "training", "intervalMs": 10}, 400, "lengthMs"),
        ({"label": "a", "lengthMs": 1.5, "category": "training", "intervalMs": 10}, 400,
         "lengthMs"),
        ({"label": "a", "lengthMs": 10, "category": "anomaly", "intervalMs": 10}, 400, "category"),
        ({"label": "a", "lengthMs": 10, "category": "testing", "intervalMs": "10"}, 400,
         "intervalMs"),
        ({"label": "a", "lengthMs": 10, "category": "testing", "intervalMs": 10, "sensor": 3}, 400,
         "sensor"),
        ({"label": "a", "lengthMs": 10, "category": "testing", "intervalMs": 10}, 404,
         "not connected"),
    ],
)  # fmt: skip
def test_start_sampling_checks_its_body(
    server: RemoteServer, body: dict[str, Any], status: int, why: str
) -> None:
    result = server.api("POST", "/device/nobody/start-sampling", body)
    assert result.status == status and why in result.json()["error"], result.text()
    assert result.json()["success"] is False


def test_not_json_and_unknown_requests(server: RemoteServer) -> None:
    raw = server.request("POST", "/v1/api/7/device/x/start-sampling", b"{nope",
                         {"Content-Type": "application/json"})  # fmt: skip
    assert raw.status == 400 and "JSON" in raw.json()["error"]
    assert server.api("GET", "/sampling/999999").status == 404
    assert server.api("GET", "/device/nobody").status == 404


def test_a_sampling_request_and_its_state(server: RemoteServer, tmp_path: Path) -> None:
    """Progress in any order, `err` or `error` read, finished only once the upload is stored."""

    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with peer(server) as ws:
            await say(ws, hello(server, deviceId="dev-1"))
            out["listed"] = server.device("dev-1")
            loop = asyncio.get_running_loop()
            # 1: refused with "error"
            r = await loop.run_in_executor(None, lambda: server.start_sampling(
                "dev-1", label="one", lengthMs=100, intervalMs=10))  # fmt: skip
            out["request"] = await answer(ws)
            req_id = r.json()["id"]
            busy = await loop.run_in_executor(None, lambda: server.start_sampling("dev-1"))
            out["busy"] = (busy.status, busy.json()["error"])
            await ws.send_str(json.dumps({"sample": False, "error": "Invalid sensor: X"}))
            out["refused"] = await loop.run_in_executor(None, server.wait_done, req_id)
            # 2: failed with "err" after progress
            r = await loop.run_in_executor(None, lambda: server.start_sampling(
                "dev-1", label="two", lengthMs=100, intervalMs=10))  # fmt: skip
            await answer(ws)
            for m in ({"sampleStarted": True}, {"sample": True}, {"sample": False, "err": "boom"}):
                await ws.send_str(json.dumps(m))
            out["err"] = await loop.run_in_executor(None, server.wait_done, r.json()["id"])
            # 3: device says finished before its upload is stored: not finished until it is
            r = await loop.run_in_executor(None, lambda: server.start_sampling(
                "dev-1", label="three", lengthMs=100, intervalMs=10,
                category="testing"))  # fmt: skip
            req_id = r.json()["id"]
            await answer(ws)
            for m in ({"sampleStarted": True}, {"sample": True},
                      {"sampleReading": True, "progressPercentage": 50},
                      {"sampleUploading": True}, {"sampleFinished": True}):  # fmt: skip
                await ws.send_str(json.dumps(m))
            await ws.ping()  # a round trip: the messages above have been handled
            while (await ws.receive(timeout=10)).type != aiohttp.WSMsgType.PONG:
                pass
            out["before_upload"] = server.state(req_id)
            doc = {"protected": {"ver": "v1", "alg": "HS256"}, "signature": "",
                   "payload": {"device_name": "dev-1", "device_type": "TEST", "interval_ms": 10,
                               "sensors": [{"name": "x", "units": "m/s2"}],
                               "values": [[1], [2]]}}  # fmt: skip
            body = sign_json(doc, server.hmac_key)
            up = await loop.run_in_executor(None, lambda: server.post_data(
                "testing", body, "three.json", headers={"x-label": "three"}))  # fmt: skip
            out["upload"] = up.status
            out["after_upload"] = server.state(req_id)
        out["gone"] = server.device("dev-1")
        return out

    out = asyncio.run(go())
    assert out["listed"]["remote_mgmt_connected"] is True and out["listed"]["deviceType"] == "TEST"
    assert set(out["listed"]) >= {"id", "deviceId", "name", "created", "lastSeen", "sensors",
                                  "remote_mgmt_connected", "supportsSnapshotStreaming",
                                  "remoteMgmtMode"}  # fmt: skip
    sample = out["request"]["sample"]
    assert sample == {
        "label": "one",
        "length": 100,
        "path": "/api/training/data",
        "interval": 10,
        "sensor": "Accelerometer",
        "hmacKey": server.hmac_key,
    }
    assert out["busy"][0] == 409 and "busy" in out["busy"][1]
    assert out["refused"]["state"] == "failed" and out["refused"]["error"] == "Invalid sensor: X"
    assert out["err"]["state"] == "failed" and out["err"]["error"] == "boom"
    assert out["err"]["accepted"] is True and "sampleStarted" in out["err"]["progress"]
    before = out["before_upload"]
    assert before["state"] == "waiting-for-upload" and before["sample"] is None
    assert before["progressPercentage"] == 50
    assert out["upload"] == 200
    after = out["after_upload"]
    assert after["state"] == "finished" and after["sample"]["signature"] == "valid"
    assert after["sample"]["rows"] == 2
    assert out["gone"]["remote_mgmt_connected"] is False
    assert out["gone"]["remoteMgmtMode"] == "disconnected"


def test_a_newer_connection_of_the_same_device_replaces_the_older(server: RemoteServer) -> None:
    async def go() -> tuple[Any, Any, bool]:
        async with peer(server) as old, peer(server) as new:
            await say(old, hello(server, deviceId="twice"))
            await say(new, hello(server, deviceId="twice"))
            closed = await answer(old)
            await new.send_str(json.dumps({"sampleStarted": True}))  # still a live session
            device = server.device("twice")
            return closed, device, device is not None and device["remote_mgmt_connected"]

    closed, _, connected = asyncio.run(go())
    assert closed == ("closed", 1000) and connected
