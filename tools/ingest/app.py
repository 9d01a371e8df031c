"""The aiohttp application: routes, API key checks, body limits, fault modes, responses.

Endpoints (see tools/ingest_server.py --help for the flags):

- ``POST /api/<category>/files``: multipart, every file a part named ``data``; JSON answer.
- ``POST /api/<category>/data``: raw body named by ``x-file-name``; text/plain answer.
- ``GET /api/samples`` and ``GET /api/samples/<id>/raw``: the index and the stored bytes.
- With faults enabled: ``POST /_faults``, ``DELETE /_faults``, ``GET|DELETE /_faults/log``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ingest import auth, page
from ingest.auth import Security
from ingest.faults import Fault, FaultSpecError, FaultState, parse_fault
from ingest.multipart import MultipartError, parse_multipart
from ingest.naming import FileNameError, check_file_name, decode_header
from ingest.refusals import refusal_log_middleware
from ingest.store import NewSample, SampleStore, StoredSample
from ingest.uploads import (
    IncomingFile,
    SignaturePolicy,
    UploadError,
    check_category,
    file_name_from_header,
    listing_filters,
    parse_options,
    prepare_samples,
)

READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class ServerConfig:
    api_keys: tuple[str, ...]
    hmac_key: str | None
    max_body: int
    require_valid_signature: bool
    enable_faults: bool


class DroppedConnection(Exception):
    """A close_after_bytes fault dropped the connection: nothing is answered."""


STORE_KEY = web.AppKey("store", SampleStore)
CONFIG_KEY = web.AppKey("config", ServerConfig)
FAULTS_KEY = web.AppKey("faults", FaultState)
# Called after each request's files are stored (remote management matches them to requests).
StoredHook = Callable[[list[NewSample], list[StoredSample]], None]
STORED_HOOKS = web.AppKey("stored_hooks", list[StoredHook])


def _api_key_ok(request: web.Request) -> bool:
    given = request.headers.get("x-api-key", "").encode("utf-8", "surrogateescape")
    matched = False
    for key in request.app[CONFIG_KEY].api_keys:
        # Compare against every key, in constant time, without stopping at a match.
        matched |= hmac.compare_digest(given, key.encode("utf-8"))
    return matched


def _error(kind: str, status: int, message: str) -> web.Response:
    if kind == "files":
        return web.json_response({"success": False, "error": message}, status=status)
    return web.Response(status=status, text=message, content_type="text/plain")


async def _read_body(request: web.Request, limit: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise UploadError(413, f"request body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await request.content.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise UploadError(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)


async def _read_then_drop(request: web.Request, count: int, entry: dict[str, Any]) -> None:
    received = 0
    while received < count:
        chunk = await request.content.read(min(READ_CHUNK, count - received))
        if not chunk:
            break
        received += len(chunk)
    entry["bodySize"] = received
    entry["outcome"] = "dropped"
    if request.transport is not None:
        request.transport.abort()
    raise DroppedConnection


def _incoming_files(kind: str, request: web.Request, body: bytes) -> list[IncomingFile]:
    if kind == "data":
        name = file_name_from_header(request.headers)
        return [IncomingFile(name, body, request.headers.get("Content-Type"))]
    try:
        parts = parse_multipart(body, request.headers.get("Content-Type", ""))
    except MultipartError as exc:
        raise UploadError(400, f"multipart: {exc}") from None
    files = []
    for index, part in enumerate(parts):
        if part.name != "data":
            raise UploadError(
                400, f"multipart part {index} is named {part.name!r}: every file must be 'data'"
            )
        if not part.filename:
            raise UploadError(400, f"multipart part {index} has no filename")
        try:
            name = check_file_name(decode_header(part.filename), f"part {index} filename")
        except (FileNameError, UnicodeDecodeError) as exc:
            raise UploadError(400, str(exc)) from None
        files.append(IncomingFile(name, part.data, part.content_type))
    return files


async def _process_upload(
    request: web.Request, kind: str, fault: Fault | None, entry: dict[str, Any]
) -> web.Response:
    config = request.app[CONFIG_KEY]
    store = request.app[STORE_KEY]
    if fault is not None and fault.close_after_bytes is not None:
        await _read_then_drop(request, fault.close_after_bytes, entry)
    body = await _read_body(request, config.max_body)
    entry["bodySize"] = len(body)
    if fault is not None and fault.status is not None:
        text = fault.body if fault.body is not None else f"fault injected: status {fault.status}"
        return web.Response(status=fault.status, text=text, content_type="text/plain")
    if fault is not None and fault.stall_seconds is not None:
        await asyncio.sleep(fault.stall_seconds)
    if not _api_key_ok(request):
        raise UploadError(401, "Missing or invalid x-api-key header")
    category = request.match_info["category"]
    check_category(category)
    files = _incoming_files(kind, request, body)
    options = parse_options(request.headers)
    policy = SignaturePolicy(config.hmac_key, config.require_valid_signature)
    samples = prepare_samples(files, category, options, policy, store)
    stored = store.add(samples)
    for hook in request.app[STORED_HOOKS]:
        hook(samples, stored)
    for sample, saved in zip(samples, stored, strict=True):
        print(
            f"stored sample {saved.sample_id}: {saved.path} ({len(sample.data)} bytes, "
            f"signature {sample.signature})",
            flush=True,
        )
    if kind == "data":
        return web.Response(text=stored[0].file_name, content_type="text/plain")
    return web.json_response(
        {
            "success": True,
            "files": [
                {"success": True, "fileName": saved.file_name, "sampleId": saved.sample_id}
                for saved in stored
            ],
        }
    )


async def handle_upload(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    faults = request.app[FAULTS_KEY]
    entry: dict[str, Any] = {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "headers": {k: v for k, v in request.headers.items() if k.lower() != "x-api-key"},
        "bodySize": 0,
        "outcome": None,
    }
    faults.record(entry)
    fault = faults.take()
    if fault is not None:
        entry["fault"] = {k: v for k, v in fault.describe().items() if k != "count"}
    try:
        response = await _process_upload(request, kind, fault, entry)
    except DroppedConnection:
        # The transport is already gone; this response is never written.
        return web.Response(status=499)
    except UploadError as exc:
        response = _error(kind, exc.status, exc.message)
        if exc.status == 413:
            response.force_close()
    except Exception as exc:  # any bug becomes a clear 500; the server keeps going
        traceback.print_exc()
        response = _error(kind, 500, f"internal error: {type(exc).__name__}: {exc}")
    entry["outcome"] = response.status
    return response


async def handle_samples(request: web.Request) -> web.Response:
    if not _api_key_ok(request):
        return web.Response(status=401, text="Missing or invalid x-api-key header")
    try:
        category, label = listing_filters(request.query)
    except ValueError as exc:
        return web.Response(status=400, text=str(exc))
    samples = request.app[STORE_KEY].list_samples(category, label)
    return web.json_response({"success": True, "samples": samples})


async def handle_raw(request: web.Request) -> web.StreamResponse:
    if not _api_key_ok(request):
        return web.Response(status=401, text="Missing or invalid x-api-key header")
    try:
        sample_id = int(request.match_info["sample_id"])
    except ValueError:
        return web.Response(status=404, text="no such sample")
    found = request.app[STORE_KEY].raw_path(sample_id)
    if found is None:
        return web.Response(status=404, text=f"no sample with id {sample_id}")
    path, content_type = found
    return web.Response(body=path.read_bytes(), content_type=content_type)


async def handle_add_fault(request: web.Request) -> web.Response:
    try:
        fault = parse_fault(json.loads(await request.read()))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return web.Response(status=400, text=f"fault: body is not JSON ({exc})")
    except FaultSpecError as exc:
        return web.Response(status=400, text=f"fault: {exc}")
    request.app[FAULTS_KEY].add(fault)
    return web.json_response({"success": True, "fault": fault.describe()})


async def handle_clear_faults(request: web.Request) -> web.Response:
    request.app[FAULTS_KEY].clear()
    return web.json_response({"success": True})


async def handle_fault_log(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS_KEY].log)


async def handle_clear_fault_log(request: web.Request) -> web.Response:
    request.app[FAULTS_KEY].log.clear()
    return web.json_response({"success": True})


def make_app(
    config: ServerConfig, store: SampleStore, security: Security | None = None
) -> web.Application:
    app = web.Application(client_max_size=config.max_body)
    app[CONFIG_KEY] = config
    app[STORE_KEY] = store
    app[FAULTS_KEY] = FaultState(config.enable_faults)
    app[STORED_HOOKS] = []
    # The dataset page, login and LAN safety (issues 17, 20): refused requests are logged by
    # the outer middleware, keys and sessions checked by the inner one (ingest.auth).
    app.middlewares.append(refusal_log_middleware)
    auth.install(app, security or Security(config.api_keys, local_trust=True, tls=False))
    page.install(app, store)
    app.router.add_post(r"/api/{category}/{kind:files|data}", handle_upload)
    app.router.add_get("/api/samples", handle_samples)
    app.router.add_get(r"/api/samples/{sample_id}/raw", handle_raw)
    if config.enable_faults:
        auth.handles_own_auth(app, "/_faults")  # test-only, loopback-only (ingest_server.py)
        app.router.add_post("/_faults", handle_add_fault)
        app.router.add_delete("/_faults", handle_clear_faults)
        app.router.add_get("/_faults/log", handle_fault_log)
        app.router.add_delete("/_faults/log", handle_clear_fault_log)
    return app
