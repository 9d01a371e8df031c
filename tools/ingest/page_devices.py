"""The dataset page's Devices panel: remote-management devices and starting a sample.

Routes (page routes: :mod:`ingest.auth` gives them the login cookie or local trust, and for the
POST the CSRF token and Origin check; the ``x-api-key`` header works too):

- ``GET  /page/api/devices``: ``{"success":true,"devices":[Device,...]}`` (Studio's Device
  shape, as ``GET /v1/api/<project>/devices`` answers it).
- ``POST /page/api/devices/<deviceId>/start-sampling`` with a StartSamplingRequest
  (``label``, ``lengthMs``, ``category``, ``intervalMs``, ``sensor``): ``{"success":true,"id":N}``.
- ``GET  /page/api/sampling/<id>``: ``{"success":true,"request":{...,"state":...}}``.

The checks, bounds and error texts are /v1's own (:func:`ingest.remote_api.start_answer` and
:func:`~ingest.remote_api.state_answer`); only the authentication differs. Installed only when
remote management is on (``--remote-port`` not -1); ``GET /page/api/session`` then says
``"remote": true`` and the page shows the panel. Memory: nothing beyond the hub's own state.
"""

from __future__ import annotations

from aiohttp import web

from ingest import page
from ingest.remote_api import start_answer, state_answer
from ingest.remote_hub import RemoteHub

PAGE_HUB_KEY = web.AppKey("page_remote_hub", RemoteHub)


async def handle_devices(request: web.Request) -> web.StreamResponse:
    hub = request.app[PAGE_HUB_KEY]
    return page.json_answer({"success": True, "devices": hub.device_list()})


async def handle_start(request: web.Request) -> web.StreamResponse:
    status, answer = await start_answer(request.app[PAGE_HUB_KEY], request)
    return page.json_answer(answer, status)


async def handle_state(request: web.Request) -> web.StreamResponse:
    status, answer = state_answer(request.app[PAGE_HUB_KEY], request)
    return page.json_answer(answer, status)


def install(app: web.Application, hub: RemoteHub) -> None:
    """Add the routes and tell the page (through /page/api/session) that remote management is on."""
    app[PAGE_HUB_KEY] = hub
    app[page.REMOTE_ON_KEY] = True
    app.router.add_get("/page/api/devices", handle_devices)
    app.router.add_post(r"/page/api/devices/{deviceId}/start-sampling", handle_start)
    app.router.add_get(r"/page/api/sampling/{requestId}", handle_state)
