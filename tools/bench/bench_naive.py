"""Board-side naive baseline for the heap benchmark, in a module of its own so that its code
does not weigh on the ei_ingest jobs (tools/bench/bench_heap.py)."""

KEY = "bench-hmac-key"


def _hmac_sha256_hex(key, msg):
    # MicroPython has no hmac module: naive clients carry a few lines like these.
    import binascii
    import hashlib

    key = key + b"\x00" * (64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return binascii.hexlify(outer.digest()).decode()


def run(rows, host, port, api_key):
    # The way the docs' Python example and existing MicroPython clients do it.
    import json

    import requests

    values = []
    for r in range(rows):
        i = r * 3
        values.append([(i * 7919) % 4096 - 2048, ((i + 1) * 7919) % 4096 - 2048,
                       ((i + 2) * 7919) % 4096 - 2048])  # fmt: skip
    doc = {
        "protected": {"ver": "v1", "alg": "HS256"},
        "signature": "0" * 64,
        "payload": {
            "device_type": "BENCH",
            "interval_ms": 10,
            "sensors": [{"name": n, "units": "m/s2"} for n in ("accX", "accY", "accZ")],
            "values": values,
        },
    }
    doc["signature"] = _hmac_sha256_hex(KEY.encode(), json.dumps(doc).encode())
    body = json.dumps(doc)
    resp = requests.post(
        "http://%s:%d/api/training/data" % (host, port),
        data=body,
        headers={"x-api-key": api_key, "x-file-name": "naive.json",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    if resp.status_code != 200:
        raise OSError(resp.status_code)
    resp.close()
    print("ok")
