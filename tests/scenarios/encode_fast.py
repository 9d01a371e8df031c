"""Viper emitters against the plain Python rows: the same recordings must give the same bytes.

Prints "same N" for N files compared, or the first difference, and exits non-zero on one.
"""

import io
import sys

import ei_cbor
import ei_ingest
import ei_json

EDGES = (-32768, -32767, -257, -256, -255, -25, -24, -23, -1, 0, 1, 9, 10, 23, 24, 99, 100,
         255, 256, 999, 1000, 9999, 10000, 32767)  # fmt: skip
UEDGES = (0, 1, 23, 24, 255, 256, 9999, 10000, 32767, 32768, 65535)


def files(rec):
    out = []
    for fmt in ("cbor", "json"):
        for fast in (True, False):
            ei_cbor.FAST = ei_json.FAST = fast
            b = io.BytesIO()
            ei_ingest.dump(rec, b, fmt=fmt, hmac_key="k", device_type="T")
            out.append(b.getvalue())
    ei_cbor.FAST = ei_json.FAST = True
    return out


compared = 0
for typecode, edges in (("h", EDGES), ("H", UEDGES)):
    for axes in range(1, 8):
        for rows in (1, 2, 37, 400):
            rec = ei_ingest.Recording([("a%d" % k, "u") for k in range(axes)], 10, rows, typecode)
            seed = axes * 7 + rows
            for r in range(rows):
                row = []
                for k in range(axes):
                    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                    row.append(edges[seed % len(edges)])
                rec.append(row)
            cbor_fast, cbor_plain, json_fast, json_plain = files(rec)
            if cbor_fast != cbor_plain or json_fast != json_plain:
                print("DIFFERENT", typecode, axes, rows)
                sys.exit(1)
            compared += 2
print("same", compared)
