"""408 (request timeout) and 429 (too many requests) are retryable: ei_robust retries them, a
Spool keeps the file for the next flush. Other 4xx answers are refusals: never retried. The
local server (a real process) answers with the injected status; delays are injected, so
nothing sleeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ei_http
import ei_robust
import pytest
import spool_common
from ei_errors import IngestionError
from ei_spool import Spool
from harness import SCENARIOS, run_micropython
from serverproc import ServerProc
from stored import server_ids

pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


def robust(server: ServerProc, delays: list[int], **kw: Any) -> ei_robust.Client:
    return ei_robust.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1", port=server.port,
        tls=False, timeout=5, delay=lambda attempt, left_ms: delays.append(attempt), **kw,
    )  # fmt: skip


@pytest.mark.parametrize("status", [408, 429])
def test_plain_client_marks_them_retryable(fresh_server: ServerProc, status: int) -> None:
    fresh_server.set_fault(status=status, body="slow down", count=1)
    c = ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1",
        port=fresh_server.port, tls=False,
    )  # fmt: skip
    with pytest.raises(IngestionError) as err:
        c.upload(spool_common.recording(1000 + status))
    assert err.value.status == status and err.value.retryable is True
    assert err.value.text == "slow down"


@pytest.mark.parametrize("status", [408, 429])
def test_robust_client_retries_them(fresh_server: ServerProc, status: int) -> None:
    fresh_server.set_fault(status=status, count=2)
    delays: list[int] = []
    c = robust(fresh_server, delays)
    name = c.upload(spool_common.recording(1100 + status), label="retried")
    assert name and c.tries == 3 and delays == [1, 2]
    assert [r["outcome"] for r in fresh_server.requests_seen()] == [status, status, 200]
    assert server_ids(fresh_server) == {1100 + status: 1}


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 418, 422])
def test_other_4xx_are_not_retried(fresh_server: ServerProc, status: int) -> None:
    fresh_server.set_fault(status=status, count=5)
    delays: list[int] = []
    c = robust(fresh_server, delays)
    with pytest.raises(IngestionError) as err:
        c.upload(spool_common.recording(1200 + status))
    assert err.value.status == status and not err.value.retryable
    assert c.tries == 1 and delays == []
    assert len(fresh_server.requests_seen()) == 1


@pytest.mark.parametrize("status", [408, 429])
def test_spool_keeps_the_file_on_them(
    tmp_path: Path, fresh_server: ServerProc, status: int
) -> None:
    spool = Spool(str(tmp_path / "s"), hmac_key=spool_common.HMAC_KEY, device_type="SIM")
    spool.put(spool_common.recording(1300 + status))
    fresh_server.set_fault(status=status, count=1)
    plain = ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1",
        port=fresh_server.port, tls=False,
    )  # fmt: skip
    with pytest.raises(IngestionError):
        spool.flush(plain)
    assert len(spool) == 1 and spool.failed() == [], "retryable: the file waits"
    assert spool.flush(plain) == 1
    assert server_ids(fresh_server) == {1300 + status: 1}


def test_micropython_retries_408_and_429(fresh_server: ServerProc) -> None:
    """The same retry decision in the micropython interpreter."""
    fresh_server.set_fault(status=408, count=1)
    fresh_server.set_fault(status=429, count=1)
    code = (
        "import json, ei_errors, ei_robust, spool_common\nspool_common.join_wifi()\n"
        "ei_errors.set_log(None)\n"
        "waits = []\n"
        f"c = ei_robust.Client({spool_common.API_KEY!r}, {spool_common.HMAC_KEY!r}, 'SIM', "
        f"host='127.0.0.1', port={fresh_server.port}, tls=False, "
        "delay=lambda attempt, left_ms: waits.append(attempt))\n"
        "out = {'name': c.upload(spool_common.recording(1400)), 'tries': c.tries}\n"
        "out['waits'] = waits\n"
        "print(json.dumps(out))\n"
    )
    proc = run_micropython(
        code, code=True, env={"MICROPYPATH": f"{SCENARIOS}:lib:boards/sim:.frozen"}
    )
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert out["tries"] == 3 and out["waits"] == [1, 2]
    assert [r["outcome"] for r in fresh_server.requests_seen()] == [408, 429, 200]
    assert server_ids(fresh_server) == {1400: 1}
