"""The failed-key budget and the login sessions, with a fake clock (no timing on a real one).

The middleware is driven with mocked requests whose TCP peer is a LAN address (192.0.2.x): a
real connection from this machine would come from loopback, which the budget never holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from ingest.app import ServerConfig, make_app
from ingest.auth import COOKIE, SECURITY_KEY, Security, Sessions
from ingest.budget import FailureBudget
from ingest.store import SampleStore

KEY = "ei_budget_test_key_0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_spends_refills_and_holds() -> None:
    clock = FakeClock()
    budget = FailureBudget(capacity=3, refill_seconds=5, clock=clock)
    lan = "192.0.2.7"
    assert budget.wait_seconds(lan) == 0
    assert [budget.failed(lan) for _ in range(3)] == [False, False, True]  # burst starts once
    assert budget.wait_seconds(lan) == pytest.approx(5)
    clock.now += 4.0
    assert budget.wait_seconds(lan) == pytest.approx(1)
    clock.now += 1.0
    assert budget.wait_seconds(lan) == 0  # one try earned back
    assert budget.failed(lan) is False  # still the same burst: not logged again
    assert budget.wait_seconds(lan) == pytest.approx(5)
    assert budget.burst_over(lan) is None
    budget.hold(lan)
    budget.hold(lan)
    clock.now += 5.0
    ended = budget.burst_over(lan)
    assert ended is not None and (ended.address, ended.held) == (lan, 2)
    assert budget.burst_over(lan) is None  # reported once


def test_budget_never_counts_loopback_and_is_per_address() -> None:
    clock = FakeClock()
    budget = FailureBudget(capacity=2, refill_seconds=60, clock=clock)
    for address in ("127.0.0.1", "::1", "127.3.2.1"):
        assert not any(budget.failed(address) for _ in range(50))
        assert budget.wait_seconds(address) == 0
    budget.failed("192.0.2.1")
    budget.failed("192.0.2.1")
    assert budget.wait_seconds("192.0.2.1") > 0
    assert budget.wait_seconds("192.0.2.2") == 0


def test_budget_table_is_bounded() -> None:
    budget = FailureBudget(capacity=1, refill_seconds=60, clock=FakeClock(), max_addresses=3)
    for i in range(10):
        budget.failed(f"192.0.2.{i}")
    assert budget.wait_seconds("192.0.2.0") == 0  # dropped as the oldest
    assert budget.wait_seconds("192.0.2.9") > 0


def test_sessions_expire_and_are_capped() -> None:
    clock = FakeClock()
    sessions = Sessions(clock=clock)
    token = sessions.create()
    assert sessions.valid(token) and not sessions.valid("forged") and not sessions.valid(None)
    clock.now += 12 * 3600 + 1
    assert not sessions.valid(token)
    first = sessions.create()
    for _ in range(300):
        sessions.create()
    assert not sessions.valid(first)


@pytest.fixture
def lan_app(tmp_path: Path) -> tuple[web.Application, FakeClock]:
    config = ServerConfig((KEY,), None, 1 << 20, False, False)
    security = Security((KEY,), local_trust=False, tls=False, budget_capacity=3,
                        budget_refill_seconds=6)  # fmt: skip
    app = make_app(config, SampleStore(tmp_path / "data"), security)
    clock = FakeClock()
    app[SECURITY_KEY].budget.clock = clock
    return app, clock


def call(
    app: web.Application, path: str, peer: str, headers: dict[str, str] | None = None,
    method: str = "GET",
) -> web.StreamResponse:  # fmt: skip
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 50000) if name == "peername" else default
    )
    request = make_mocked_request(method, path, headers=headers or {}, app=app,
                                  transport=transport)  # fmt: skip

    async def handler(req: web.Request) -> web.StreamResponse:
        return web.Response(text="handled")

    async def run() -> web.StreamResponse:
        response = handler
        for middleware in reversed(app.middlewares):
            response = _wrap(middleware, response)
        return await response(request)

    return asyncio.run(run())


def _wrap(middleware: Any, inner: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        return await middleware(request, inner)  # type: ignore[no-any-return]

    return wrapped


def test_lan_peer_is_slowed_after_its_budget_and_logged_once(
    lan_app: tuple[web.Application, FakeClock], capsys: pytest.CaptureFixture[str]
) -> None:
    app, clock = lan_app
    peer = "192.0.2.50"
    wrong = {"x-api-key": "ei_guess"}
    assert [call(app, "/api/samples", peer, wrong).status for _ in range(3)] == [401] * 3
    held = call(app, "/api/samples", peer, {"x-api-key": KEY})
    assert held.status == 429 and held.headers["Retry-After"] == "7"
    assert [call(app, "/", peer, wrong).status for _ in range(5)] == [429] * 5
    assert call(app, "/api/samples", "192.0.2.51", {"x-api-key": KEY}).status == 200
    clock.now += 6
    assert call(app, "/api/samples", peer, wrong).status == 401  # one try per 6 s
    assert call(app, "/api/samples", peer, wrong).status == 429
    clock.now += 6 * 3
    assert call(app, "/api/samples", peer, {"x-api-key": KEY}).status == 200
    out = capsys.readouterr().out
    assert out.count("too many failed keys from 192.0.2.50") == 1
    assert "burst from 192.0.2.50 is over: 7 requests were answered 429" in out
    assert out.count("refused 429") == 0, "held requests are counted, not logged one by one"
    assert out.count("refused 401") == 4
    assert "ei_guess" not in out and KEY not in out


def test_missing_key_and_page_visits_do_not_spend_the_budget(
    lan_app: tuple[web.Application, FakeClock],
) -> None:
    app, _ = lan_app
    peer = "192.0.2.60"
    for _ in range(20):
        assert call(app, "/", peer).status == 401  # the login form, no key given
        assert call(app, "/api/samples", peer).status == 401
    assert call(app, "/api/samples", peer, {"x-api-key": KEY}).status == 200


def test_forwarded_headers_do_not_change_the_peer(
    lan_app: tuple[web.Application, FakeClock],
) -> None:
    app, _ = lan_app
    peer = "192.0.2.70"
    for i in range(3):
        headers = {"x-api-key": "ei_guess", "X-Forwarded-For": f"10.0.0.{i}",
                   "Forwarded": f"for=10.0.1.{i}"}  # fmt: skip
        assert call(app, "/api/samples", peer, headers).status == 401
    loopback_claim = {"x-api-key": KEY, "X-Forwarded-For": "127.0.0.1"}
    assert call(app, "/api/samples", peer, loopback_claim).status == 429


def test_session_cookie_opens_the_page_not_the_api(
    lan_app: tuple[web.Application, FakeClock],
) -> None:
    app, _ = lan_app
    token = app[SECURITY_KEY].sessions.create()
    cookie = {"Cookie": f"{COOKIE}={token}"}
    assert call(app, "/", "192.0.2.80", cookie).status == 200
    assert call(app, "/page/api/summary", "192.0.2.80", cookie).status == 200
    assert call(app, "/api/samples", "192.0.2.80", cookie).status == 401
    forged = {"Cookie": f"{COOKIE}=not-a-session"}
    assert call(app, "/page/api/summary", "192.0.2.80", forged).status == 401
    post = call(app, "/page/api/samples/1/delete", "192.0.2.80", cookie, method="POST")
    assert post.status == 403, "a cookie alone never changes anything: CSRF token needed"
