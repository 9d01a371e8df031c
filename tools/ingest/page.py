"""The dataset page: HTML, one JS and one CSS file of our own, and the JSON they read.

Routes (authorised by :mod:`ingest.auth`: the page is open to loopback on a loopback bind,
behind the login everywhere else):

- ``GET /`` and ``GET /samples/<id>``: the two pages (static HTML; page.js fills them in).
- ``GET /static/page.js|page.css``.
- ``GET /page/api/session``: the CSRF token for state-changing actions, and how we are logged in.
- ``GET /page/api/summary?category=&label=``: counts per category and label, and the samples.
- ``GET /page/api/version``: changes when a sample is added or deleted (the page polls it).
- ``GET /page/api/samples/<id>?width=N``: the sample, and for files with values the points to
  draw at N pixel columns (:func:`ingest.samplevalues.plot_points`).
- ``GET /page/api/samples/<id>/raw`` (``?inline=1`` for images, audio, video),
  ``.../csv`` (every row), ``GET /page/api/export.zip`` and ``GET /api/export`` (the dataset in
  Edge Impulse's exporter layout, :mod:`ingest.export`).
- ``POST /page/api/samples/<id>/delete`` (CSRF-protected).
- With remote management on, the Devices panel's routes (:mod:`ingest.page_devices`);
  ``/page/api/session`` says ``"remote": true`` then.

Nothing a client stored is put into HTML by the server: the pages are static and page.js writes
every value with ``textContent``. Decoding and drawing run in a worker thread; the last few
decoded samples are kept (``CACHE_SAMPLES``).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from aiohttp import web

from ingest.auth import SECURITY_KEY, request_auth, request_session
from ingest.export import plan, write_zip
from ingest.loginpage import hardening_headers
from ingest.samplevalues import MAX_WIDTH, Series, SeriesError, csv_chunks, load_series, plot_points
from ingest.store import SampleStore
from ingest.uploads import CATEGORIES, listing_filters

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "page.js": "text/javascript",
    "page.css": "text/css",
}
PAGES = {"index": "index.html", "sample": "sample.html"}
CACHE_SAMPLES = 4
DEFAULT_WIDTH = 1000
INLINE_TYPES = ("image/", "audio/", "video/")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SERIES_KEY = web.AppKey("series_cache", OrderedDict)
STORE_APP_KEY = web.AppKey("page_store", SampleStore)
REMOTE_ON_KEY = web.AppKey("page_remote_on", bool)  # set by ingest.page_devices.install


def _harden(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    hardening_headers(response)
    return response


def json_answer(data: Any, status: int = 200) -> web.StreamResponse:
    """A JSON answer with the page's security headers (for page routes of other modules too)."""
    return _harden(web.json_response(data, status=status))


def _error(status: int, message: str) -> web.StreamResponse:
    return json_answer({"success": False, "error": message}, status)


def _store(request: web.Request) -> SampleStore:
    return request.app[STORE_APP_KEY]


def _sample_id(request: web.Request) -> int | None:
    text = request.match_info["sample_id"]
    return int(text) if text.isdigit() and len(text) < 12 else None


async def handle_page(request: web.Request) -> web.StreamResponse:
    name = "sample" if "sample_id" in request.match_info else "index"
    if name == "sample" and _sample_id(request) is None:
        return _harden(web.Response(status=404, text="no such sample", content_type="text/plain"))
    body = (STATIC_DIR / PAGES[name]).read_bytes()
    return _harden(web.Response(body=body, content_type="text/html", charset="utf-8"))


async def handle_static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        return _harden(web.Response(status=404, text="no such file", content_type="text/plain"))
    response = web.Response(
        body=(STATIC_DIR / name).read_bytes(), content_type=STATIC_FILES[name], charset="utf-8"
    )
    return _harden(response)


async def handle_session(request: web.Request) -> web.StreamResponse:
    state = request.app[SECURITY_KEY]
    how = request_auth(request)
    return json_answer(
        {
            "auth": how,
            "csrf": state.csrf_token(request_session(request)),
            "canLogout": how == "session",
            "remote": request.app.get(REMOTE_ON_KEY, False),
        }
    )


async def handle_summary(request: web.Request) -> web.StreamResponse:
    try:
        category, label = listing_filters(request.query)
    except ValueError as exc:
        return _error(400, str(exc))
    store = _store(request)
    return json_answer(
        {
            "version": store.version(),
            "counts": store.counts(),
            "samples": store.list_samples(category, label),
            "categories": [c for c in CATEGORIES if c != "split"],
        }
    )


async def handle_version(request: web.Request) -> web.StreamResponse:
    return json_answer({"version": _store(request).version()})


def _kind(content_type: str) -> str:
    if content_type.startswith("image/"):
        return "image"
    if content_type.startswith("video/"):
        return "video"
    if content_type == "audio/wav":
        return "audio"
    if content_type in ("application/json", "application/cbor", "application/octet-stream"):
        return "series"
    if content_type == "text/csv":
        return "series"
    return "other"


