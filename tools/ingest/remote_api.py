"""Studio's remote management REST calls, served under /v1 on the ingestion port.

Studio's own shapes (Edge Impulse Studio API, devicesApi), with the ``x-api-key`` header; the
local server holds one project, so any ``projectId`` is accepted:

- ``GET  /v1/api/{projectId}/devices``: ``{"success":true,"devices":[Device,...]}``
- ``GET  /v1/api/{projectId}/device/{deviceId}``: ``{"success":true,"device":Device}``
- ``POST /v1/api/{projectId}/device/{deviceId}/start-sampling`` with a StartSamplingRequest
  (``label``, ``lengthMs``, ``category``, ``intervalMs``, ``sensor``): ``{"success":true,"id":N}``
- ``GET  /v1/api/{projectId}/sampling/{id}`` (ours: Studio reports progress over its own
  socket): ``{"success":true,"request":{...,"state":...}}``; ``state`` is one of requested,
  accepted, sampling, reading, processing, uploading, waiting-for-upload, finished, failed.

Why the ingestion port and not Studio's 4800: the local server is one project behind one API
key, the future dataset page lives on this port and calls these routes same-origin, and a board
on the LAN needs one port fewer opened. Errors are ``{"success":false,"error":...}`` with 400
(bad body), 401 (key), 404 (unknown or disconnected device, unknown request) or 409 (busy).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ingest import auth
from ingest.app import STORED_HOOKS
from ingest.remote_hub import RemoteHub, SamplingError

MAX_BODY = 16 * 1024
HUB_KEY = web.AppKey("remote_hub_api", RemoteHub)


def _fail(status: int, message: str) -> web.Response:
    return web.json_response({"success": False, "error": message}, status=status)


def _hub(request: web.Request) -> RemoteHub | web.Response:
    hub = request.app[HUB_KEY]
    if not hub.key_ok(request.headers.get("x-api-key")):
        return _fail(401, "Missing or invalid x-api-key header")
    return hub


async def list_devices(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    return web.json_response({"success": True, "devices": hub.device_list()})


async def get_device(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    found = hub.device(request.match_info["deviceId"])
    if found is None:
        return _fail(404, f"no device {request.match_info['deviceId']!r}")
    return web.json_response({"success": True, "device": found})


async def start_sampling(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    if (request.content_length or 0) > MAX_BODY:
        return _fail(413, f"body over {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _fail(413, f"body over {MAX_BODY} bytes")
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _fail(400, "body must be JSON (a StartSamplingRequest)")
    try:
        req = await hub.start_sampling(request.match_info["deviceId"], body)
    except SamplingError as exc:
        return _fail(exc.status, exc.message)
    print(
        f"remote: sampling request {req.id} sent to {req.device_id}: {req.label!r}, "
        f"{req.length_ms} ms every {req.interval_ms} ms, {req.category}",
        flush=True,
    )
    return web.json_response({"success": True, "id": req.id})


async def sampling_state(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    try:
        request_id = int(request.match_info["requestId"])
    except ValueError:
        return _fail(404, "no such sampling request")
    state = hub.request_state(request_id)
    if state is None:
        return _fail(404, f"no sampling request {request_id}")
    return web.json_response({"success": True, "request": state})


def register(app: web.Application, hub: RemoteHub) -> None:
    """Add the /v1 routes to the ingestion app and let the hub see every stored upload."""
    app[HUB_KEY] = hub
    app[STORED_HOOKS].append(hub.on_stored)
    # Studio's routes take the key header only (no login cookie, no local trust), and answer a
    # wrong one in Studio's shape; the middleware still counts it against the address's budget.
    auth.handles_own_auth(app, "/v1/")
    app.router.add_get("/v1/api/{projectId}/devices", list_devices)
    app.router.add_get("/v1/api/{projectId}/device/{deviceId}", get_device)
    app.router.add_post("/v1/api/{projectId}/device/{deviceId}/start-sampling", start_sampling)
    app.router.add_get("/v1/api/{projectId}/sampling/{requestId}", sampling_state)
