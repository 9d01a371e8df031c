"""Board-side scenario: put recordings FIRST..FIRST+COUNT-1 into a spool and flush them through
a faulty network (the host's fault proxy) until the spool is empty.

usage: spool_faults.py SPOOL_DIR PORT FIRST COUNT  ->  one JSON line:
{"put": n, "rounds": r, "left": len(spool), "failed": [...], "files": [...], "waits": n,
"max_attempt": n}
"""

import json
import os
import sys

import ei_errors
import ei_spool
import spool_common


def main(path, port, first, count):
    ei_errors.set_log(None)
    spool = ei_spool.Spool(
        path, max_bytes=1 << 20, hmac_key=spool_common.HMAC_KEY, device_type="SIM",
        device_name="faults-mpy",
    )  # fmt: skip
    waits = []  # an injected delay: records the attempt numbers, sleeps nothing
    client = spool_common.robust_client(
        port,
        timeout=1,
        device_name="faults-mpy",
        delay=lambda attempt, left_ms: waits.append(attempt),
    )
    rec = spool_common.recording(first)
    rounds = 0
    for i in range(count):
        spool_common.fill(rec, first + i)
        spool.put(rec, label="fault", fmt="json" if i % 3 == 0 else "cbor")
        if i == count // 2:  # one the server refuses (413): it must end in failed/
            spool.put(spool_common.big_recording(first + count), label="big")
        if i % 5 == 4:
            rounds += spool_common.flush_all(spool, client)
    rounds += spool_common.flush_all(spool, client)
    out = {
        "put": count, "rounds": rounds, "left": len(spool), "failed": spool.failed(),
        "files": sorted(os.listdir(path)), "waits": len(waits), "max_attempt": max(waits or [0]),
    }  # fmt: skip
    print(json.dumps(out))


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
