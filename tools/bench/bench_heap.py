"""Board-side workloads for the heap benchmark (compiled to .mpy with lib/ by tools/bench/heap.py).

Each run() does one job and prints "ok"; the runner finds the smallest -X heapsize at which it
still prints "ok". Rows are 3-axis int16, written straight into the buffer as a sampler does.
"""

import gc

KEY = "bench-hmac-key"


class _Null:
    def write(self, b):
        return len(b)


def _filled(rows):
    import ei_ingest

    rec = ei_ingest.Recording((("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")), 10, rows)
    buf = rec.buffer
    for i in range(rows * 3):
        buf[i] = (i * 7919) % 4096 - 2048
    rec.commit_rows(rows)
    return rec


def run(job, rows=0, fmt="cbor", host="127.0.0.1", port=0, api_key=""):
    if job == "empty":
        pass
    elif job == "import":
        import ei_ingest  # noqa: F401
    elif job == "dump":
        import ei_ingest

        rec = _filled(rows)
        gc.collect()
        ei_ingest.dump(rec, _Null(), fmt=fmt, hmac_key=KEY, device_type="BENCH")
    elif job == "dump-client":
        # Everything upload() needs loaded and allocated (code, Client buffers), then a dump:
        # upload minus this is what the transport itself costs while it runs.
        import ei_ingest

        rec = _filled(rows)
        client = ei_ingest.Client(api_key, KEY, "BENCH", host=host, port=port, tls=False)
        gc.collect()
        ei_ingest.dump(rec, _Null(), fmt=fmt, hmac_key=KEY, device_type="BENCH")
        client.upload  # noqa: B018 (keeps the client alive through the dump)
    elif job == "upload":
        import ei_ingest

        rec = _filled(rows)
        client = ei_ingest.Client(api_key, KEY, "BENCH", host=host, port=port, tls=False)
        gc.collect()
        client.upload(rec, label="bench", fmt=fmt, disallow_duplicates=False)
    else:
        raise ValueError(job)
    print("ok")