async def _series(request: web.Request, sample: dict[str, Any]) -> Series | None:
    cache = request.app[SERIES_KEY]
    key = (sample["id"], sample["sha256"])
    if key in cache:
        cache.move_to_end(key)
        return cache[key]  # type: ignore[no-any-return]
    found = _store(request).raw_path(sample["id"])
    if found is None:
        return None
    path, content_type = found

    def decode() -> Series | None:
        return load_series(path.read_bytes(), content_type)

    series = await asyncio.to_thread(decode)
    cache[key] = series
    while len(cache) > CACHE_SAMPLES:
        cache.popitem(last=False)
    return series


async def handle_sample(request: web.Request) -> web.StreamResponse:
    sample_id = _sample_id(request)
    sample = _store(request).sample(sample_id) if sample_id is not None else None
    if sample is None:
        return _error(404, f"no sample with id {request.match_info['sample_id']}")
    width_text = request.query.get("width", str(DEFAULT_WIDTH))
    if not width_text.isdigit() or not 1 <= int(width_text) <= MAX_WIDTH:
        return _error(400, f"width must be a whole number from 1 to {MAX_WIDTH}")
    answer: dict[str, Any] = {"sample": sample, "kind": _kind(sample["contentType"])}
    try:
        series = await _series(request, sample)
    except SeriesError as exc:
        answer["error"] = str(exc)
        series = None
    if series is not None and series.rows:
        answer["plot"] = await asyncio.to_thread(plot_points, series, int(width_text))
    elif answer["kind"] == "series":
        answer["kind"] = "other"
    return json_answer(answer)


async def handle_raw(request: web.Request) -> web.StreamResponse:
    sample_id = _sample_id(request)
    sample = _store(request).sample(sample_id) if sample_id is not None else None
    found = _store(request).raw_path(sample_id) if sample_id is not None else None
    if sample is None or found is None:
        return _error(404, f"no sample with id {request.match_info['sample_id']}")
    path, content_type = found
    response = web.Response(body=await asyncio.to_thread(path.read_bytes))
    response.content_type = content_type
    inline = request.query.get("inline") == "1" and content_type.startswith(INLINE_TYPES)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{_ascii(sample)}"'
    return _harden(response)


def _ascii(sample: dict[str, Any]) -> str:
    name = str(sample["fileName"])
    safe = (ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return "".join(safe)


async def handle_csv(request: web.Request) -> web.StreamResponse:
    sample_id = _sample_id(request)
    sample = _store(request).sample(sample_id) if sample_id is not None else None
    if sample is None:
        return _error(404, f"no sample with id {request.match_info['sample_id']}")
    try:
        series = await _series(request, sample)
    except SeriesError as exc:
        return _error(422, str(exc))
    if series is None:
        return _error(422, f"{sample['fileName']} has no values to write as CSV")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{_ascii(sample)}.csv"',
        }
    )
    _harden(response)
    await response.prepare(request)
    for chunk in csv_chunks(series):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


async def handle_export(request: web.Request) -> web.StreamResponse:
    items = plan(_store(request))
    spool = tempfile.TemporaryFile()
    try:
        await asyncio.to_thread(write_zip, items, spool)
        size = spool.tell()
        spool.seek(0)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": 'attachment; filename="dataset.zip"',
                "Content-Length": str(size),
            }
        )
        _harden(response)
        await response.prepare(request)
        while chunk := spool.read(1 << 16):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        spool.close()


async def handle_delete(request: web.Request) -> web.StreamResponse:
    sample_id = _sample_id(request)
    if sample_id is None or not _store(request).delete(sample_id):
        return _error(404, f"no sample with id {request.match_info['sample_id']}")
    print(f"deleted sample {sample_id} (from the page)", flush=True)
    return json_answer({"success": True})


def install(app: web.Application, store: SampleStore) -> None:
    app[STORE_APP_KEY] = store
    app[SERIES_KEY] = OrderedDict()
    app.router.add_get("/", handle_page)
    app.router.add_get(r"/samples/{sample_id}", handle_page)
    app.router.add_get(r"/static/{name}", handle_static)
    app.router.add_get("/page/api/session", handle_session)
    app.router.add_get("/page/api/summary", handle_summary)
    app.router.add_get("/page/api/version", handle_version)
    app.router.add_get(r"/page/api/samples/{sample_id}", handle_sample)
    app.router.add_get(r"/page/api/samples/{sample_id}/raw", handle_raw)
    app.router.add_get(r"/page/api/samples/{sample_id}/csv", handle_csv)
    app.router.add_post(r"/page/api/samples/{sample_id}/delete", handle_delete)
    app.router.add_get("/page/api/export.zip", handle_export)
    app.router.add_get("/api/export", handle_export)
