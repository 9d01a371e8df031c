"""The remote management websocket: devices connect here (ws://host:4802 by default).

One session, as Edge Impulse's service runs it: the device speaks first with ``hello`` (versions
1-4) as JSON in a text frame or CBOR in a binary frame, and every answer to that device uses the
same encoding. The API key in the hello is checked before anything else is done for the peer:
nothing but that first message is read until it passes, and a refusal is
``{"hello":false,"err":...}`` followed by close code 1008. After ``{"hello":true}`` the server
answers websocket PINGs with PONGs and the browser client's text ``ping`` with ``pong``, hands
progress messages to the hub, and keeps the link alive.

Bounds: a message (all its frames) is at most MAX_MESSAGE bytes (aiohttp closes with 1009
beyond it), a hello at most MAX_HELLO; at most MAX_CONNECTIONS peers at once (more get HTTP 503
before the upgrade); the hello must come within ``hello_s`` (10 s); after ``ping_s`` (30 s)
without a frame from the peer the server PINGs it, and a peer silent for ``silent_s`` (75 s)
is closed with 1001, a limit stretched while one of its sampling requests runs (the board does
not read its socket while it samples and uploads). No permessage-deflate is negotiated.

Wrong keys: a hello refused for its key spends the peer's failed-key budget, the same one the
HTTP routes spend (ingest.auth); a peer without budget is answered 429 with Retry-After before
the upgrade, so guessing keys over the websocket is slowed down like everywhere else.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from ingest.budget import FailureBudget
from ingest.cbor_reader import CborError, decode_cbor
from ingest.cbor_writer import encode_cbor
from ingest.remote_hub import Device, HelloError, HelloKeyError, RemoteHub

MAX_MESSAGE = 64 * 1024
MAX_HELLO = 16 * 1024
MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class WsSettings:
    ping_s: float = 30.0
    silent_s: float = 75.0
    hello_s: float = 10.0


HUB_KEY = web.AppKey("remote_hub", RemoteHub)
SETTINGS_KEY = web.AppKey("remote_settings", WsSettings)
PEERS_KEY = web.AppKey("remote_peers", set[web.WebSocketResponse])
BUDGET_KEY = web.AppKey("remote_budget", FailureBudget)


def keepalive_action(
    now: float, last_heard: float, last_ping: float | None, ping_s: float, limit_s: float
) -> str | None:
    """ "close" for a peer silent for `limit_s`, "ping" after `ping_s` of silence (again every
    `ping_s` while it stays silent), else None. Pure: tests drive it with a fake clock."""
    silent = now - last_heard
    if silent >= limit_s:
        return "close"
    if silent >= ping_s and (
        last_ping is None or last_ping < last_heard or now - last_ping >= ping_s
    ):
        return "ping"
    return None


class WsLink:
    """A device's websocket: sends dicts in the session's encoding."""

    def __init__(self, ws: web.WebSocketResponse, peer: str, binary: bool) -> None:
        self.ws = ws
        self.peer = peer
        self.binary = binary

    async def send(self, message: dict[str, Any]) -> None:
        if self.binary:
            await self.ws.send_bytes(encode_cbor(message))
        else:
            await self.ws.send_str(json.dumps(message))

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode())


def decode(msg: Any) -> tuple[Any, bool]:
    """(object, is CBOR) of a text (JSON) or binary (CBOR) message; ValueError if unreadable."""
    if msg.type == WSMsgType.TEXT:
        return json.loads(msg.data), False
    value, binary_ref = decode_cbor(msg.data)
    if binary_ref is not None:
        raise ValueError("a binary payload is not a message")
    return value, True


async def _first_message(ws: web.WebSocketResponse, timeout: float) -> Any | None:
    """The first data message within `timeout`; control frames before it are not answered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            return None
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            return None
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            return msg
        if msg.type not in (WSMsgType.PING, WSMsgType.PONG):
            return None


