"""The dataset page's Devices panel, server side: /page/api/devices, .../start-sampling and
/page/api/sampling/<id> against the real server process, with a websocket peer of the test's
own playing the device (aiohttp's client; the server's code is not imported).

What is proved: the page's answers are /v1's (same devices, same checks and error texts, same
request states), the POST wants the CSRF token and this server's Origin like every page action,
a request started from the page goes through to "finished" with the stored sample, an unknown
or disconnected device is refused, and a server without remote management has no such routes
while its page still works. The LAN side (login, key) is in tests/test_server_lan.py's ROUTES.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from remoteproc import GUARD_S, RemoteServer
from serverproc import HttpResult, ServerProc, sign_json

SENSORS = [{"name": "Accelerometer", "maxSampleLengthS": 60, "frequencies": [100, 62.5]}]
GOOD = {"label": "wave", "lengthMs": 1000, "category": "testing", "intervalMs": 10,
        "sensor": "Accelerometer"}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    with RemoteServer(tmp_path_factory.mktemp("data")) as s:
        yield s


def csrf(server: ServerProc) -> str:
    result = server.request("GET", "/page/api/session", api_key=False)
    assert result.status == 200, result.text()
    return str(result.json()["csrf"])


def page_post(
    server: ServerProc, path: str, body: Any, *, token: str | None = None, raw: bytes | None = None,
    extra: dict[str, str] | None = None, api_key: str | bool = False,
) -> HttpResult:  # fmt: skip
    """A POST as page.js makes it: JSON body, the CSRF token, this server's Origin."""
    headers = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{server.port}"}
    if token is not None:
        headers["x-csrf-token"] = token
    headers.update(extra or {})
    data = raw if raw is not None else json.dumps(body).encode()
    return server.request("POST", path, data, headers, api_key=api_key)


def page_get(server: ServerProc, path: str) -> HttpResult:
    return server.request("GET", path, api_key=False)


def wait_disconnected(server: ServerProc, device_id: str) -> dict[str, Any]:
    """The page's listing of a device once the server has seen its websocket close."""
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        for found in page_get(server, "/page/api/devices").json()["devices"]:
            if found["deviceId"] == device_id and not found["remote_mgmt_connected"]:
                return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"{device_id} still listed as connected")


def start_path(device_id: str) -> str:
    return f"/page/api/devices/{device_id}/start-sampling"


