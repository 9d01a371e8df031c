"""Board-side naive baseline: the way the docs' Python example and existing MicroPython clients
do it. Rows are kept as lists, the object is serialised with json.dumps twice (placeholder,
then the real signature), and requests.post sends the string. In a module of its own so that
its code does not weigh on the ei_ingest jobs of the heap benchmark.
"""

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


def _value(i):
    return (i * 7919) % 4096 - 2048


def rows_as_lists(rows, typecode="h"):
    out = []
    i = 0
    for _ in range(rows):
        if typecode == "f":
            out.append([_value(i) * 0.01, _value(i + 1) * 0.01, _value(i + 2) * 0.01])
        else:
            out.append([_value(i), _value(i + 1), _value(i + 2)])
        i += 3
    return out


def body(values):
    import json

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
    return json.dumps(doc)


def _post_socket(text, host, port, api_key):
    # Stand-in for requests.post where the firmware has no requests module (the 32-bit heap
    # binaries freeze only asyncio; ESP32 and RP2 firmware freeze requests, so there its code
    # costs no heap). The same request, written the way a naive client writes it.
    import socket

    addr = socket.getaddrinfo(host, port)[0][-1]
    s = socket.socket()
    try:
        s.connect(addr)
        body = text.encode()
        s.write(
            ("POST /api/training/data HTTP/1.0\r\nHost: %s\r\nx-api-key: %s\r\n"
             "x-file-name: naive.json\r\nx-label: naive\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n" % (host, api_key, len(body))).encode()
        )  # fmt: skip
        s.write(body)
        status = int(s.readline().split(None, 2)[1])
    finally:
        s.close()
    return status


def post(text, host, port, api_key):
    try:
        import requests
    except ImportError:
        status = _post_socket(text, host, port, api_key)
        if status != 200:
            raise OSError("naive upload: HTTP %d" % status)
        return
    resp = requests.post(
        "http://%s:%d/api/training/data" % (host, port),
        data=text,
        headers={"x-api-key": api_key, "x-file-name": "naive.json", "x-label": "naive",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    status = resp.status_code
    resp.close()
    if status != 200:
        raise OSError("naive upload: HTTP %d" % status)


def run(rows, host, port, api_key):
    """The heap benchmark's naive job: fill, sign, upload."""
    post(body(rows_as_lists(rows)), host, port, api_key)
    print("ok")
