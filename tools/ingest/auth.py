"""Who may use the server: API key, login cookie, CSRF tokens, and the failed-key budget.

Every request passes :func:`security_middleware` (installed by :func:`install`):

- ``/api/...`` (listing, raw, export) needs the ``x-api-key`` header. The upload endpoints
  (``POST /api/<category>/files|data``) check the key themselves, as before, so their answers
  keep the service's shape; a wrong key there still counts against the budget.
- Every other path (the page, its JSON under ``/page/api/``, static files, and anything added
  later such as device actions) needs one of: the ``x-api-key`` header, the login cookie, or
  *local trust*: the server is bound to loopback, the peer is loopback and the Host header names
  loopback (so a DNS-rebinding web page cannot borrow it). On a LAN bind there is no local trust.
- ``/login`` shows the form and takes the key (form field ``api_key``); on success it sets
  ``ei_session``: random, HttpOnly, SameSite=Strict, Secure under TLS, Path=/, 12 hours.
- Unsafe methods (POST, PUT, PATCH, DELETE) on page paths authorised by cookie or local trust
  need ``x-csrf-token`` (from ``GET /page/api/session``) and, when the browser sends Origin, an
  Origin equal to this server's. Requests carrying the key header need no token: a browser
  cannot add that header to a cross-site request.
- A wrong key spends the peer's :class:`~ingest.budget.FailureBudget`; an address without budget
  is answered 429 before anything else. The peer is the TCP peer: X-Forwarded-For and Forwarded
  are ignored (no proxy is trusted).

Other modules that add routes which check the key themselves (e.g. a Studio-like REST API) call
:func:`handles_own_auth` with their path prefix; page routes they add under ``/page/`` get the
cookie, local trust and CSRF rules with no extra code (:func:`request_auth` says which applied).
Memory: one entry per live session (at most ``MAX_SESSIONS``) and the budget's table.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiohttp import web

from ingest.budget import FailureBudget, is_loopback_address
from ingest.keys import LOOPBACK_NAMES
from ingest.loginpage import hardening_headers, login_page, safe_next
from ingest.refusals import HELD, REFUSAL_REASON

COOKIE = "ei_session"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 256
MAX_LOGIN_BODY = 4096
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
UPLOAD_PATH = re.compile(r"^/api/[^/]+/(files|data)$")
KEY_REFUSED = "Missing or invalid x-api-key header"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUTH = web.RequestKey("auth", str)  # "key", "session" or "local"
SESSION = web.RequestKey("session", str)  # the login token, when the cookie authorised
KEY_FAILED = web.RequestKey("key_failed", bool)  # a wrong key was presented


@dataclass(frozen=True)
class Security:
    """How this server authenticates (made by ingest_server.py from its flags)."""

    api_keys: tuple[str, ...]
    local_trust: bool  # bound to loopback: the page opens without login for loopback peers
    tls: bool  # cookies get the Secure flag
    budget_capacity: int = 10
    budget_refill_seconds: float = 6.0

    def __repr__(self) -> str:
        return f"Security(local_trust={self.local_trust}, tls={self.tls}, keys=<hidden>)"


class Sessions:
    """Login sessions: random tokens with an expiry, the oldest dropped beyond the cap."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def create(self) -> str:
        token = secrets.token_urlsafe(32)
        self._expiry[token] = self.clock() + SESSION_SECONDS
        while len(self._expiry) > MAX_SESSIONS:
            self._expiry.popitem(last=False)
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expiry = self._expiry.get(token)
        if expiry is None:
            return False
        if expiry < self.clock():
            del self._expiry[token]
            return False
        return True

    def drop(self, token: str | None) -> None:
        if token:
            self._expiry.pop(token, None)


@dataclass
class SecurityState:
    config: Security
    budget: FailureBudget
    sessions: Sessions
    secret: bytes
    self_auth_prefixes: list[str]

    def csrf_token(self, session: str | None) -> str:
        subject = (session or "local trust").encode()
        return hmac.new(self.secret, b"csrf\0" + subject, hashlib.sha256).hexdigest()


SECURITY_KEY = web.AppKey("security", SecurityState)


def key_matches(given: str | None, keys: tuple[str, ...]) -> bool:
    """Constant-time check of ``given`` against every key (no early exit on a match)."""
    raw = (given or "").encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(raw, key.encode("utf-8"))
    return matched and bool(raw)


def handles_own_auth(app: web.Application, prefix: str) -> None:
    """Routes under ``prefix`` check the key themselves (the middleware only applies the
    budget and counts their 401s as failed keys)."""
    app[SECURITY_KEY].self_auth_prefixes.append(prefix)


def request_auth(request: web.Request) -> str | None:
    """How this request was authorised: "key", "session", "local" or None."""
    return request.get(AUTH)


def request_session(request: web.Request) -> str | None:
    """The login token when the session cookie authorised this request."""
    return request.get(SESSION)


def _host_is_loopback(request: web.Request) -> bool:
    host = request.host.lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in LOOPBACK_NAMES or is_loopback_address(name)


def _local_trust(request: web.Request, state: SecurityState) -> bool:
    return (
        state.config.local_trust
        and is_loopback_address(request.remote)
        and _host_is_loopback(request)
    )


