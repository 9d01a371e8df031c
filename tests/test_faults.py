"""Fault matrix: recordings put into a spool and flushed through a broken network reach the
server exactly once.

Two kinds of faults at once: the TCP fault proxy (tests/faultproxy.py: refuse, reset at a
random request offset, stall, truncated answer) between client and server, and the server's own
fault modes (5xx, close after N bytes, stall before storing) queued now and then. The server is
the oracle: every recording's id is in its values; each must be there once, signed, decodable.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import spool_common
from daq import decode, rows
from ei_spool import Spool
from faultproxy import MODES, FaultProxy
from harness import SCENARIOS, run_micropython
from serverproc import ServerProc
from stored import duplicates_answered, server_ids

WEIGHTS = {"pass": 10, "refuse": 2, "reset": 3, "stall": 1, "truncate": 3}
SERVER_FAULTS: list[dict[str, Any]] = [
    {"status": 503, "count": 2},
    {"status": 500, "count": 1},
    {"close_after_bytes": 150, "count": 1},
    {"stall_seconds": 0.8, "count": 1},
    {"status": 401, "body": "Missing or invalid x-api-key header", "count": 2},
    {"status": 200, "body": "<html><title>Hotel Wi-Fi</title>Log in</html>", "count": 1},
    {"status": 302, "body": "", "count": 1},
]
MAX_BODY = 4000  # a 20-row recording fits; big_recording() is refused with 413
REFUSAL = "413"


pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


def account(found: Counter[int], failed: list[Any], put: Iterable[int]) -> None:
    """Every recording put is stored exactly once, or listed by failed() with the server's
    words: never gone, never twice, never both."""
    failed_ids = Counter(rid for rid, _ in failed)
    assert all(REFUSAL in why for _, why in failed), failed
    assert set(found) | set(failed_ids) == set(put), "recordings gone"
    assert not set(found) & set(failed_ids), "stored and failed"
    assert all(n == 1 for n in found.values()) and all(n == 1 for n in failed_ids.values())


def failed_rid(spool: Path, seq: int) -> int:
    raw = (spool / "failed" / f"{seq:08d}.cbor").read_bytes()
    if not raw.startswith(b"\xa3"):
        raw = (spool / "failed" / f"{seq:08d}.json").read_bytes()
    return spool_common.rid_of(rows(decode(raw)))


def test_fault_matrix_200_recordings_cpython(tmp_path: Path) -> None:
    with (
        ServerProc(tmp_path / "data", max_body=MAX_BODY) as server,
        FaultProxy(server.port, WEIGHTS, seed=20261126, stall_seconds=5) as proxy,
    ):
        spool = Spool(
            str(tmp_path / "spool"), max_bytes=1 << 20, hmac_key=server.hmac_key,
            device_type="SIM", device_name="faults-cpy",
        )  # fmt: skip
        client = spool_common.robust_client(proxy.port, timeout=0.4, device_name="faults-cpy")
        rec = spool_common.recording(0)
        rounds = 0
        for batch in range(20):
            for k in range(10):
                rid = batch * 10 + k
                spool.put(spool_common.fill(rec, rid), label="fault", fmt=("cbor", "json")[k % 2])
            if batch % 5 == 0:  # one the server refuses, whatever the network does
                spool.put(spool_common.big_recording(1000 + batch), label="big")
            server.set_fault(**SERVER_FAULTS[batch % len(SERVER_FAULTS)])
            rounds += spool_common.flush_all(spool, client)
        server.clear_faults()
        assert len(spool) == 0
        failed = [(failed_rid(tmp_path / "spool", seq), why) for seq, why in spool.failed()]
        assert sorted(os.listdir(tmp_path / "spool")) == ["failed"]
        found = server_ids(server)
        assert sorted(rid for rid, _ in failed) == [1000, 1005, 1010, 1015]
        account(found, failed, [*range(200), 1000, 1005, 1010, 1015])
        # The matrix really ran: every proxy mode happened, and some answers were lost after the
        # server had stored the file (the retry was refused as a duplicate and counted as sent).
        assert all(proxy.counts[m] > 0 for m in MODES), proxy.counts
        assert duplicates_answered(server) > 0
        assert rounds > 20, "some flushes gave up on a retryable error and were resumed"


def test_fault_matrix_micropython(tmp_path: Path) -> None:
    with (
        ServerProc(tmp_path / "data", max_body=MAX_BODY) as server,
        FaultProxy(server.port, WEIGHTS, seed=7, stall_seconds=5) as proxy,
    ):
        proxy.queue("truncate", "reset", "refuse", "stall")  # each at least once
        server.set_fault(status=503, count=1)
        server.set_fault(status=401, body="Missing or invalid x-api-key header", count=1)
        server.set_fault(status=200, body="<html>captive portal</html>", count=1)
        proc = run_micropython(
            SCENARIOS / "spool_faults.py", str(tmp_path / "spool"), str(proxy.port), "1000", "40",
            timeout=90,
        )  # fmt: skip
        out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        assert out["left"] == 0 and out["files"] == ["failed"], out
        assert out["waits"] > 0 and 1 <= out["max_attempt"] < 4, "retries through delay()"
        found = server_ids(server)
        failed = [(failed_rid(tmp_path / "spool", seq), why) for seq, why in out["failed"]]
        assert [rid for rid, _ in failed] == [1040], out["failed"]
        account(found, failed, range(1000, 1041))
        assert all(proxy.counts[m] > 0 for m in MODES), proxy.counts
