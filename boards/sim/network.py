"""Simulated `network` module for the sim board: the real WLAN API, behaviour set by tests.

Controls (read at import, changed at run time with `sim()`):
- `EI_SIM_WIFI` = behaviour of the next `connect()`:
    "ok"              connects (after one CONNECTING poll)
    "wrong_password"  fails with STAT_WRONG_PASSWORD after ~20 ms
    "handshake_timeout"  ESP32: STAT_HANDSHAKE_TIMEOUT (how ESP-IDF shows a bad WPA2 password)
    "no_ap"           fails with STAT_NO_AP_FOUND after ~20 ms
    "fail"            fails with STAT_CONNECT_FAIL after ~20 ms
    "slow:<ms>"       CONNECTING for <ms> ms, then connected (rp2: code 2 "no IP yet" on the way)
    "never"           CONNECTING forever (a timeout)
    "drop_after:<n>"  connects; after <n> isconnected() checks that said True the link drops
                      (isconnected() False, status idle / beacon timeout); a new connect()
                      works again
    "drop_ms:<n>"     the same, but the link drops <n> ms after connect() (say mid-upload)
    "flaky:<k>"       the first <k> connect() calls find no access point, later ones connect
    "busy:<k>"        the first <k> connect() calls raise OSError (ESP32 "Wifi Internal
                      Error"), later ones connect
- `EI_SIM_WIFI_PORT` = which port's status codes: "rp2" (default: Pico W, 0..3 / -1..-3),
  "esp32" (1000/1001/1010, 200-212) or "bare" (no STAT_* constants at all, rp2 codes).

`sim(behaviour=None, port=None)` resets the interface; `sim_stats()` returns a dict with the
number of connect() calls and isconnected() checks; `sim_link_up()` says whether the link is up
now (the sim's `socket` refuses connections while it is not). The password is never stored.
"""

import os
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _ticks_diff(a, b):
        return a - b


STA_IF = 0
AP_IF = 1

_PORTS = {
    "rp2": {
        "STAT_IDLE": 0,
        "STAT_CONNECTING": 1,
        "STAT_GOT_IP": 3,
        "STAT_CONNECT_FAIL": -1,
        "STAT_NO_AP_FOUND": -2,
        "STAT_WRONG_PASSWORD": -3,
    },
    "esp32": {
        "STAT_IDLE": 1000,
        "STAT_CONNECTING": 1001,
        "STAT_GOT_IP": 1010,
        "STAT_BEACON_TIMEOUT": 200,
        "STAT_NO_AP_FOUND": 201,
        "STAT_WRONG_PASSWORD": 202,
        "STAT_ASSOC_FAIL": 203,
        "STAT_CONNECT_FAIL": 203,
        "STAT_HANDSHAKE_TIMEOUT": 204,
        "STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY": 210,
        "STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD": 211,
        "STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD": 212,
    },
}
# Raw codes the sim reports, per port: (idle, connecting, no-ip-yet, got-ip, wrong pw,
# handshake timeout, no ap, connect fail, dropped).
_CODES = {
    "rp2": (0, 1, 2, 3, -3, -3, -2, -1, 0),
    "esp32": (1000, 1001, 1001, 1010, 202, 204, 201, 203, 200),
}
_FAIL_MS = 20

_port = "rp2"
_codes = _CODES["rp2"]
_behaviour = "ok"
_state = {}


def _getenv(name, default):
    value = os.getenv(name) if hasattr(os, "getenv") else None
    return value if value else default


def sim(behaviour=None, port=None):
    """Set the behaviour and/or the port flavour, and reset the interface state."""
    global _behaviour, _port, _codes
    g = globals()
    if port is not None:
        if port not in ("rp2", "esp32", "bare"):
            raise ValueError("sim port: rp2, esp32 or bare")
        for table in _PORTS.values():
            for name in table:
                g.pop(name, None)
        if port != "bare":
            g.update(_PORTS[port])
        _port = port
        _codes = _CODES["esp32" if port == "esp32" else "rp2"]
    if behaviour is not None:
        _behaviour = behaviour
    _state.clear()
    _state.update(
        active=False,
        phase="idle",
        t0=0,
        connects=0,
        checks=0,
        up_checks=0,
        dropped=False,
        ssid=None,
        hostname="ei-sim",
    )


def sim_stats():
    return {"connects": _state["connects"], "checks": _state["checks"], "port": _port}


def sim_link_up():
    """True while the station is active, associated and has an address (what sockets need).

    Unlike isconnected() this counts no check, so it never moves a "drop_after:<n>" drop.
    """
    return _state["active"] and _phase() == "up"


def _arg(prefix):
    return int(_behaviour[len(prefix) :])


