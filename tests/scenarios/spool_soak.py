"""Board-side soak: CYCLES x (put one recording, flush it) against the local server, printing
the free heap after gc.collect() every 100 cycles.

usage: spool_soak.py SPOOL_DIR PORT CYCLES FIRST_ID  ->  lines "HEAP cycle free", then one JSON line
{"cycles": n, "delivered": d, "left": len(spool), "free": [free at cycle 0, 100, 200, ...]}
"""

import gc
import json
import sys

import ei_log
import ei_spool
import spool_common


def main(path, port, cycles, first):
    ei_log.set_log(None)  # not ei_errors: it loads only when something goes wrong
    spool = ei_spool.Spool(
        path, max_bytes=64 * 1024, hmac_key=spool_common.HMAC_KEY, device_type="SIM",
        device_name="soak",
    )  # fmt: skip
    client = spool_common.robust_client(port, timeout=5, device_name="soak")
    rec = spool_common.recording(0)
    delivered = 0
    free = [0] * (cycles // 100 + 1)  # allocated up front: the record must not grow the heap
    for cycle in range(1, cycles + 1):
        spool_common.fill(rec, first + cycle)
        spool.put(rec, label="soak", fmt="json" if cycle % 2 else "cbor")
        delivered += spool.flush(client)
        if cycle % 100 == 0:
            gc.collect()
            free[cycle // 100] = gc.mem_free()
            print("HEAP", cycle, free[cycle // 100])
    out = {"cycles": cycles, "delivered": delivered, "left": len(spool), "free": free}
    print(json.dumps(out))


main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