def _own_origin(request: web.Request, state: SecurityState) -> str:
    scheme = "https" if state.config.tls else "http"
    return f"{scheme}://{request.host}"


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    request[REFUSAL_REASON] = reason
    if request.path.startswith("/page/api/") or request.path.startswith("/api/"):
        return web.json_response({"success": False, "error": reason}, status=status)
    return web.Response(status=status, text=reason, content_type="text/plain")


def _csrf_problem(request: web.Request, state: SecurityState, session: str | None) -> str | None:
    origin = request.headers.get("Origin")
    if origin is not None and origin != _own_origin(request, state):
        return f"cross-site request refused (Origin {origin[:100]!r} is not this server)"
    token = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode(), state.csrf_token(session).encode()):
        return f"missing or wrong {CSRF_HEADER} header (get it from /page/api/session)"
    return None


def _page_auth(request: web.Request, state: SecurityState) -> tuple[str | None, str | None]:
    """(how the request is authorised, session token)."""
    token = request.cookies.get(COOKIE)
    if state.sessions.valid(token):
        return "session", token
    if _local_trust(request, state):
        return "local", None
    return None, None


def _self_authenticating(request: web.Request, state: SecurityState) -> bool:
    path = request.path
    if request.method == "POST" and UPLOAD_PATH.match(path):
        return True
    if path == "/login":
        return True
    return any(path.startswith(prefix) for prefix in state.self_auth_prefixes)


async def _authorise(
    request: web.Request, handler: Handler, state: SecurityState
) -> web.StreamResponse:
    if _self_authenticating(request, state):
        response = await handler(request)
        if response.status == 401 and "x-api-key" in request.headers:
            request[KEY_FAILED] = True
        return response
    header_key = request.headers.get("x-api-key")
    if header_key is not None:
        if not key_matches(header_key, state.config.api_keys):
            request[KEY_FAILED] = True
            return _refuse(request, 401, KEY_REFUSED)
        request[AUTH] = "key"
        return await handler(request)
    if request.path.startswith("/api/"):
        return _refuse(request, 401, KEY_REFUSED)
    how, session = _page_auth(request, state)
    if how is None:
        request[REFUSAL_REASON] = "login required"
        if request.method == "GET" and not request.path.startswith("/page/api/"):
            return login_page(request, status=401)
        return _refuse(request, 401, "login required: POST /login, or send x-api-key")
    if request.method not in SAFE_METHODS:
        problem = _csrf_problem(request, state, session)
        if problem:
            return _refuse(request, 403, problem)
    request[AUTH] = how
    if session is not None:
        request[SESSION] = session
    return await handler(request)


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[SECURITY_KEY]
    peer = request.remote
    wait = state.budget.wait_seconds(peer)
    if wait > 0 and peer is not None:
        state.budget.hold(peer)
        request[HELD] = True
        held = _refuse(request, 429, "too many failed keys from this address: slowed down")
        held.headers["Retry-After"] = str(int(wait) + 1)
        return held
    response = await _authorise(request, handler, state)
    if request.get(KEY_FAILED):
        if state.budget.failed(peer):
            print(
                f"too many failed keys from {peer}: its requests get 429 for a while "
                f"(one more try every {state.config.budget_refill_seconds:g} s); "
                "further refusals from it are counted, not logged, until then",
                flush=True,
            )
    elif response.status < 400:
        ended = state.budget.burst_over(peer)
        if ended is not None:
            print(
                f"failed-key burst from {ended.address} is over: {ended.held} requests were "
                "answered 429 meanwhile",
                flush=True,
            )
    return response


# --- login -------------------------------------------------------------------------------------


async def handle_login_form(request: web.Request) -> web.Response:
    return login_page(request)


async def handle_login(request: web.Request) -> web.Response:
    state = request.app[SECURITY_KEY]
    origin = request.headers.get("Origin")
    if origin is not None and origin != _own_origin(request, state):
        return _refuse(request, 403, "cross-site login refused")
    if (request.content_length or 0) > MAX_LOGIN_BODY:
        return _refuse(request, 413, f"login form over {MAX_LOGIN_BODY} bytes")
    body = await request.content.read(MAX_LOGIN_BODY + 1)
    if len(body) > MAX_LOGIN_BODY:
        return _refuse(request, 413, f"login form over {MAX_LOGIN_BODY} bytes")
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    given = (fields.get("api_key") or [""])[0]
    target = safe_next((fields.get("next") or ["/"])[0])
    if not key_matches(given, state.config.api_keys):
        if given:
            request[KEY_FAILED] = True
        request[REFUSAL_REASON] = "login with a wrong API key"
        return login_page(request, status=401, message="That is not this server's API key.")
    token = state.sessions.create()
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.config.tls,
    )
    hardening_headers(response)
    return response


async def handle_logout(request: web.Request) -> web.Response:
    state = request.app[SECURITY_KEY]
    state.sessions.drop(request.get(SESSION))
    response = web.json_response({"success": True})
    response.del_cookie(COOKIE, path="/")
    return response


def install(app: web.Application, config: Security) -> None:
    """Add the middleware, the login routes and the state (call before the app starts)."""
    budget = FailureBudget(config.budget_capacity, config.budget_refill_seconds)
    app[SECURITY_KEY] = SecurityState(config, budget, Sessions(), secrets.token_bytes(32), [])
    app.middlewares.append(security_middleware)
    app.router.add_get("/login", handle_login_form)
    app.router.add_post("/login", handle_login)
    app.router.add_post("/logout", handle_logout)
