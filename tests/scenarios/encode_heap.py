"""Board-side proof that encoding and hashing rows allocates nothing per row.

1. heap_lock() around the row loops of both formats, fed into the HMAC: any allocation raises.
   Raw int16, int16 with a scale and float32 rows; the first row goes before the lock (it
   loads the value modules and prepares the file's parameters, once per file).
2. With the GC off, a whole signed file of 10 rows and of 2,000 rows allocate the same bytes.
Prints one line per check; exits non-zero on failure.
"""

import gc
import sys

import ei_cbor  # noqa: F401  (modules load before the lock: a load is not a per-row cost)
import ei_f32cbor
import ei_f32text
import ei_fixed
import ei_float  # noqa: F401
import ei_ingest
import ei_json  # noqa: F401
import micropython


def recording(rows, typecode="h"):
    rec = ei_ingest.Recording((("x", "m/s2"), ("y", "m/s2"), ("z", "m/s2")), 10, rows, typecode)
    for i in range(rows):
        row = ((i * 7919) % 65536 - 32768, -i % 3000, i % 200)
        rec.append(row if typecode == "h" else (row[0] / 7, row[1] * 0.01, row[2] * 1e-4))
    return rec


def locked_rows(fmt, scale=None, typecode="h", what=""):
    rec = recording(2000, typecode)
    rec.scale = scale
    enc = ei_ingest.Encoder(256)
    mac = ei_ingest.Hmac(b"key")
    length = enc.measure(rec, fmt, b"", None)[0]
    chunks = enc.chunks(rec, fmt, b"")
    mac.update(next(chunks))  # the file's parameters and its first rows: once per file
    locked(chunks, mac, length // 256 - 1)  # every full chunk but the first
    for chunk in chunks:  # the last, short chunk is a new memoryview: once per file
        mac.update(chunk)
    print("heap_lock rows", fmt, what, "ok", length)


def locked(chunks, mac, n):
    micropython.heap_lock()
    try:
        while n:
            mac.update(next(chunks))
            n -= 1
    finally:
        micropython.heap_unlock()


def kernels(fast):
    ei_cbor.FAST = ei_json.FAST = ei_fixed.FAST = ei_f32cbor.FAST = ei_f32text.FAST = fast


def allocated(rows, fmt):
    rec = recording(rows)
    enc = ei_ingest.Encoder(256)
    head, _ = ei_ingest.header(rec, fmt, True, "SIM", None, None)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    enc.measure(rec, fmt, head, b"key")
    used = gc.mem_alloc() - before
    gc.enable()
    return used


SCALE = (9.80665 / 16384, 1 / 131, 0.01)
for fmt in ("cbor", "json"):
    locked_rows(fmt, what="int16")
    locked_rows(fmt, SCALE, what="scaled")
    locked_rows(fmt, typecode="f", what="float32")
    # The same with the viper emitters off: the plain Python int rows must not allocate either.
    ei_cbor.FAST = ei_json.FAST = False
    locked_rows(fmt, what="int16-plain")
    kernels(True)
    # JSON's fixed decimals are small ints in the plain twin too (CPython and 32-bit buffers).
    if fmt == "json":
        ei_fixed.FAST = False
        locked_rows(fmt, SCALE, what="scaled-plain")
        kernels(True)
    # Negative control: the plain twins of the float kernels box a float per value, so the
    # same check must catch them.
    for scale, typecode in ((SCALE, "h"), (None, "f")):
        if fmt == "json" and scale is not None:
            continue
        kernels(False)
        try:
            locked_rows(fmt, scale, typecode)
            print("FAIL: heap_lock did not catch float allocation")
            sys.exit(1)
        except MemoryError:
            print("heap_lock catches float allocation", fmt, typecode)
        kernels(True)
    small, large = allocated(10, fmt), allocated(2000, fmt)
    print("alloc", fmt, small, large)
    if small != large:
        print("FAIL: allocation grows with rows", small, large)
        sys.exit(1)
