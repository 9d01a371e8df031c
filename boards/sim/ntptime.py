"""Simulated `ntptime` for the sim board: `settime()` succeeds or fails as a test asks.

`EI_SIM_NTP` (read at import) or `sim(behaviour)`: "ok" (default), "fail" (every call raises
OSError ETIMEDOUT, as a lost UDP reply does) or "fail:<n>" (the first <n> calls fail). The host
clock is already right, so a successful call changes nothing; `calls` counts the attempts.
"""

import os

host = "pool.ntp.org"
timeout = 1
calls = 0
_behaviour = "ok"


def sim(behaviour):
    global _behaviour, calls
    _behaviour = behaviour
    calls = 0


def settime():
    global calls
    calls += 1
    if _behaviour == "fail" or (_behaviour.startswith("fail:") and calls <= int(_behaviour[5:])):
        raise OSError(110)  # ETIMEDOUT


def time():
    import time as _t

    return int(_t.time())


sim((os.getenv("EI_SIM_NTP") if hasattr(os, "getenv") else None) or "ok")
