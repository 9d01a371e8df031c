"""Board-side scenario: one Client, many uploads (keep-alive, Nagle), or a spool flushed
through one Client.

usage: upload_many.py SPEC.json  ->  one JSON line {"stored": [...], "ms": [...], "errors": [...]}
SPEC: {"client": {...Client arguments}, "count": n, "rows": n, "nagle": bool (leave Nagle's
algorithm on: the control), "spool": dir or null (put count recordings, then one flush)}
"""

import json
import sys

import ei_ingest
import ei_net
import ei_wire
from ei_time import ticks_diff, ticks_us


def main(path):
    with open(path) as f:
        spec = json.load(f)
    if spec.get("nagle"):
        ei_wire._no_delay = lambda sock: None
    rows = spec.get("rows", 100)
    rec = ei_ingest.Recording((("a", "u"), ("b", "u"), ("c", "u")), 10, rows)
    for i in range(rows):
        rec.append((i % 3000, -i % 3000, 7))
    ei_net.connect("sim-lab", "sim-password", retries=0)  # the sim's sockets need its Wi-Fi
    client = ei_ingest.Client(**spec["client"])
    out = {"stored": [], "ms": [], "errors": []}
    if spec.get("spool"):
        import ei_spool

        spool = ei_spool.Spool(spec["spool"], client=client)
        for k in range(spec["count"]):
            spool.put(rec, label="many", iat=1700000000 + k)
        out["stored"].append(spool.flush(client))
        out["left"] = len(spool)
    else:
        for k in range(spec["count"]):
            t = ticks_us()
            try:
                out["stored"].append(
                    client.upload(rec, label="many", endpoint="data", iat=1700000000 + k)
                )
            except ei_ingest.IngestionError as e:
                out["errors"].append([type(e).__name__, str(e)])
            out["ms"].append(ticks_diff(ticks_us(), t) / 1000)
        client.close()
    print(json.dumps(out))


main(sys.argv[1])
