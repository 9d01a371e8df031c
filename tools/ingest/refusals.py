"""One log line for every refused request: status, method, path, peer and the reason.

For someone debugging a board: ``refused 401 POST /api/training/data from 192.168.1.40:
Missing or invalid x-api-key header``. The query string is left out (it is not ours to log),
and so is every header: no key can reach the log this way. Requests answered 429 by the
failed-key budget are not logged one by one (the budget logs each burst once). Requests the
HTTP parser itself refuses (a header line over the limit, too many headers) never reach the
application: :func:`log_parser_refusals` turns aiohttp's traceback for them into one line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

MAX_REASON = 300
REFUSAL_REASON = web.RequestKey("refusal_reason", str)  # set by whoever refuses, if they can
HELD = web.RequestKey("held", bool)  # answered 429 by the failed-key budget

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _reason(request: web.Request, response: web.StreamResponse) -> str:
    given = request.get(REFUSAL_REASON)
    if isinstance(given, str) and given:
        return given
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response.reason or "no reason given"
    body = response.body.decode("utf-8", "replace")
    if response.content_type == "application/json":
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, str) and error:
            return error
    if response.content_type == "text/plain" and body.strip():
        return body
    return response.reason or "no reason given"


def log_refusal(request: web.Request, status: int, reason: str) -> None:
    print(
        f"refused {status} {request.method} {request.path} from {request.remote}: "
        f"{_one_line(reason)}",
        flush=True,
    )


@web.middleware
async def refusal_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            log_refusal(request, exc.status, exc.text or exc.reason)
        raise
    if response.status >= 400 and not request.get(HELD):
        log_refusal(request, response.status, _reason(request, response))
    return response


class _ParserRefusalHandler(logging.Handler):
    """aiohttp logs a request its HTTP parser refuses (too many or too long headers) as a
    traceback; this prints it as one refusal line instead. Other records are printed as
    aiohttp wrote them."""

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            message = record.getMessage()
            peer = message.rsplit(" from ", 1)[1] if " from " in message else "?"
            # aiohttp quotes the offending bytes, which may be a header value: leave them out.
            reason = str(error.message).split(": b'")[0].split(': b"')[0]
            print(
                f"refused {error.code} (HTTP parser) from {peer}: {_one_line(reason)}", flush=True
            )
            return
        print(self.format(record), file=sys.stderr, flush=True)


def log_parser_refusals() -> None:
    """Route aiohttp's parser errors to one-line refusals (call once at start-up)."""
    logger = logging.getLogger("aiohttp.server")
    logger.addHandler(_ParserRefusalHandler())
    logger.propagate = False
