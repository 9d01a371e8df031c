"""Board bring-up for uploads: Wi-Fi with a deadline, NTP time, Unix seconds for `iat`.

    import ei_net
    ip = ei_net.connect("my-ssid", "my-password", timeout_ms=15000, retries=2)
    ei_net.sync_time()            # NTP; returns Unix seconds or None
    iat = ei_net.unix_time()      # int seconds since 1970, or None if the clock was never set
    name = ei_net.mac()           # "aa:bb:cc:dd:ee:ff", a stable device_name

Wi-Fi status codes differ between ports (Pico W: 0..3 and -1..-3; ESP32: 1000/1001/1010 and
200-212), so they are only ever compared with the `network.STAT_*` constants that the running
port defines; a constant a port lacks matches nothing, and then `isconnected()` and the deadline
decide. A failed connection raises `WifiError` whose `cause` is one of "wrong_password", "no_ap",
"connect_fail" or "timeout" and whose message names the SSID, never the password.

`time.time()` counts from 2000 on the ESP32 and from 1970 on rp2 and unix; `unix_time()` reads
the port's epoch from `time.gmtime(0)` and returns None while the clock has not been set (a year
before 2024: the ESP32 boots at 2000-01-01, the Pico W at 2021-01-01), so callers leave `iat` out.

Runs on MicroPython and CPython (where `network` and `ntptime` come from boards/sim or a test).
Progress messages go through the library's one log hook: `ei_log.set_log(None)` silences
them, `ei_log.set_log(fn)` routes them.

Memory (peak heap, bisected with `-X heapsize=<n>w` on the unix port, i.e. 32-bit sizes):
importing ei_net.mpy costs about 1.3 KB; connect(), sync_time(), unix_time() and mac() add
under 0.1 KB on top (small ints and strs, no buffers). Importing ei_net.py from source needs
~15 KB for the compiler: deploy the .mpy (tools/deploy.py).
"""

from ei_log import log as _log
from ei_time import sleep_ms as _sleep_ms
from ei_time import ticks_diff as _ticks_diff
from ei_time import ticks_ms as _ticks_ms
from ei_time import to_unix, unix_time  # noqa: F401 (their home is ei_time: the clocks)
from micropython import const

_POLL_MS = const(100)


class WifiError(OSError):
    """Wi-Fi connection failed. `cause`: "wrong_password", "no_ap", "connect_fail", "timeout"."""

    def __init__(self, cause, message, status=None):
        super().__init__(message)
        self.cause = cause
        self.status = status


# Status constant names (as on the ports) -> cause. Looked up by name at run time so a
# constant that this port lacks simply never matches.
_FAIL_NAMES = (
    ("STAT_WRONG_PASSWORD", "wrong_password"),
    # ESP-IDF reports a bad WPA2 password as a 4-way handshake timeout.
    ("STAT_HANDSHAKE_TIMEOUT", "wrong_password"),
    ("STAT_NO_AP_FOUND", "no_ap"),
    ("STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY", "no_ap"),
    ("STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD", "no_ap"),
    ("STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD", "no_ap"),
    ("STAT_BEACON_TIMEOUT", "no_ap"),
    ("STAT_CONNECT_FAIL", "connect_fail"),
    ("STAT_ASSOC_FAIL", "connect_fail"),
)

_MESSAGES = {
    "wrong_password": "wrong Wi-Fi password for",
    "no_ap": "no Wi-Fi access point found named",
    "connect_fail": "Wi-Fi connection refused by",
    "timeout": "Wi-Fi connect timed out for",
}


def classify(status, net=None):
    """Map a `WLAN.status()` value to "connected", "connecting" or a failure cause.

    Unknown codes (e.g. the Pico W's 2, "joined, no IP yet") count as "connecting": the
    deadline, not a guess, ends the wait.
    """
    if net is None:
        import network as net
    got = getattr(net, "STAT_GOT_IP", None)
    if got is not None and status == got:
        return "connected"
    for name, cause in _FAIL_NAMES:
        code = getattr(net, name, None)
        if code is not None and status == code:
            return cause
    return "connecting"