def _phase():
    """Advance the simulated link and return one of: idle, connecting, noip, up, fail:<i>."""
    st = _state
    phase = st["phase"]
    if phase == "up" and _behaviour.startswith("drop_ms:") and not st["dropped"]:
        if _ticks_diff(_ticks_ms(), st["t0"]) >= _arg("drop_ms:"):
            st["dropped"] = True
            st["phase"] = "dropped"
            return "dropped"
    if phase != "connecting":
        return phase
    elapsed = _ticks_diff(_ticks_ms(), st["t0"])
    b = _behaviour
    if b == "ok":
        st["phase"] = "up"
        return "connecting"
    if b.startswith("slow:"):
        ms = _arg("slow:")
        if elapsed >= ms:
            st["phase"] = "up"
            return "up"
        return "noip" if elapsed >= ms // 2 else "connecting"
    if b == "never":
        return "connecting"
    if b.startswith("drop_after:") or b.startswith("drop_ms:") or b.startswith("busy:"):
        st["phase"] = "up"
        return "up"
    if b.startswith("flaky:"):
        if st["connects"] > _arg("flaky:"):
            st["phase"] = "up"
            return "up"
        b = "no_ap"
    fails = {"wrong_password": 4, "handshake_timeout": 5, "no_ap": 6, "fail": 7}
    if b not in fails:
        raise ValueError("EI_SIM_WIFI: unknown behaviour " + repr(b))
    if elapsed >= _FAIL_MS:
        st["phase"] = "fail:{}".format(fails[b])
        return st["phase"]
    return "connecting"


class WLAN:
    """One shared link state for every WLAN(STA_IF) object, as on a board."""

    def __init__(self, interface=STA_IF):
        self._if = interface

    def active(self, is_active=None):
        if is_active is None:
            return _state["active"]
        _state["active"] = bool(is_active)
        if not is_active:
            _state["phase"] = "idle"
        return None

    def connect(self, ssid=None, key=None, *, bssid=None):
        if not _state["active"]:
            raise OSError("Wifi Not Started")
        del key  # the sim never keeps the password
        _state["ssid"] = ssid
        _state["connects"] += 1
        if _behaviour.startswith("busy:") and _state["connects"] <= _arg("busy:"):
            raise OSError("Wifi Internal Error")
        _state["t0"] = _ticks_ms()
        _state["phase"] = "connecting"
        _state["up_checks"] = 0

    def disconnect(self):
        _state["phase"] = "idle"

    def status(self, param=None):
        if param == "rssi":
            return -55
        if param is not None:
            raise ValueError("unknown status param")
        phase = _phase()
        c = _codes
        if phase == "up":
            return c[3]
        if phase == "noip":
            return c[2]
        if phase == "connecting":
            return c[1]
        if phase == "dropped":
            return c[8]
        if phase.startswith("fail:"):
            return c[int(phase[5:])]
        return c[0]

    def isconnected(self):
        _state["checks"] += 1
        up = _phase() == "up"
        if up and _behaviour.startswith("drop_after:") and not _state["dropped"]:
            _state["up_checks"] += 1
            if _state["up_checks"] > _arg("drop_after:"):
                _state["dropped"] = True
                _state["phase"] = "dropped"
                return False
        return up

    def _addr(self):
        if _phase() == "up":
            return ("192.168.4.2", "255.255.255.0", "192.168.4.1", "192.168.4.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def ifconfig(self, config=None):
        if config is not None:
            raise OSError("sim: static addresses are not simulated")
        return self._addr()

    def ipconfig(self, *args, **kwargs):
        if kwargs:
            return None
        if args == ("addr4",):
            a = self._addr()
            return (a[0], a[1])
        if args == ("gw4",):
            return self._addr()[2]
        if args == ("dhcp4",):
            return True
        raise ValueError("unknown config param")

    def config(self, *args, **kwargs):
        if kwargs:
            if "hostname" in kwargs:
                _state["hostname"] = kwargs["hostname"]
            return None
        if args == ("mac",):
            return b"\x02\xe1\x5a\x00\x00" + bytes((0x01 + self._if,))
        if args == ("ssid",):
            return _state["ssid"] or ""
        if args == ("hostname",):
            return _state["hostname"]
        if args in (("channel",), ("security",), ("pm",), ("reconnects",)):
            return 0
        raise ValueError("unknown config param")

    def scan(self):
        if _behaviour in ("no_ap",):
            return []
        return [(b"ei-sim", b"\x02\xe1\x5a\x00\x00\xaa", 6, -55, 3, False)]


_hostname = ["ei-sim"]


def hostname(name=None):
    if name is None:
        return _hostname[0]
    _hostname[0] = name
    return None


def country(code=None):
    return "XX" if code is None else None


def ipconfig(*args, **kwargs):
    if args == ("prefer",):
        return 4
    return None


sim(_getenv("EI_SIM_WIFI", "ok"), _getenv("EI_SIM_WIFI_PORT", "rp2"))
