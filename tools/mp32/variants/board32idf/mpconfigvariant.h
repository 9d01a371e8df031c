// ei_ingest's board32idf: the MicroPython unix port as a 32-bit stand-in for an ESP32 (esp32
// port) when measuring heap use. Same feature level and error messages as esp32; mbedTLS uses
// the system malloc, outside the GC heap, as on ESP32 (where it uses the ESP-IDF heap).

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#include "../mpconfigvariant_common.h"

#undef MICROPY_ERROR_REPORTING
#define MICROPY_ERROR_REPORTING (MICROPY_ERROR_REPORTING_NORMAL)
