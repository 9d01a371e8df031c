"""Board-side speed workloads (run by tools/bench/speed.py in the micropython interpreter).

Each function prints one line "name rows microseconds [bytes]". Values: "h" raw int16 counts,
"s" the same counts with an IMU scale (m/s2 for +-2 g), "f" float32. The naive baseline is the
way the docs' Python example and existing MicroPython clients do it: rows kept as lists, the
object serialised with json.dumps twice (placeholder, then the real signature), requests.post.
"""

import time

import ei_ingest

KEY = "bench-hmac-key"
XYZ = (("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2"))
SCALE = 9.80665 / 16384  # MPU6050 at +-2 g: counts to m/s2


class _Null:
    def write(self, b):
        return len(b)


def _value(i):
    return (i * 7919) % 4096 - 2048


def recording(rows, values="h"):
    """3-axis rows: "h" int16 counts, "s" int16 counts with SCALE, "f" float32."""
    typecode = "f" if values == "f" else "h"
    rec = ei_ingest.Recording(XYZ, 10, rows, typecode, SCALE if values == "s" else None)
    buf = rec.buffer
    if typecode == "f":
        for i in range(rows * 3):
            buf[i] = _value(i) * 0.01
    else:
        for i in range(rows * 3):
            buf[i] = _value(i)
    rec.commit_rows(rows)
    return rec


def encode(rows, fmt, values):
    rec = recording(rows, values)
    t0 = time.ticks_us()
    n = ei_ingest.dump(rec, _Null(), fmt=fmt, hmac_key=KEY, device_type="BENCH")
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("encode", fmt, values, rows, dt, n)


def naive_encode(rows, typecode):
    """typecode "h": int rows; "f": float rows (the naive float way, also for scaled values)."""
    import bench_naive

    values = bench_naive.rows_as_lists(rows, typecode)
    t0 = time.ticks_us()
    text = bench_naive.body(values)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("naive-encode", "json", typecode, rows, dt, len(text))


def upload(rows, fmt, values, port, api_key):
    rec = recording(rows, values)
    client = ei_ingest.Client(api_key, KEY, "BENCH", host="127.0.0.1", port=port, tls=False)
    t0 = time.ticks_us()
    client.upload(rec, label="bench", fmt=fmt, disallow_duplicates=False, endpoint="data")
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("upload", fmt, values, rows, dt)


def naive_upload(rows, typecode, port, api_key):
    import bench_naive

    values = bench_naive.rows_as_lists(rows, typecode)
    t0 = time.ticks_us()
    bench_naive.post(bench_naive.body(values), "127.0.0.1", port, api_key)
    dt = time.ticks_diff(time.ticks_us(), t0)
    print("naive-upload", "json", typecode, rows, dt)
