// ei_ingest's board32: the MicroPython unix port as a 32-bit stand-in for an RP2040 (rp2 port)
// when measuring heap use. Same feature level and error messages as rp2 and esp32; mbedTLS
// allocates from the GC heap through the tracked allocator, as on rp2.

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#include "../mpconfigvariant_common.h"

// The unix port reports DETAILED errors; the boards NORMAL ones (shorter texts, less heap).
#undef MICROPY_ERROR_REPORTING
#define MICROPY_ERROR_REPORTING (MICROPY_ERROR_REPORTING_NORMAL)

// m_tracked_calloc/m_tracked_free: mbedTLS buffers come out of the GC heap (see ei32_mbedtls.h).
#define MICROPY_TRACKED_ALLOC (1)
