# A link that drops after n checks (argv[1] = n): connected() turns False, connect() rejoins.
import json
import sys

import ei_errors
import ei_net
import network

ei_errors.set_log(None)

n = int(sys.argv[1])
network.sim("drop_after:" + sys.argv[1], sys.argv[2])
ip = ei_net.connect("lab-ssid", "pw-SECRET-123", timeout_ms=1000, retries=0)
seen = []
for _ in range(n + 3):
    seen.append(ei_net.connected())
dropped_status = network.WLAN(network.STA_IF).status()
ip2 = ei_net.connect("lab-ssid", "pw-SECRET-123", timeout_ms=1000, retries=0)
out = {"ip": ip, "seen": seen, "dropped_status": dropped_status, "ip2": ip2}
out["connected_after"] = ei_net.connected()
out["connects"] = network.sim_stats()["connects"]
ei_net.disconnect()
out["after_disconnect"] = [ei_net.connected(), network.WLAN(network.STA_IF).active()]
print(json.dumps(out))
