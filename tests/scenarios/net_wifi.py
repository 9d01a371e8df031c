# Wi-Fi connect in the sim: argv = behaviour port timeout_ms retries; prints one JSON line.
# behaviour "env" leaves the sim as EI_SIM_WIFI / EI_SIM_WIFI_PORT set it at import.
import json
import sys
import time

import ei_errors
import ei_net
import network

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
except AttributeError:

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


behaviour, port, timeout_ms, retries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if behaviour != "env":
    network.sim(behaviour, port)
logs = []
ei_errors.set_log(logs.append)
t0 = ticks_ms()
try:
    ip = ei_net.connect("lab-ssid", "pw-SECRET-123", timeout_ms=timeout_ms, retries=retries)
    out = {"ok": True, "ip": ip, "connected": ei_net.connected()}
except ei_net.WifiError as e:
    out = {"ok": False, "cause": e.cause, "status": e.status, "msg": str(e)}
    out["is_oserror"] = isinstance(e, OSError)
    out["connected"] = ei_net.connected()
out["elapsed_ms"] = ticks_diff(ticks_ms(), t0)
out["connects"] = network.sim_stats()["connects"]
out["port"] = network.sim_stats()["port"]
out["logs"] = logs
print(json.dumps(out))
