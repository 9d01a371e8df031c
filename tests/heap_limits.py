"""Heap limits for tests/test_heap_limits.py: the one table to lower as lib/ gets leaner.

Each figure is the smallest `-X heapsize` (bytes, 16-byte bisection, exactly repeatable) at
which the job completed when the limit was last set, with lib/ as .mpy: 1,000 rows of 3-axis
int16, signed CBOR. The test allows MARGIN on top (a small change in lib/ should not need a
new table) and fails above it. When a figure drops, lower its entry here to the new value the
test prints, so the next regression shows.

The figures are `make bench`'s (tools/bench/heap.py, BENCHMARKS.md); the tests measure the same
jobs with the same key lengths and get the same bytes, except HTTPS: the tests' CA
(tests/serverproc.py) makes a certificate a few hundred bytes larger than the bench's.

`growth` is the usable heap a job needs per row beyond the buffer's 6 bytes, from 1,000 to
100,000 rows (dump): it should be 0; GC block rounding allows GROWTH_SLACK bytes in total.
"""

MARGIN = 0.02  # 2 % over the figure below
GROWTH_SLACK = 64  # bytes over 99,000 rows (two 32-byte GC blocks on the 64-bit port)

LIMITS = {
    # interpreter: {job: heapsize bytes}
    "unix64": {  # PyPI micropython, 64-bit: always measured (CI)
        "dump": 31_616,
        "upload": 55_056,
    },
    "board32": {  # $MICROPYTHON32/bin/micropython-board32 when present (TLS in the GC heap)
        "dump": 24_304,
        "upload": 44_032,
        "upload_https": 81_552,
    },
    "board32idf": {  # ... micropython-board32idf (TLS outside the GC heap, like ESP32)
        "upload_https": 50_768,
    },
}
