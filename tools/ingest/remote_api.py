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
key, the dataset page lives on this port (its Devices panel, :mod:`ingest.page_devices`, answers
through :func:`start_answer` and :func:`state_answer`, so its checks and texts are these), and
a board on the LAN needs one port fewer opened. Errors are ``{"success":false,"error":...}``
with 400 (bad body), 401 (key), 404 (unknown or disconnected device, unknown request), 409
(busy) or 413 (body over MAX_BODY).
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


def _failure(message: str) -> dict[str, Any]:
    return {"success": False, "error": message}


def _fail(status: int, message: str) -> web.Response:
    return web.json_response(_failure(message), status=status)


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


async def start_answer(hub: RemoteHub, request: web.Request) -> tuple[int, dict[str, Any]]:
    """Start a sampling request from this HTTP request's body (a StartSamplingRequest) on the
    path's ``deviceId``: (status, answer). Shared by /v1 and the dataset page's
    ``/page/api/devices/<deviceId>/start-sampling``, so both check and answer alike."""
    if (request.content_length or 0) > MAX_BODY:
        return 413, _failure(f"body over {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return 413, _failure(f"body over {MAX_BODY} bytes")
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return 400, _failure("body must be JSON (a StartSamplingRequest)")
    try:
        req = await hub.start_sampling(request.match_info["deviceId"], body)
    except SamplingError as exc:
        return exc.status, _failure(exc.message)
    print(
        f"remote: sampling request {req.id} sent to {req.device_id}: {req.label!r}, "
        f"{req.length_ms} ms every {req.interval_ms} ms, {req.category}",
        flush=True,
    )
    return 200, {"success": True, "id": req.id}


def state_answer(hub: RemoteHub, request: web.Request) -> tuple[int, dict[str, Any]]:
    """The state of the sampling request the path's ``requestId`` names: (status, answer)."""
    text = request.match_info["requestId"]
    if not text.isdigit() or len(text) > 12:
        return 404, _failure("no such sampling request")
    state = hub.request_state(int(text))
    if state is None:
        return 404, _failure(f"no sampling request {int(text)}")
    return 200, {"success": True, "request": state}


async def start_sampling(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    status, answer = await start_answer(hub, request)
    return web.json_response(answer, status=status)


async def sampling_state(request: web.Request) -> web.Response:
    hub = _hub(request)
    if isinstance(hub, web.Response):
        return hub
    status, answer = state_answer(hub, request)
    return web.json_response(answer, status=status)


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
