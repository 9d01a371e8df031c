"""What the local server stored of the spool scenarios' recordings (tests/scenarios/
spool_common.py writes a recording id into every value), checked independently of lib/."""

from __future__ import annotations

from collections import Counter

import spool_common
from daq import decode, rows, signature_valid
from serverproc import ServerProc


def server_ids(server: ServerProc) -> Counter[int]:
    """Recording id -> times stored; every stored file must be signed right and decode."""
    found: Counter[int] = Counter()
    for sample in server.samples():
        raw = server.raw(sample["id"])
        assert sample["signature"] == "valid", sample
        assert signature_valid(raw, server.hmac_key or ""), sample["fileName"]
        got = rows(decode(raw))
        assert len(got) == spool_common.ROWS, sample["fileName"]
        rid = spool_common.rid_of(got)
        assert got == [list(spool_common.row(rid, j)) for j in range(spool_common.ROWS)]
        found[rid] += 1
    return found


def duplicates_answered(server: ServerProc) -> int:
    return sum(1 for r in server.requests_seen() if r["outcome"] == 400 and "fault" not in r)
