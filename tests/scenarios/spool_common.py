"""Shared by the spool scenarios (MicroPython and CPython) and the host tests that check them.

A recording's id is written into its values, so the server's copy says which recording it is
and every recording has distinct contents (x-disallow-duplicates compares whole files).
"""

import ei_ingest

ROWS = 20
SENSORS = (("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2"))
API_KEY = "ei_test_0123456789abcdef"  # tests/serverproc.py DEFAULT_API_KEY
HMAC_KEY = "fed53116f20684c067774ebf9e7bcbdc"  # tests/serverproc.py VECTOR_HMAC_KEY


def row(rid, j):
    return (rid % 30000, rid // 30000, j * 7 - 50)


def fill(rec, rid):
    """Fill `rec` (capacity ROWS, 3 axes, 'h') with recording `rid`'s rows."""
    rec.clear()
    for j in range(ROWS):
        rec.append(row(rid, j))
    return rec


def recording(rid):
    return fill(ei_ingest.Recording(SENSORS, 10, ROWS, typecode="h"), rid)


def big_recording(rid, rows=1000):
    """Recording `rid` with `rows` rows: too large for a server started with a small
    --max-body, which refuses it with 413 whatever the network does."""
    rec = ei_ingest.Recording(SENSORS, 10, rows, typecode="h")
    for j in range(rows):
        rec.append(row(rid, j))
    return rec


def rid_of(rows):
    """The id written into a recording's rows (as decoded on the host)."""
    first = rows[0]
    return int(first[0]) + 30000 * int(first[1])


def join_wifi():
    """Join the sim board's Wi-Fi (it connects at once): its sockets refuse to connect without
    it, as a board's do. Host tests that use this module without the sim board skip it, and
    so do runs with EI_SIM_SOCKETS=always (sockets without Wi-Fi: the heap soak)."""
    import os

    if getattr(os, "getenv", lambda name: None)("EI_SIM_SOCKETS") == "always":
        return
    try:
        import network  # noqa: F401 (boards/sim/network.py when the sim board is on the path)
    except ImportError:
        return
    import ei_net

    ei_net.connect("sim-lab", "sim-password", retries=0)


def robust_client(port, timeout=2, attempts=4, device_name="spool-test", **kw):
    import ei_robust

    join_wifi()
    return ei_robust.Client(
        API_KEY, HMAC_KEY, "SIM", device_name=device_name, host="127.0.0.1", port=port,
        tls=False, timeout=timeout, attempts=attempts, delay_ms=2, max_delay_ms=10, **kw
    )  # fmt: skip


def flush_all(spool, client, rounds=60):
    """Flush until the spool is empty, as a collect loop does: any error that keeps the files
    (network, 5xx, a wrong key for a while, a captive portal) is ridden out by flushing again
    next round; returns the rounds used."""
    for n in range(1, rounds + 1):
        try:
            spool.flush(client)
        except ei_ingest.IngestionError as e:
            if e.refuses_file:
                raise  # flush() handles those itself: one escaping is a bug
        if len(spool) == 0:
            return n
    raise AssertionError(f"spool not empty after {rounds} flush rounds: {len(spool)} left")
