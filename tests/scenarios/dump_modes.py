"""Board-side scenario: dump() into a file opened "ab" (after other bytes), "wb", "r+b", a file
name, and a stream that is not seekable; a dump that fails leaves no file behind.

usage: dump_modes.py WORK_DIR  ->  one JSON line {"ab": n, "wb": n, "rplus": n, "path": n,
"stream": n, "bad_left": bool}: the byte counts dump() returned
"""

import json
import os
import sys

import ei_ingest

KEY = "fed53116f20684c067774ebf9e7bcbdc"


class Sink:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data.extend(b)
        return len(b)


def main(work):
    rec = ei_ingest.Recording((("accX", "m/s2"), ("accY", "m/s2")), 10, 50, scale=0.5)
    for i in range(50):
        rec.append((i * 37 - 900, 1000 - i))
    out = {}
    with open(work + "/ab.cbor", "wb") as f:
        f.write(b"PREFIX")
    with open(work + "/ab.cbor", "ab") as f:
        out["ab"] = ei_ingest.dump(rec, f, "cbor", KEY, "SIM")
    with open(work + "/wb.json", "wb") as f:
        f.write(b"PREFIX")
        out["wb"] = ei_ingest.dump(rec, f, "json", KEY, "SIM")
    with open(work + "/rplus.cbor", "wb") as f:
        f.write(b"PREFIX" + b"x" * 3000)
    with open(work + "/rplus.cbor", "r+b") as f:
        f.seek(6)
        out["rplus"] = ei_ingest.dump(rec, f, "cbor", KEY, "SIM")
    out["path"] = ei_ingest.dump(rec, work + "/path.cbor", "cbor", KEY, "SIM")
    sink = Sink()
    out["stream"] = ei_ingest.dump(rec, sink, "cbor", KEY, "SIM")
    with open(work + "/stream.cbor", "wb") as f:
        f.write(sink.data)
    bad = ei_ingest.Recording((("x", "u"),), 10, 2, typecode="f")
    bad.append((1.0,))
    bad.buffer[1] = float("nan")
    bad.commit_rows(1)
    try:
        ei_ingest.dump(bad, work + "/bad.cbor", "cbor", KEY, "SIM")
    except ValueError:
        pass
    out["bad_left"] = "bad.cbor" in os.listdir(work)
    print(json.dumps(out))


main(sys.argv[1])
