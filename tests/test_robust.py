"""ei_robust.Client: which failures are retried, how long it waits, when it gives up, and why a
duplicate after a failed attempt means "delivered". Against the local server (a real process),
with the delay injected so the tests do not sleep.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import ei_robust
import pytest
import spool_common
from ei_errors import (
    ConnectionFailed,
    DuplicateError,
    MissingHeaderError,
    ServerError,
)
from faultproxy import FaultProxy
from harness import refusing_port
from serverproc import ServerProc
from stored import server_ids

pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


class Recorder:
    """An injected delay: remembers the attempts it was called for, sleeps nothing."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, attempt: int, left_ms: int) -> None:
        assert left_ms > 0, "no wait is asked for once the time is up"
        self.calls.append(attempt)


def client(port: int, delay: object = None, **kw: object) -> ei_robust.Client:
    args: dict[str, object] = dict(
        device_name="robust", host="127.0.0.1", port=port, tls=False, timeout=2, delay=delay
    )
    args.update(kw)
    return ei_robust.Client(spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", **args)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    c = client(1, delay_ms=100, max_delay_ms=1000)
    for attempt, cap in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000), (60, 1000)]:
        waits = [c.backoff_ms(attempt) for _ in range(300)]
        assert all(cap // 2 <= w <= cap for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 10, "jitter: devices must not retry in step"
    assert client(1, delay_ms=0).backoff_ms(3) == 0


class FakeClock:
    """ei_robust's ticks_ms and sleep_ms: time moves only when something sleeps (or a test
    says so), so time limits are checked exactly, whatever the machine's load."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000
        self.slept: list[int] = []
        monkeypatch.setattr(ei_robust, "ticks_ms", lambda: self.now)
        monkeypatch.setattr(ei_robust, "sleep_ms", self.sleep_ms)

    def sleep_ms(self, ms: int) -> None:
        self.slept.append(ms)
        self.now += ms


def test_default_delay_sleeps_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    c = client(1, delay_ms=60, max_delay_ms=60)
    for attempt in (1, 2, 3):
        c.delay(attempt, 10**6)
    assert len(clock.slept) == 3 and all(30 <= ms <= 60 for ms in clock.slept), clock.slept
    # Never longer than the time left of total_ms.
    c.delay(1, 7)
    assert clock.slept[-1] == 7


def test_default_delay_really_sleeps() -> None:
    """The real ei_time.sleep_ms, once: the wait is at least the backoff (a lower bound only,
    as load makes sleeps longer, never shorter)."""
    c = client(1, delay_ms=60, max_delay_ms=60)
    t0 = time.monotonic()
    c.delay(1, 10000)
    assert time.monotonic() - t0 >= 0.029


def test_retries_5xx_then_succeeds(server: ServerProc) -> None:
    server.clear_requests_seen()
    server.set_fault(status=503, count=2)
    delays = Recorder()
    c = client(server.port, delays)
    name = c.upload(spool_common.recording(1), label="retry")
    assert name and c.tries == 3 and delays.calls == [1, 2]
    assert [r["outcome"] for r in server.requests_seen()] == [503, 503, 200]


def test_attempts_are_bounded(server: ServerProc) -> None:
    server.clear_requests_seen()
    server.set_fault(status=500, count=10)
    delays = Recorder()
    c = client(server.port, delays, attempts=3)
    with pytest.raises(ServerError):
        c.upload(spool_common.recording(2))
    server.clear_faults()
    assert c.tries == 3 and delays.calls == [1, 2]
    assert len(server.requests_seen()) == 3


def test_total_time_is_bounded(server: ServerProc, monkeypatch: pytest.MonkeyPatch) -> None:
    server.clear_requests_seen()
    server.set_fault(status=500, count=100)
    clock = FakeClock(monkeypatch)
    lefts: list[int] = []

    def slow(attempt: int, left_ms: int) -> None:
        lefts.append(left_ms)
        clock.now += 150  # each wait takes 150 ms of the fake clock; requests take none

    c = client(server.port, slow, attempts=100, total_ms=400)
    with pytest.raises(ServerError):
        c.upload(spool_common.recording(3))
    server.clear_faults()
    # Attempts at 0, 150 and 300 ms; the wait after the third ends at 450 ms > 400: no fourth.
    assert c.tries == 3 and clock.now == 1000 + 450 and lefts == [400, 250, 100]
    assert len(server.requests_seen()) == 3


def test_no_attempt_starts_after_total_ms(
    server: ServerProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time used up by the attempts themselves (a slow server) also counts."""
    server.clear_requests_seen()
    server.set_fault(status=500, count=100)
    clock = FakeClock(monkeypatch)
    sent = ei_robust.ei_http.Client.send

    def slow_send(self: ei_robust.Client, req: object) -> str:
        clock.now += 250  # each attempt takes 250 ms of the fake clock
        return sent(self, req)  # type: ignore[arg-type, no-any-return]

    monkeypatch.setattr(ei_robust.ei_http.Client, "send", slow_send)
    delays = Recorder()
    c = client(server.port, delays, attempts=100, total_ms=600)
    with pytest.raises(ServerError):
        c.upload(spool_common.recording(3))
    server.clear_faults()
    # After attempt 2, 500 ms are gone and 100 left: one more; after it, 750 > 600: raised.
    assert c.tries == 3 and delays.calls == [1, 2]


def test_refusals_are_not_retried(server: ServerProc) -> None:
    server.clear_requests_seen()
    server.set_fault(status=421, count=1)
    delays = Recorder()
    c = client(server.port, delays)
    with pytest.raises(MissingHeaderError):
        c.upload(spool_common.recording(4))
    assert c.tries == 1 and delays.calls == []
    assert len(server.requests_seen()) == 1


def test_connection_refused_is_retried_then_raised() -> None:
    delays = Recorder()
    with refusing_port() as port:
        c = client(port, delays, attempts=4)
        with pytest.raises(ConnectionFailed, match="refused"):
            c.upload(spool_common.recording(5))
    assert c.tries == 4 and delays.calls == [1, 2, 3]


def test_lost_answer_retry_duplicate_is_delivered(server: ServerProc, tmp_path: Path) -> None:
    server.clear_requests_seen()
    delays = Recorder()
    with FaultProxy(server.port) as proxy:
        proxy.queue("truncate")  # the request arrives whole, the answer is cut
        c = client(proxy.port, delays)
        name = c.upload(spool_common.recording(6), label="lost", filename="lost.cbor")
        # Delivered, but only the lost answer named the stored file: None, never a guess.
        assert name is None and c.tries == 2 and delays.calls == [1]
        assert proxy.counts["truncate"] == 1 and proxy.counts["pass"] == 1
        # The same through upload_file, from a file on disk.
        path = tmp_path / "f.cbor"
        with open(path, "wb") as f:
            import ei_ingest

            ei_ingest.dump(spool_common.recording(7), f, "cbor", spool_common.HMAC_KEY, "SIM")
        c.close()  # the kept connection: the next upload opens a new one, through the reset
        proxy.queue("reset")
        proxy.reset_max = 10**6  # past the end of the request: the answer is lost
        assert c.upload_file(str(path), "cbor", label="lostfile") is None
    found = server_ids(server)
    assert found[6] == 1 and found[7] == 1
    outcomes = [r["outcome"] for r in server.requests_seen()]
    assert outcomes.count(400) == 2, outcomes


def test_duplicate_on_the_first_attempt_is_raised(server: ServerProc) -> None:
    c = client(server.port, Recorder())
    c.upload(spool_common.recording(8))
    with pytest.raises(DuplicateError):
        c.upload(spool_common.recording(8))
    assert c.tries == 1


def test_retries_over_tls_and_never_retries_a_certificate_error(tmp_path: Path) -> None:
    from ei_errors import TLSError
    from serverproc import make_test_ca

    ca = make_test_ca(tmp_path / "ca")
    other = make_test_ca(tmp_path / "other")
    with ServerProc(tmp_path / "data", tls=ca) as server:
        server.set_fault(status=502, count=1)
        delays = Recorder()
        c = client(server.port, delays, tls=True, ca=ca.ca_der)
        assert c.upload(spool_common.recording(9), label="tls")
        assert c.tries == 2 and delays.calls == [1]
        wrong = client(server.port, delays, tls=True, ca=other.ca_der)
        with pytest.raises(TLSError):
            wrong.upload(spool_common.recording(10))
        assert wrong.tries == 1 and delays.calls == [1], "a wrong CA is not retried"
        assert server_ids(server) == {9: 1}


def test_default_settings_bound_attempts_and_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented defaults, through the default delay: 5 attempts in all, waits doubling
    from 1 s, capped at 30 s. The jitter is pinned to its top (the wait is the whole cap) and
    to its bottom (half of it, rounded up), so an off-by-one default shows."""
    clock = FakeClock(monkeypatch)
    monkeypatch.setattr(ei_robust, "_random", lambda n: n - 1)
    with refusing_port() as port:
        c = client(port)
        with pytest.raises(ConnectionFailed):
            c.upload(spool_common.recording(11))
    assert c.tries == 5 and clock.slept == [1000, 2000, 4000, 8000]
    assert [c.backoff_ms(n) for n in (5, 6, 7)] == [16000, 30000, 30000]
    monkeypatch.setattr(ei_robust, "_random", lambda n: 0)
    assert [c.backoff_ms(n) for n in (1, 2, 6)] == [500, 1000, 15000]


def test_default_total_time_is_two_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """No attempt starts once 120 s have passed since the first one, and one still starts at
    119.999 s: each wait of the injected delay ends at a chosen time on the fake clock."""
    clock = FakeClock(monkeypatch)
    start = clock.now
    ends = [119999, 120000]
    lefts: list[int] = []

    def wait(attempt: int, left_ms: int) -> None:
        lefts.append(left_ms)
        clock.now = start + ends[attempt - 1]

    with refusing_port() as port:
        c = client(port, wait)
        with pytest.raises(ConnectionFailed):
            c.upload(spool_common.recording(12))
    assert c.tries == 2 and lefts == [120000, 1]


def test_doubling_stops_after_twenty_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a cap out of reach the wait stops doubling at delay_ms * 2**20: the shift stays a
    small int on a 32-bit board (1000 << 20 < 2**30) however many attempts are allowed."""
    monkeypatch.setattr(ei_robust, "_random", lambda n: n - 1)
    c = client(1, delay_ms=1, max_delay_ms=10**9)
    assert [c.backoff_ms(n) for n in (20, 21, 22, 60)] == [1 << 19, 1 << 20, 1 << 20, 1 << 20]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("attempts", 0, "attempts must be an int >= 1, not 0"),
        ("attempts", True, "attempts must be an int >= 1, not True"),
        ("attempts", 2.0, "attempts must be an int >= 1, not 2.0"),
        ("attempts", "3", "attempts must be an int >= 1, not '3'"),
        ("delay_ms", -1, "delay_ms must be an int >= 0, not -1"),
        ("max_delay_ms", None, "max_delay_ms must be an int >= 0, not None"),
        ("total_ms", False, "total_ms must be an int >= 0, not False"),
        ("delay", "soon", "delay must be a function(attempt, left_ms), not 'soon'"),
    ],
)
def test_bad_settings_are_refused_by_name(setting: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        client(1, **{setting: value})
    assert str(err.value) == message


def test_lowest_settings_are_accepted() -> None:
    c = client(1, attempts=1, delay_ms=0, max_delay_ms=0, total_ms=0)
    assert (c.attempts, c.delay_ms, c.max_delay_ms, c.total_ms) == (1, 0, 0, 0)
    assert c.tries == 0, "no send() yet"
    assert client(1).tries == 0


def test_no_wait_is_asked_for_when_no_time_is_left(
    server: ServerProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts that use up total_ms exactly: no delay(attempt, 0), the error is raised."""
    server.set_fault(status=500, count=100)
    clock = FakeClock(monkeypatch)
    sent = ei_robust.ei_http.Client.send

    def slow_send(self: ei_robust.Client, req: object) -> str:
        clock.now += 300
        return sent(self, req)  # type: ignore[arg-type, no-any-return]

    monkeypatch.setattr(ei_robust.ei_http.Client, "send", slow_send)
    delays = Recorder()  # fails the test if asked to wait 0 ms
    c = client(server.port, delays, attempts=100, total_ms=600)
    with pytest.raises(ServerError):
        c.upload(spool_common.recording(13))
    server.clear_faults()
    assert c.tries == 2 and delays.calls == [1]


def test_retries_and_delivered_duplicates_are_logged(
    server: ServerProc, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ei_log

    logs: list[str] = []
    monkeypatch.setattr(ei_log, "_log", [logs.append])
    server.set_fault(status=503, count=1)
    c = client(server.port, Recorder(), attempts=3)
    assert c.upload(spool_common.recording(14), label="logged")
    assert (
        len(logs) == 1
        and logs[0].startswith("attempt 1 of 3 failed (")
        and logs[0].endswith("): retrying")
    ), logs
    assert "503" in logs[0], "the failure is named"
    logs.clear()
    with FaultProxy(server.port) as proxy:
        proxy.queue("truncate")  # the request arrives whole, the answer is cut
        c = client(proxy.port, Recorder())
        assert c.upload(spool_common.recording(15), filename="lost-log.cbor") is None
    assert logs[-1] == "retry 2 found lost-log.cbor already stored: delivered", logs


def test_random_reaches_every_value_below_two_to_the_24() -> None:
    """_random(n) draws from 24 bits: for n = 2**24 the upper half is reached too."""
    import random

    random.seed(18)
    draws = [ei_robust._random(1 << 24) for _ in range(64)]
    assert all(0 <= d < 1 << 24 for d in draws)
    assert max(draws) >= 1 << 23, "only 23 bits drawn"


def test_without_random_the_clock_gives_the_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A firmware without `random` (or without getrandbits): the ticks, modulo n."""
    monkeypatch.setitem(sys.modules, "random", None)  # `import random` raises ImportError
    monkeypatch.setattr(ei_robust, "ticks_ms", lambda: 1234)
    assert [ei_robust._random(n) for n in (1000, 7, 1)] == [234, 2, 0]
