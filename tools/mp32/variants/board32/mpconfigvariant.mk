# ei_ingest's board32 (rp2-like heap): 32-bit words and 16-byte GC blocks, TLS in the GC heap.
MICROPY_FORCE_32BIT = 1
# Not on the boards, and not buildable static for 32-bit without extra libraries.
MICROPY_PY_FFI = 0
MICROPY_PY_BTREE = 0

# FROZEN_MANIFEST is written and passed by tools/mp32/build.py (asyncio + what it freezes).
# Native and viper code frozen into this binary is for the 32-bit x86 emitter.
MPY_CROSS_FLAGS ?= -march=x86

MBEDTLS_CONFIG_FILE = \"ei32_mbedtls.h\"