def _wlan():
    import network

    return network, network.WLAN(network.STA_IF)


def _ip(wlan):
    try:
        return wlan.ipconfig("addr4")[0]
    except (AttributeError, ValueError, TypeError, OSError):
        return wlan.ifconfig()[0]


def _is_up(net, wlan):
    if not wlan.isconnected():
        return False
    got = getattr(net, "STAT_GOT_IP", None)
    return got is None or wlan.status() == got


def connected():
    """True while the station interface is associated and has an address."""
    net, wlan = _wlan()
    return wlan.active() and _is_up(net, wlan)


def connect(ssid, password, timeout_ms=15000, retries=2, hostname=None):
    """Join `ssid` and return the IP address as a str; raise WifiError naming the cause.

    Each attempt waits up to `timeout_ms`. A wrong password is not retried (retrying cannot
    help and some access points lock a client out); no access point, a refused association
    and a timeout are retried `retries` times. Returns at once if already connected.
    """
    if not ssid or not isinstance(ssid, str):
        raise ValueError("ssid must be a non-empty str (WIFI_SSID in config.py)")
    net, wlan = _wlan()
    if hostname:
        try:
            net.hostname(hostname)
        except (AttributeError, ValueError, OSError):
            pass
    wlan.active(True)
    if _is_up(net, wlan):
        return _ip(wlan)
    cause = "timeout"
    status = None
    for attempt in range(retries + 1):
        if attempt:
            _log("wifi: retry {} after {}".format(attempt, cause))
            try:
                wlan.disconnect()
            except OSError:
                pass
            _sleep_ms(_POLL_MS)
        _log("wifi: connecting to {!r}".format(ssid))
        cause = "timeout"
        try:
            wlan.connect(ssid, password)
        except OSError as e:
            # ESP32: "Wifi Internal Error" while a previous join is still winding down.
            _log("wifi: connect() refused: {}".format(e))
            cause = "connect_fail"
            continue
        start = _ticks_ms()
        while _ticks_diff(_ticks_ms(), start) < timeout_ms:
            status = wlan.status()
            state = classify(status, net)
            if state == "connected" or (state == "connecting" and _is_up(net, wlan)):
                ip = _ip(wlan)
                _log("wifi: connected, ip " + ip)
                return ip
            if state != "connecting":
                cause = state
                break
            _sleep_ms(_POLL_MS)
        if cause == "wrong_password":
            break
    try:
        wlan.disconnect()
    except OSError:
        pass
    raise WifiError(cause, "{} {!r} (status {})".format(_MESSAGES[cause], ssid, status), status)


def disconnect():
    """Leave the access point and switch the station interface off (saves power)."""
    _net, wlan = _wlan()
    try:
        wlan.disconnect()
    finally:
        wlan.active(False)


def mac():
    """The station MAC address as "aa:bb:cc:dd:ee:ff" (a stable device_name)."""
    _net, wlan = _wlan()
    raw = wlan.config("mac")
    return ":".join("{:02x}".format(b) for b in raw)


def sync_time(retries=3, host=None, delay_ms=1000):
    """Set the clock from NTP (`ntptime.settime()`), retrying; return unix_time() or None.

    Failures (no reply, DNS) are logged and retried; after the last one this returns None
    instead of raising, so a device can still upload without `iat`.
    """
    import ntptime

    if host:
        ntptime.host = host
    for attempt in range(retries + 1):
        try:
            ntptime.settime()
            now = unix_time()
            _log("ntp: clock set, unix time {}".format(now))
            return now
        except (OSError, OverflowError, IndexError) as e:
            _log("ntp: attempt {} failed: {!r}".format(attempt + 1, e))
            if attempt < retries:
                _sleep_ms(delay_ms)
    return None
