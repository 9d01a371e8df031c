# A link that drops <argv[1]> ms after connect: connected() is True before, False after, and
# connect() rejoins. Prints one JSON line.
import json
import sys
import time

import ei_errors
import ei_net
import network

ei_errors.set_log(None)

try:
    sleep_ms = time.sleep_ms
except AttributeError:

    def sleep_ms(ms):
        time.sleep(ms / 1000)


ms = int(sys.argv[1])
network.sim("drop_ms:" + sys.argv[1], sys.argv[2])
ip = ei_net.connect("lab-ssid", "pw-SECRET-123", timeout_ms=1000, retries=0)
before = ei_net.connected()
sleep_ms(ms + 50)
after = ei_net.connected()
status = network.WLAN(network.STA_IF).status()
ip2 = ei_net.connect("lab-ssid", "pw-SECRET-123", timeout_ms=1000, retries=0)
out = {"ip": ip, "before": before, "after": after, "status": status, "ip2": ip2}
out["connected_again"] = ei_net.connected()
print(json.dumps(out))
