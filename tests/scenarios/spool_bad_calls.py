"""Board-side scenario: a table of bad calls to the spool, the retrying client and a Recording.
Each must raise at once (ValueError naming the field, or SpoolFull) without writing a spool file
or sending a request.

usage: spool_bad_calls.py WORK_DIR PORT  ->  one JSON line: {"cases": [[name, error class,
message, expected class, expected words], ...], "spool": [files], "pending": n, "tiny": [files]}
"""

import json
import os
import sys

import ei_errors
import ei_ingest
import ei_robust
import ei_spool
import spool_common

NAN = float("nan")


def main(work, port):
    ei_errors.set_log(None)
    path = work + "/spool"
    spool = ei_spool.Spool(path, hmac_key=spool_common.HMAC_KEY, device_type="SIM")
    tiny = ei_spool.Spool(work + "/tiny", max_bytes=100, hmac_key="k", device_type="SIM")
    client = spool_common.robust_client(port, timeout=2)
    good = spool_common.recording(7)
    a_file = work + "/a_file"
    with open(a_file, "w") as f:
        f.write("not a directory")
    floats = ei_ingest.Recording((("x", "u"),), 10, 4, typecode="f")
    floats.buffer[0] = NAN
    floats.commit_rows(1)
    huge = ei_ingest.Recording((("x", "u"),), 10, 4, typecode="f", scale=1e30)
    huge.append((1e10,))
    empty = ei_ingest.Recording((("x", "u"),), 10, 4)
    three = spool_common.recording(8)
    key = spool_common.HMAC_KEY

    def robust(**kw):
        return ei_robust.Client("ei_x", key, "SIM", host="127.0.0.1", port=port, tls=False, **kw)

    V = "ValueError"
    cases = [
        ("label with a newline", V, "label", lambda: spool.put(good, label="idle\n")),
        ("label with DEL", V, "label", lambda: spool.put(good, label="a\x7fb")),
        ("label empty", V, "label", lambda: spool.put(good, label="")),
        ("label not a string", V, "label", lambda: spool.put(good, label=5)),
        ("category unknown", V, "category", lambda: spool.put(good, category="train")),
        ("category None", V, "category", lambda: spool.put(good, category=None)),
        ("fmt unknown", V, "fmt", lambda: spool.put(good, fmt="xml")),
        ("fmt binary, 3 axes", V, "binary", lambda: spool.put(three, fmt="binary")),
        ("filename with a slash", V, "filename", lambda: spool.put(good, filename="a/b.cbor")),
        ("filename with a tab", V, "filename", lambda: spool.put(good, filename="a\tb")),
        ("filename empty", V, "filename", lambda: spool.put(good, filename="")),
        ("metadata empty key", V, "metadata", lambda: spool.put(good, metadata={"": "x"})),
        ("metadata int value", V, "metadata", lambda: spool.put(good, metadata={"a": 1})),
        ("metadata not a dict", V, "metadata", lambda: spool.put(good, metadata=["a"])),
        ("iat negative", V, "iat", lambda: spool.put(good, iat=-1)),
        ("iat zero", V, "iat", lambda: spool.put(good, iat=0)),
        ("iat in milliseconds", V, "iat", lambda: spool.put(good, iat=1732870000000)),
        ("iat 2**64", V, "iat", lambda: spool.put(good, iat=2**64)),
        ("iat True", V, "iat", lambda: spool.put(good, iat=True)),
        ("iat a float", V, "iat", lambda: spool.put(good, iat=1732870000.5)),
        ("upload iat 2**64", V, "iat", lambda: client.upload(good, iat=2**64)),
        ("upload iat in ms", V, "iat", lambda: client.upload(good, iat=1732870000000)),
        (
            "metadata over 2048 bytes",
            V,
            "2048",
            lambda: spool.put(good, metadata={"k": "x" * 2100}),
        ),
        (
            "upload metadata over 2048 bytes",
            V,
            "2048",
            lambda: client.upload(good, metadata={"a": "é" * 400}),
        ),
        ("path of no category", V, "category", lambda: spool.put(good, path="/api/x/files")),
        ("path with a query", V, "path", lambda: client.upload(good, path="/api/training/data?a")),
        ("endpoint unknown", V, "endpoint", lambda: spool.put(good, endpoint="file")),
        ("rec None", V, "rec", lambda: spool.put(None)),
        ("rec empty", V, "empty", lambda: spool.put(empty)),
        ("NaN row in the buffer", V, "axis x", lambda: spool.put(floats)),
        ("scaled value overflows", V, "axis x", lambda: spool.put(huge, fmt="json")),
        ("append NaN", V, "axis x", lambda: floats.append((NAN,))),
        ("append wrong row length", V, "row has 2 values", lambda: good.append((1, 2))),
        ("append out of range", V, "axis x", lambda: empty.append((40000,))),
        (
            "sensor name empty",
            V,
            "sensors[0] name",
            lambda: ei_ingest.Recording((("", "u"),), 10, 5),
        ),
        ("interval_ms zero", V, "interval_ms", lambda: ei_ingest.Recording((("a", "u"),), 0, 5)),
        (
            "interval_ms 1e-50",
            V,
            "interval_ms",
            lambda: ei_ingest.Recording((("a", "u"),), 1e-50, 5),
        ),
        ("interval_ms 1e39", V, "interval_ms", lambda: ei_ingest.Recording((("a", "u"),), 1e39, 5)),
        (
            "interval_ms 2**40",
            V,
            "interval_ms",
            lambda: ei_ingest.Recording((("a", "u"),), 2**40, 5),
        ),
        ("capacity zero", V, "capacity", lambda: ei_ingest.Recording((("a", "u"),), 10, 0)),
        ("spool path is a file", V, "is a file", lambda: ei_spool.Spool(a_file)),
        ("spool path under a file", V, "is a file", lambda: ei_spool.Spool(a_file + "/s")),
        ("spool path empty", V, "path must be a directory name", lambda: ei_spool.Spool("")),
        ("spool path None", V, "path must be a directory name", lambda: ei_spool.Spool(None)),
        ("spool path an int", V, "path must be a directory name", lambda: ei_spool.Spool(5)),
        ("spool path control", V, "path contains a control", lambda: ei_spool.Spool(path + "\n")),
        ("max_bytes zero", V, "max_bytes", lambda: ei_spool.Spool(work + "/m0", max_bytes=0)),
        ("max_bytes negative", V, "max_bytes", lambda: ei_spool.Spool(work + "/m1", max_bytes=-1)),
        (
            "max_bytes a string",
            V,
            "max_bytes",
            lambda: ei_spool.Spool(work + "/m2", max_bytes="1M"),
        ),
        ("max_bytes True", V, "max_bytes", lambda: ei_spool.Spool(work + "/m3", max_bytes=True)),
        ("spool hmac_key empty", V, "hmac_key", lambda: ei_spool.Spool(work + "/k", hmac_key="")),
        (
            "spool device_type control",
            V,
            "device_type",
            lambda: ei_spool.Spool(work + "/d", device_type="ES\nP32"),
        ),
        (
            "spool device_name empty",
            V,
            "device_name",
            lambda: ei_spool.Spool(work + "/n", device_name=""),
        ),
        ("flush without a client", V, "client", lambda: spool.flush(None)),
        ("flush limit negative", V, "limit", lambda: spool.flush(client, limit=-1)),
        ("flush limit a string", V, "limit", lambda: spool.flush(client, limit="2")),
        ("flush budget negative", V, "budget_ms", lambda: spool.flush(client, budget_ms=-1)),
        ("requeue of nothing", V, "no failed recording", lambda: spool.requeue(99)),
        ("discard of nothing", V, "no failed recording", lambda: spool.discard(99)),
        ("robust attempts zero", V, "attempts", lambda: robust(attempts=0)),
        ("robust delay_ms negative", V, "delay_ms", lambda: robust(delay_ms=-5)),
        ("robust total_ms a float", V, "total_ms", lambda: robust(total_ms=1.5)),
        ("robust delay not callable", V, "delay", lambda: robust(delay=5)),
        (
            "robust api_key empty",
            V,
            "api_key",
            lambda: ei_robust.Client("", key, "SIM", host="127.0.0.1", port=port, tls=False),
        ),
        ("upload label control", V, "label", lambda: client.upload(good, label="a\x00")),
        ("upload empty recording", V, "empty", lambda: client.upload(empty)),
        (
            "upload_file missing",
            V,
            "cannot be read",
            lambda: client.upload_file(work + "/nope.cbor", "cbor"),
        ),
        ("spool full", "SpoolFull", "full", lambda: tiny.put(good)),
    ]
    out = []
    for name, want, words, call in cases:
        try:
            call()
            got, text = "nothing", ""
        except Exception as e:  # noqa: BLE001 - the table records whatever was raised
            got, text = type(e).__name__, str(e)
        out.append([name, got, text, want, words])
    made = [n for n in ("m0", "m1", "m2", "m3", "k", "d", "n") if n in os.listdir(work)]
    print(json.dumps({
        "cases": out, "spool": sorted(os.listdir(path)), "failed": os.listdir(path + "/failed"),
        "pending": len(spool), "tiny": sorted(os.listdir(work + "/tiny")), "made": made,
    }))  # fmt: skip


main(sys.argv[1], int(sys.argv[2]))
