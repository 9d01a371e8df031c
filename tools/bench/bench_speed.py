"""Board-side speed workloads (run by tools/bench/speed.py in the micropython interpreter).

Each function prints one line "name rows microseconds [bytes]". The naive baseline is the way
the docs' Python example and existing MicroPython clients do it: rows kept as lists, the
object serialised with json.dumps twice (placeholder, then the real signature), requests.post.
"""

import time

import ei_ingest

KEY = "bench-hmac-key"
XYZ = (("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2"))


class _Null:
    def write(self, b):
        return len(b)


def _value(i):
    return (i * 7919) % 4096 - 2048


def recording(rows, typecode="h"):
    rec = ei_ingest.Recording(XYZ, 10, rows, typecode)
    buf = rec.buffer
    if typecode == "f":
        for i in range(rows * 3):
            buf[i] = _value(i) * 0.01
    else:
        for i in range(rows * 3):
            buf[i] = _value(i)
    rec.commit_rows(rows)
    return rec


def encode(rows, fmt, typecode):
    rec = recording(rows, typecode)
    t0 = time.ticks_us()
    n = ei_ingest.dump(rec, _Null(), fmt=fmt, hmac_key=KEY, device_type="BENCH")
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("encode", fmt, typecode, rows, dt, n)


def naive_encode(rows, typecode):
    import bench_naive

    values = bench_naive.rows_as_lists(rows, typecode)
    t0 = time.ticks_us()
    text = bench_naive.body(values)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("naive-encode", "json", typecode, rows, dt, len(text))


def upload(rows, fmt, typecode, port, api_key):
    rec = recording(rows, typecode)
    client = ei_ingest.Client(api_key, KEY, "BENCH", host="127.0.0.1", port=port, tls=False)
    t0 = time.ticks_us()
    client.upload(rec, label="bench", fmt=fmt, disallow_duplicates=False, endpoint="data")
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("upload", fmt, typecode, rows, dt)


def naive_upload(rows, typecode, port, api_key):
    import bench_naive

    values = bench_naive.rows_as_lists(rows, typecode)
    t0 = time.ticks_us()
    bench_naive.post(bench_naive.body(values), "127.0.0.1", port, api_key)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("naive-upload", "json", typecode, rows, dt)
