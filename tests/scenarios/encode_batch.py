# Many recordings encoded in one process (both runtimes), for the host to decode independently.
#
# usage: encode_batch.py CASES.json OUT_DIR
# CASES.json: a list of {"id", "sensors", "interval_ms", "typecode", "scale", "rows",
# "device_type", "device_name", "iat", "hmac_key", "fmts"}; "rows" may be {"ramp": [n, lo, hi]}
# (n rows of one axis: lo, lo+1, ... wrapping at hi) to keep long cases small.
# Every case is written for each fmt, with the viper emitters on and off ("fast", "plain"), to
# a seekable file (one pass, digest patched) and to a write-only stream (two passes):
# OUT_DIR/<id>.<fmt>.<fast|plain>.<seek|stream>. Prints one JSON line: {file name: dump() result}.
import json
import sys

import ei_cbor
import ei_ingest
import ei_json


class _WriteOnly:
    """A non-seekable stream, like a socket: only write()."""

    def __init__(self, f):
        self._f = f

    def write(self, b):
        return self._f.write(b)


def recording(case):
    rows = case["rows"]
    if isinstance(rows, dict):
        n, lo, hi = rows["ramp"]
        count = n
    else:
        count = len(rows)
    rec = ei_ingest.Recording(
        [tuple(s) for s in case["sensors"]],
        case["interval_ms"],
        max(1, count),
        typecode=case.get("typecode", "h"),
        scale=case.get("scale"),
    )
    if isinstance(rows, dict):
        buf = rec.buffer
        span = hi - lo + 1
        for i in range(n):
            buf[i] = lo + i % span
        rec.commit_rows(n)
    else:
        for row in rows:
            rec.append(row)
    return rec


def main(cases_path, out_dir):
    with open(cases_path) as f:
        cases = json.load(f)
    written = {}
    for case in cases:
        rec = recording(case)
        kwargs = dict(
            hmac_key=case.get("hmac_key"),
            device_type=case.get("device_type", "SIM"),
            device_name=case.get("device_name"),
            iat=case.get("iat"),
        )
        for fmt in case.get("fmts", ("cbor", "json")):
            for fast in (True, False):
                ei_cbor.FAST = ei_json.FAST = fast
                for sink in ("seek", "stream"):
                    name = "%s.%s.%s.%s" % (case["id"], fmt, "fast" if fast else "plain", sink)
                    with open(out_dir + "/" + name, "w+b") as out:
                        stream = out if sink == "seek" else _WriteOnly(out)
                        written[name] = ei_ingest.dump(rec, stream, fmt=fmt, **kwargs)
        ei_cbor.FAST = ei_json.FAST = True
    print(json.dumps(written))


main(sys.argv[1], sys.argv[2])
