"""Board-side workloads for the heap benchmarks (compiled to .mpy with lib/ by heapkit.py).

run(job, ...) does one job, then prints "heap <in use at start> <usable heap>" and "ok"; the
runner finds the smallest -X heapsize at which it still prints "ok". Rows are 3-axis int16,
written straight into the buffer as a sampler does.

    run("empty")                                  the interpreter and this module
    run("import", "ei_http", "ei_tls")            import these modules, in this order
    run("dump", rows, fmt)                        fill + signed dump() to a null stream
    run("dump-client", rows, fmt, host, port, key)  the same with a Client loaded and built
    run("upload", rows, fmt, host, port, key[, ca])  fill + Client.upload (HTTPS when ca)
    run("naive", rows, host, port, key)           lists + json.dumps twice + one POST
    run("flush", count, host, port, key, ca, keep, base)  put `count` recordings of 1,000 rows
                                                  into a fresh spool under `base`, flush them
                                                  (keep: one kept connection, else one per
                                                  file) over HTTPS; prints "ms <flush time>"
    run("motion", path_or_None, host, port)       examples/motion.py main(): from source when a
                                                  path is given (as `mpremote run` does), else
                                                  the compiled module
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


def _client(host, port, api_key, ca=None):
    import ei_ingest

    if ca:
        return ei_ingest.Client(api_key, KEY, "BENCH", host=host, port=port, tls=True, ca=ca)
    return ei_ingest.Client(api_key, KEY, "BENCH", host=host, port=port, tls=False)


def _motion(source, host, port):
    # What a user runs: examples/motion.py with board.py and config.py (both from source,
    # as `make deploy` copies them) on the path; 2 s at 100 Hz = 200 rows, HTTPS when
    # config.TLS.
    if source:
        with open(source) as f:
            text = f.read()
        scope = {"__name__": "motion_run"}
        exec(text, scope)
        text = None
        name = scope["main"]()
    else:
        import motion

        name = motion.main()
    if not name:
        raise RuntimeError("motion: nothing stored")


def _flush(count, host, port, api_key, ca, keep, base):
    import os

    import ei_http
    import ei_spool
    from ei_time import ticks_diff, ticks_ms, ticks_us

    rec = _filled(1000)
    client = ei_http.Client(
        api_key, KEY, "BENCH", host=host, port=port, tls=True, ca=ca, keep_alive=bool(keep)
    )
    run_id = ticks_us()  # a fresh spool, and contents no earlier run sent (duplicates)
    path = "%s/%d" % (base, run_id)
    os.mkdir(path)
    spool = ei_spool.Spool(path, max_bytes=1 << 26, client=client)
    for k in range(count):
        spool.put(rec, label="flush", iat=1700000000 + (run_id % 200000) * 500 + k)
    gc.collect()
    t = ticks_ms()
    if spool.flush(client) != count:
        raise RuntimeError("flush: not all delivered")
    print("ms", ticks_diff(ticks_ms(), t))


def run(job, *args):
    gc.collect()
    start = gc.mem_alloc()
    if job == "empty":
        pass
    elif job == "import":
        for name in args:
            __import__(name)
    elif job == "dump":
        import ei_ingest

        rec = _filled(args[0])
        gc.collect()
        ei_ingest.dump(rec, _Null(), fmt=args[1], hmac_key=KEY, device_type="BENCH")
    elif job == "dump-client":
        # Everything upload() needs loaded and allocated (code, Client buffers), then a dump:
        # upload minus this is what the transport itself costs while it runs.
        import ei_ingest

        rec = _filled(args[0])
        client = _client(*args[2:])
        gc.collect()
        ei_ingest.dump(rec, _Null(), fmt=args[1], hmac_key=KEY, device_type="BENCH")
        client.upload  # noqa: B018 (keeps the client alive through the dump)
    elif job == "upload":
        rec = _filled(args[0])
        client = _client(*args[2:])
        gc.collect()
        client.upload(rec, label="bench", fmt=args[1], disallow_duplicates=False)
    elif job == "flush":
        _flush(*args)
    elif job == "naive":
        import bench_naive

        bench_naive.post(bench_naive.body(bench_naive.rows_as_lists(args[0])), *args[1:])
    elif job == "motion":
        _motion(*args)
    else:
        raise ValueError(job)
    gc.collect()
    print("heap", start, gc.mem_free() + gc.mem_alloc())
    print("ok")