@asynccontextmanager
async def device(
    server: RemoteServer, device_id: str
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A connected device: websocket open, hello sent and answered."""
    hello = {"version": 3, "apiKey": server.api_key, "deviceId": device_id,
             "deviceType": "PEER", "connection": "ip", "sensors": SENSORS,
             "supportsSnapshotStreaming": False}  # fmt: skip
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.ws_url, autoping=False) as ws:
            await ws.send_str(json.dumps({"hello": hello}))
            answer = await receive(ws)
            assert answer.get("hello") is True, answer
            yield ws


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return dict(json.loads(msg.data))
        assert msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG), msg


async def tell(ws: aiohttp.ClientWebSocketResponse, *messages: dict[str, Any]) -> None:
    """Send messages, then a PING and wait for its PONG: the server has handled them all."""
    for message in messages:
        await ws.send_str(json.dumps(message))
    await ws.ping()
    while (await ws.receive(timeout=10)).type != aiohttp.WSMsgType.PONG:
        pass


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """A blocking HTTP call of the test's, off the event loop that runs the device."""
    return await asyncio.get_running_loop().run_in_executor(None, lambda: function(*args, **kwargs))


def test_session_says_remote_is_on_and_the_devices_are_v1s(server: RemoteServer) -> None:
    async def go() -> tuple[HttpResult, list[dict[str, Any]]]:
        async with device(server, "page-dev-list"):
            listed = await call(page_get, server, "/page/api/devices")
            studio = await call(server.devices)
            return listed, studio

    assert page_get(server, "/page/api/session").json()["remote"] is True
    listed, studio = asyncio.run(go())
    assert listed.status == 200 and listed.headers["content-security-policy"]
    assert listed.json() == {"success": True, "devices": studio}
    (mine,) = [d for d in studio if d["deviceId"] == "page-dev-list"]
    assert mine["remote_mgmt_connected"] is True and mine["sensors"] == SENSORS
    gone = wait_disconnected(server, "page-dev-list")
    assert gone["lastSeen"] == mine["lastSeen"]


def test_a_sample_started_from_the_page_is_followed_to_finished(server: RemoteServer) -> None:
    states: dict[str, dict[str, Any]] = {}

    def state(request_id: int) -> dict[str, Any]:
        result = page_get(server, f"/page/api/sampling/{request_id}")
        assert result.status == 200, result.text()
        return dict(result.json()["request"])

    async def go() -> tuple[HttpResult, dict[str, Any]]:
        async with device(server, "page-dev-run") as ws:
            token = await call(csrf, server)
            started = await call(page_post, server, start_path("page-dev-run"), GOOD, token=token)
            asked = await receive(ws)
            request_id = started.json()["id"]
            states["requested"] = await call(state, request_id)
            await tell(ws, {"sample": True})
            states["accepted"] = await call(state, request_id)
            await tell(ws, {"sampleStarted": True})
            states["sampling"] = await call(state, request_id)
            await tell(ws, {"sampleUploading": True})
            states["uploading"] = await call(state, request_id)
            doc = {"protected": {"ver": "v1", "alg": "HS256"}, "signature": "",
                   "payload": {"device_name": "page-dev-run", "device_type": "PEER",
                               "interval_ms": 10, "sensors": [{"name": "x", "units": "m/s2"}],
                               "values": [[1], [2], [3]]}}  # fmt: skip
            body = sign_json(doc, asked["sample"]["hmacKey"])
            up = await call(server.post_data, "testing", body, "wave.json",
                            headers={"x-label": "wave"})  # fmt: skip
            assert up.status == 200, up.text()
            states["stored"] = await call(state, request_id)
            await tell(ws, {"sampleFinished": True})
            states["finished"] = await call(state, request_id)
            return started, asked

    started, asked = asyncio.run(go())
    assert started.status == 200 and started.json() == {"success": True, "id": started.json()["id"]}
    assert asked["sample"] == {"label": "wave", "length": 1000, "path": "/api/testing/data",
                               "interval": 10, "sensor": "Accelerometer",
                               "hmacKey": server.hmac_key}  # fmt: skip
    assert {name: s["state"] for name, s in states.items()} == {
        "requested": "requested", "accepted": "accepted", "sampling": "sampling",
        "uploading": "uploading", "stored": "uploading", "finished": "finished",
    }  # fmt: skip
    finished = states["finished"]
    assert finished == server.state(finished["id"]), "the page reads what /v1 reads"
    stored = finished["sample"]
    assert stored["signature"] == "valid" and stored["rows"] == 3
    sample = page_get(server, f"/page/api/samples/{stored['id']}").json()["sample"]
    assert (sample["fileName"], sample["label"]) == (stored["fileName"], "wave")
    for answer in states.values():  # the device gets the HMAC key; the page never does
        assert str(server.hmac_key) not in json.dumps(answer)
        assert server.api_key not in json.dumps(answer)


BAD_BODIES = [
    dict(GOOD, label=""),
    dict(GOOD, label="x" * 257),
    dict(GOOD, lengthMs=0),
    dict(GOOD, lengthMs=1.5),
    dict(GOOD, lengthMs=24 * 3600 * 1000 + 1),
    dict(GOOD, category="anomaly"),
    dict(GOOD, intervalMs="10"),
    dict(GOOD, intervalMs=0),
    dict(GOOD, sensor=3),
    dict(GOOD, sensor="s" * 257),
    [GOOD],
    GOOD,  # a good body for a device that is not there
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_get_the_answers_of_v1(server: RemoteServer, body: Any) -> None:
    token = csrf(server)
    page = page_post(server, start_path("nobody"), body, token=token)
    studio = server.api("POST", "/device/nobody/start-sampling", body)
    assert page.status == studio.status and page.status in (400, 404)
    assert page.json() == studio.json() and page.json()["success"] is False
    assert page.json()["error"], "a reason, named"


def test_not_json_and_oversized_bodies(server: RemoteServer) -> None:
    token = csrf(server)
    for raw, status, words in ((b"{nope", 400, "JSON"), (b" " * (16 * 1024 + 1), 413, "over")):
        page = page_post(server, start_path("nobody"), None, token=token, raw=raw)
        studio = server.request("POST", "/v1/api/1/device/nobody/start-sampling", raw,
                                {"Content-Type": "application/json"})  # fmt: skip
        assert page.status == studio.status == status
        assert page.json() == studio.json() and words in page.json()["error"]


def test_the_post_needs_the_csrf_token_and_this_origin(server: RemoteServer) -> None:
    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with device(server, "page-dev-csrf") as ws:
            path = start_path("page-dev-csrf")
            token = await call(csrf, server)
            out["none"] = await call(page_post, server, path, GOOD)
            out["wrong"] = await call(page_post, server, path, GOOD, token="0" * 64)
            out["cross"] = await call(page_post, server, path, GOOD, token=token,
                                      extra={"Origin": "http://evil.example"})  # fmt: skip
            evil = {"Host": "evil.example", "Origin": "http://evil.example"}
            out["rebound"] = await call(page_post, server, path, GOOD, token=token, extra=evil)
            out["keyed"] = await call(page_post, server, path, GOOD, api_key=True)
            out["asked"] = await receive(ws)
            await tell(ws, {"sample": False, "error": "not now"})
        return out

    out = asyncio.run(go())
    assert out["none"].status == 403 and "x-csrf-token" in out["none"].json()["error"]
    assert out["wrong"].status == 403 and "x-csrf-token" in out["wrong"].json()["error"]
    assert out["cross"].status == 403 and "cross-site" in out["cross"].json()["error"]
    assert out["rebound"].status == 401, "no local trust under another host name"
    # the key header needs no token (a browser cannot send it cross-site): it reached the device,
    # and was not refused as busy, so none of the refused POSTs had started a request
    assert out["keyed"].status == 200 and out["asked"]["sample"]["label"] == "wave"


def test_unknown_and_disconnected_devices_are_refused(server: RemoteServer) -> None:
    async def go() -> None:
        async with device(server, "page-dev-gone"):
            pass

    asyncio.run(go())
    wait_disconnected(server, "page-dev-gone")
    token = csrf(server)
    for device_id in ("page-dev-gone", "never-seen"):
        refused = page_post(server, start_path(device_id), GOOD, token=token)
        assert refused.status == 404
        assert refused.json()["error"] == f"device {device_id!r} is not connected"
    listed = page_get(server, "/page/api/devices").json()["devices"]
    assert [d["remote_mgmt_connected"] for d in listed if d["deviceId"] == "page-dev-gone"] == [
        False
    ]


def test_unknown_sampling_requests(server: RemoteServer) -> None:
    unknown = "no such sampling request"
    for text, error in (
        ("999999", "no sampling request 999999"), ("x1", unknown), ("1" * 13, unknown)
    ):  # fmt: skip
        result = page_get(server, f"/page/api/sampling/{text}")
        assert result.status == 404 and result.json()["error"] == error, text
        assert server.api("GET", f"/sampling/{text}").json() == result.json()


def test_without_remote_management_there_is_no_panel(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", extra_args=["--remote-port", "-1"]) as plain:
        assert "remote management listening" not in plain.log_text()
        assert page_get(plain, "/page/api/session").json()["remote"] is False
        for path in ("/page/api/devices", "/page/api/sampling/1"):
            assert page_get(plain, path).status == 404, path
        token = csrf(plain)
        assert page_post(plain, start_path("x"), GOOD, token=token).status == 404
        assert page_get(plain, "/").status == 200
        assert page_get(plain, "/page/api/summary").status == 200
