# classify() for every STAT_* code of the sim port flavour argv[1]; prints one JSON line.
import json
import sys

import ei_errors
import ei_net
import network

ei_errors.set_log(None)

network.sim("ok", sys.argv[1])
codes = {}
for name in list(network.__dict__):  # dir() misses names added at run time on MicroPython
    if name.startswith("STAT_"):
        codes[name] = getattr(network, name)
out = {"named": {name: ei_net.classify(code) for name, code in codes.items()}}
out["raw"] = {str(c): ei_net.classify(c) for c in (-3, -2, -1, 0, 1, 2, 3, 200, 201, 202, 1010)}
out["mac"] = ei_net.mac()
print(json.dumps(out))
