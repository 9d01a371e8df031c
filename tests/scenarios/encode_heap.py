"""Board-side proof that encoding and hashing rows allocates nothing per row.

1. heap_lock() around the row loops of both formats, fed into the HMAC: any allocation raises.
2. With the GC off, a whole signed file of 10 rows and of 2,000 rows allocate the same bytes.
Prints one line per check; exits non-zero on failure.
"""

import gc
import sys

import ei_cbor  # noqa: F401  (modules load before the lock: a load is not a per-row cost)
import ei_encode
import ei_ingest
import ei_json  # noqa: F401
import ei_values  # noqa: F401
import micropython


def recording(rows, typecode="h"):
    rec = ei_ingest.Recording((("x", "m/s2"), ("y", "m/s2"), ("z", "m/s2")), 10, rows, typecode)
    for i in range(rows):
        rec.append(((i * 7919) % 65536 - 32768, -i % 3000, i % 200))
    return rec


def locked_rows(fmt, scale=None):
    rec = recording(2000)
    rec.scale = scale
    enc = ei_encode.Encoder(256)
    mac = ei_encode.Hmac(b"key")
    enc.begin(mac.update, b"", fmt)
    micropython.heap_lock()
    try:
        enc.rows(rec, 0, len(rec))
    finally:
        micropython.heap_unlock()
    print("heap_lock rows", fmt, "ok", enc._count)


def allocated(rows, fmt):
    rec = recording(rows)
    enc = ei_encode.Encoder(256)
    head, _ = ei_encode.header(rec, fmt, True, "SIM", None, None)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    enc.measure(rec, fmt, head, b"key")
    used = gc.mem_alloc() - before
    gc.enable()
    return used


for fmt in ("cbor", "json"):
    locked_rows(fmt)
    # The same with the viper emitters off: the plain Python rows must not allocate either.
    ei_cbor.FAST = ei_json.FAST = False
    locked_rows(fmt)
    ei_cbor.FAST = ei_json.FAST = True
    # Negative control: scaled values are boxed floats, so the same check must catch them.
    try:
        locked_rows(fmt, scale=(0.5, 0.5, 0.5))
        print("FAIL: heap_lock did not catch float allocation")
        sys.exit(1)
    except MemoryError:
        print("heap_lock catches float allocation", fmt)
    small, large = allocated(10, fmt), allocated(2000, fmt)
    print("alloc", fmt, small, large)
    if small != large:
        print("FAIL: allocation grows with rows", small, large)
        sys.exit(1)
