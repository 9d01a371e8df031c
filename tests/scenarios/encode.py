"""Board-side scenario: build a Recording from a JSON spec and dump it; run by both runtimes.

usage: encode.py SPEC.json OUT  (mode "stream": two passes; "seek": one pass + patch)
Writes the file to OUT; prints the byte count dump() returned.
"""

import io
import json
import sys

import ei_ingest


class _WriteOnly:
    """A non-seekable stream, like a socket: only write()."""

    def __init__(self, f):
        self._f = f

    def write(self, b):
        return self._f.write(b)


def main(spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    rec = ei_ingest.Recording(
        [tuple(s) for s in spec["sensors"]],
        spec["interval_ms"],
        spec.get("capacity", max(1, len(spec["rows"]))),
        typecode=spec.get("typecode", "h"),
        scale=spec.get("scale"),
    )
    for row in spec["rows"]:
        rec.append(row)
    mode = spec.get("mode", "stream")
    kwargs = dict(
        fmt=spec.get("fmt", "cbor"),
        hmac_key=spec.get("hmac_key"),
        device_type=spec.get("device_type", "SIM"),
        device_name=spec.get("device_name"),
        iat=spec.get("iat"),
    )
    if mode == "seek":
        with open(out_path, "w+b") as out:
            n = ei_ingest.dump(rec, out, **kwargs)
    elif mode == "bytesio":
        buf = io.BytesIO()
        n = ei_ingest.dump(rec, buf, **kwargs)
        with open(out_path, "wb") as out:
            out.write(buf.getvalue())
    else:
        with open(out_path, "wb") as out:
            n = ei_ingest.dump(rec, _WriteOnly(out), **kwargs)
    print(n)


main(sys.argv[1], sys.argv[2])
