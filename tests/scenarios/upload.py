"""Board-side scenario: build a Recording and upload it with ei_ingest.Client.

usage: upload.py SPEC.json  ->  prints one JSON line: {"stored": name, "seconds": t} or
{"error": class name, "status": .., "text": .., "retryable": .., "seconds": t}
"""

import json
import sys
import time

import ei_ingest
import ei_net


def recording(spec):
    rec = ei_ingest.Recording(
        [tuple(s) for s in spec["sensors"]],
        spec["interval_ms"],
        max(1, len(spec["rows"])),
        typecode=spec.get("typecode", "h"),
        scale=spec.get("scale"),
    )
    for row in spec["rows"]:
        rec.append(row)
    return rec


def main(path):
    with open(path) as f:
        spec = json.load(f)
    rec = recording(spec["recording"])
    ei_net.connect("sim-lab", "sim-password", retries=0)  # the sim's sockets need its Wi-Fi
    t0 = time.time_ns()
    try:
        if spec.get("robust"):
            import ei_robust

            waits = []
            client = ei_robust.Client(
                delay=lambda attempt, left_ms: waits.append(attempt), **spec["client"],
                **spec["robust"]
            )  # fmt: skip
        else:
            client = ei_ingest.Client(**spec["client"])
        via_file = spec.get("via_file")
        if via_file:
            # Store-and-forward shape: a signed file on flash, uploaded later from the file.
            c = spec["client"]
            fmt = spec.get("upload", {}).get("fmt", "cbor")
            with open(via_file, "wb") as f:
                ei_ingest.dump(rec, f, fmt, c["hmac_key"], c["device_type"], c.get("device_name"))
            name = client.upload_file(via_file, **spec.get("upload", {}))
        else:
            name = client.upload(rec, **spec.get("upload", {}))
        out = {"stored": name}
    except ei_ingest.IngestionError as e:
        out = {
            "error": type(e).__name__,
            "status": e.status,
            "text": e.text,
            "retryable": e.retryable,
            "refuses_file": e.refuses_file,
        }
    except ValueError as e:
        out = {"error": "ValueError", "text": str(e)}
    out["seconds"] = (time.time_ns() - t0) / 1e9
    print(json.dumps(out))


main(sys.argv[1])
