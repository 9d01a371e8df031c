"""Board-side scenario for the power-loss test: collect and flush until killed.

usage: spool_power.py SPOOL_DIR PORT FIRST COUNT      put recordings FIRST.., flush every 2nd
       spool_power.py SPOOL_DIR PORT 0 0 final        resume, flush everything, print the state
Lines: "READY n" once the spool is open (n pending), "PUT id" before a put, "ACK id" after put
returned, "FLUSH" / "FLUSHED n" around a flush; final mode prints one JSON line.
"""

import json
import os
import sys

import ei_errors
import ei_ingest
import ei_spool
import spool_common


def main(path, port, first, count, final):
    ei_errors.set_log(None)
    spool = ei_spool.Spool(
        path, max_bytes=1 << 20, hmac_key=spool_common.HMAC_KEY, device_type="SIM",
        device_name="power",
    )  # fmt: skip
    client = spool_common.robust_client(port, timeout=2, attempts=2, device_name="power")
    print("READY", len(spool))
    if final:
        rounds = spool_common.flush_all(spool, client)
        out = {"rounds": rounds, "left": len(spool), "failed": spool.failed()}
        out["files"] = sorted(os.listdir(path))
        print(json.dumps(out))
        return
    rec = spool_common.recording(first)
    for i in range(count):
        rid = first + i
        spool_common.fill(rec, rid)
        print("PUT", rid)
        spool.put(rec, label="power", fmt="json" if rid % 4 == 0 else "cbor")
        print("ACK", rid)
        if i % 2:
            print("FLUSH")
            try:
                n = spool.flush(client)
            except ei_ingest.IngestionError:
                n = -1
            print("FLUSHED", n)


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), len(sys.argv) > 5)
