# Epoch conversion and the clock: prints one JSON line. argv[1] = NTP behaviour for sync_time.
import json
import sys
import time

import ei_errors
import ei_net
import ntptime

ei_errors.set_log(None)

cases = [
    (0, 2000),  # ESP32 just booted: 2000-01-01
    (12345, 2000),
    (757382400, 2000),  # 2024-01-01 in ESP32 seconds
    (757382399, 2000),
    (1609459200, 1970),  # Pico W just booted: 2021-01-01
    (1704067200, 1970),
    (1704067199, 1970),
    (1764115200, 1970),
    (817430400, 2000),  # 2025-11-26 in ESP32 seconds
]
out = {"to_unix": [ei_net.to_unix(s, y) for s, y in cases]}
out["epoch_year"] = time.gmtime(0)[0]
out["time"] = time.time()
out["unix_time"] = ei_net.unix_time()
ntptime.sim(sys.argv[1])
out["sync"] = ei_net.sync_time(retries=2, delay_ms=5, host="ntp.example")
out["ntp_calls"] = ntptime.calls
out["ntp_host"] = ntptime.host
print(json.dumps(out))