async def _say_hello(
    ws: web.WebSocketResponse,
    hub: RemoteHub,
    peer: str,
    settings: WsSettings,
    budget: FailureBudget,
) -> tuple[Device, WsLink] | None:
    msg = await _first_message(ws, settings.hello_s)
    if msg is None:
        await ws.close(code=1008, message=b"no hello in time")
        return None
    binary = msg.type == WSMsgType.BINARY
    link = WsLink(ws, peer, binary)
    try:
        if len(msg.data) > MAX_HELLO:
            raise HelloError(f"hello is over {MAX_HELLO} bytes")
        try:
            obj, binary = decode(msg)
        except (ValueError, CborError) as exc:
            raise HelloError(f"the first message must be hello: {str(exc)[:100]}") from None
        link.binary = binary
        if not isinstance(obj, dict) or "hello" not in obj:
            raise HelloError("the first message must be hello")
        device, replaced = hub.hello(link, obj["hello"])
    except HelloError as exc:
        print(f"remote: hello refused from {peer}: {exc}", flush=True)
        if isinstance(exc, HelloKeyError) and budget.failed(peer):
            print(f"remote: too many failed keys from {peer}: it gets 429 for a while", flush=True)
        await link.send({"hello": False, "err": str(exc)})
        await ws.close(code=1008, message=b"hello refused")
        return None
    if isinstance(replaced, WsLink):
        await replaced.close(1000, "replaced by a newer connection of this device")
    await link.send({"hello": True, "serverTimestamp": int(hub.wall() * 1000)})
    print(
        f"remote: device {device.device_id} ({device.device_type}) connected from {peer}, "
        f"hello v{device.version} {'CBOR' if binary else 'JSON'}",
        flush=True,
    )
    return device, link


async def _keepalive(
    ws: web.WebSocketResponse, hub: RemoteHub, device: Device, heard: list[float], s: WsSettings
) -> None:
    last_ping: float | None = None
    tick = min(1.0, s.ping_s / 4)
    while not ws.closed:
        now = hub.clock()
        limit = hub.silence_limit(device, s.silent_s)
        action = keepalive_action(now, heard[0], last_ping, s.ping_s, limit)
        if action == "close":
            print(
                f"remote: {device.device_id} silent for {now - heard[0]:.0f} s: closed", flush=True
            )
            await ws.close(code=1001, message=b"silent for too long")
            return
        if action == "ping":
            last_ping = now
            try:
                await ws.ping()
            except (ConnectionError, RuntimeError):
                return
        await asyncio.sleep(tick)


async def _serve(
    ws: web.WebSocketResponse, hub: RemoteHub, device: Device, link: WsLink, s: WsSettings
) -> None:
    heard = [hub.clock()]
    watchdog = asyncio.create_task(_keepalive(ws, hub, device, heard, s))
    try:
        async for msg in ws:
            heard[0] = hub.clock()
            if msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str("pong")  # the browser client's keep-alive
            elif msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    obj, _ = decode(msg)
                except (ValueError, CborError) as exc:
                    await link.send({"err": f"Failed to parse message: {str(exc)[:100]}"})
                    continue
                hub.message(device, obj)
    finally:
        watchdog.cancel()
        hub.gone(device, link)
        print(f"remote: device {device.device_id} disconnected", flush=True)


async def handle_ws(request: web.Request) -> web.StreamResponse:
    peers, budget = request.app[PEERS_KEY], request.app[BUDGET_KEY]
    wait = budget.wait_seconds(request.remote)
    if wait > 0 and request.remote is not None:
        budget.hold(request.remote)
        held = web.Response(status=429, text="too many failed keys from this address: slowed down")
        held.headers["Retry-After"] = str(int(wait) + 1)
        return held
    if len(peers) >= MAX_CONNECTIONS:
        return web.Response(status=503, text=f"at most {MAX_CONNECTIONS} remote connections")
    ws = web.WebSocketResponse(
        autoping=False, compress=False, max_msg_size=MAX_MESSAGE, heartbeat=None
    )
    await ws.prepare(request)
    peers.add(ws)
    hub, settings = request.app[HUB_KEY], request.app[SETTINGS_KEY]
    try:
        peer = request.remote or "?"
        found = await _say_hello(ws, hub, peer, settings, budget)
        if found is not None:
            await _serve(ws, hub, found[0], found[1], settings)
    finally:
        peers.discard(ws)
    return ws


async def _close_all(app: web.Application) -> None:
    peers = app[PEERS_KEY]
    for ws in tuple(peers):
        await ws.close(code=1001, message=b"server shutting down")


def make_ws_app(
    hub: RemoteHub, settings: WsSettings, budget: FailureBudget | None = None
) -> web.Application:
    """The websocket application, served on its own port (4802 by default): path "/".
    `budget`: the HTTP routes' failed-key budget, shared (a budget of its own if None)."""
    app = web.Application(client_max_size=MAX_HELLO)
    app[BUDGET_KEY] = budget if budget is not None else FailureBudget()
    app[HUB_KEY] = hub
    app[SETTINGS_KEY] = settings
    app[PEERS_KEY] = set()
    app.router.add_get("/", handle_ws)
    app.on_shutdown.append(_close_all)
    return app
