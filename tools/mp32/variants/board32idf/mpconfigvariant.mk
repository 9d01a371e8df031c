# ei_ingest's board32idf (ESP32-like heap): 32-bit words and 16-byte GC blocks, TLS outside it.
MICROPY_FORCE_32BIT = 1
MICROPY_PY_FFI = 0
MICROPY_PY_BTREE = 0

# FROZEN_MANIFEST is written and passed by tools/mp32/build.py (asyncio + what it freezes).
MPY_CROSS_FLAGS ?= -march=x86
