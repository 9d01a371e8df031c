// mbedTLS for ei_ingest's board32: the unix port's settings plus the "bare metal" memory hooks
// (MBEDTLS_PLATFORM_STD_CALLOC = m_tracked_calloc), so TLS buffers are GC heap as on rp2.
#ifndef MICROPY_INCLUDED_MBEDTLS_CONFIG_H
#define MICROPY_INCLUDED_MBEDTLS_CONFIG_H

#define MBEDTLS_CIPHER_MODE_CTR // MICROPY_PY_CRYPTOLIB_CTR needs it (unix port setting)
#define MBEDTLS_TIMING_C
#define MBEDTLS_ECP_NIST_OPTIM // as rp2
#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)

#include "extmod/mbedtls/mbedtls_config_common.h"

// Bare metal assumes a hardware RNG; here the host's entropy source stands in for it.
#undef MBEDTLS_ENTROPY_HARDWARE_ALT
#undef MBEDTLS_NO_PLATFORM_ENTROPY

#endif
