"""Which rows the viper emitters write, by default, in the micropython interpreter.

Their bytes are checked elsewhere (test_encode_widths: the same as the plain code's); this is
about the speed path being taken at all: int16 rows ('h', 'H') without a scale, up to 15 axes
in CBOR and 6 in JSON (a row must fit the stage's reserve); scaled int16 rows and float32 rows
through the value kernels. Everything else goes through the plain code. A spy replaces each
module's emitter and counts the calls.
"""

from __future__ import annotations

import json

from harness import run_micropython

CODE = """
import io, json, ei_cbor, ei_json, ei_ingest, ei_f32cbor, ei_f32text, ei_fixed
calls = {"cbor": 0, "json": 0, "cbor value": 0, "json value": 0}
def spy(fmt, real):
    def emit(*args):
        calls[fmt] += 1
        return real(*args)
    return emit
ei_cbor._rows16 = spy("cbor", ei_cbor._rows16)
ei_json._rows16 = spy("json", ei_json._rows16)
ei_f32cbor.rows16 = spy("cbor value", ei_f32cbor.rows16)
ei_fixed.rows16 = spy("json value", ei_fixed.rows16)
ei_f32text.rows16 = spy("json value", ei_f32text.rows16)
out = []
for axes, typecode, scale in ((1, "h", None), (6, "h", None), (7, "h", None), (15, "H", None),
                              (16, "h", None), (3, "i", None), (3, "h", 0.5), (2, "h", 0.0),
                              (4, "H", 0.5), (3, "i", 0.5), (1, "h", 10000.0), (1, "H", 5000.5),
                              (3, "f", None)):
    rec = ei_ingest.Recording([("a%d" % k, "") for k in range(axes)], 10, 40, typecode, scale)
    for r in range(40):
        rec.append([r + k for k in range(axes)])
    used = []
    for fmt in ("cbor", "json"):
        calls[fmt] = calls[fmt + " value"] = 0
        ei_ingest.dump(rec, io.BytesIO(), fmt=fmt, hmac_key="k", device_type="T")
        used.append(2 if calls[fmt + " value"] else 1 if calls[fmt] else 0)
    out.append([axes, typecode, scale is not None] + used)
print(json.dumps(out))
"""


def test_viper_emitters_take_int16_rows_by_default() -> None:
    proc = run_micropython(CODE, code=True)
    got = {(a, t, s): (c, j) for a, t, s, c, j in json.loads(proc.stdout.decode().splitlines()[-1])}
    # Which kernel wrote the rows, per format (CBOR, JSON): 0 the plain code, 1 the integer
    # viper kernel, 2 a value kernel (ei_f32cbor, ei_fixed, ei_f32text).
    assert got == {
        (1, "h", False): (1, 1),
        (6, "h", False): (1, 1),
        (7, "h", False): (1, 0),  # JSON: at most 6 axes
        (15, "H", False): (1, 0),  # CBOR: at most 15 axes
        (16, "h", False): (0, 0),
        (3, "i", False): (0, 0),  # not int16
        (3, "h", True): (2, 2),  # scaled: float32 in CBOR, fixed decimals in JSON
        (2, "h", True): (2, 2),  # a zero scale too (every value "0", no big int per value)
        (4, "H", True): (2, 2),
        (3, "i", True): (0, 0),  # scaled int32: the plain twins
        (1, "h", True): (2, 2),  # JSON: the factors 10000 (an integer) and 5000.5 (10001 / 2)
        (1, "H", True): (2, 2),  # fit the viper kernel's 14 bits
        (3, "f", False): (2, 2),  # float32: its bits in CBOR, the shortest text in JSON
    }
