"""Board-side scenario: ei_ws and ei_remote pieces that need no network, in either runtime.

usage: ws_unit.py  ->  prints one JSON line with the results (checked by tests/test_ws.py)
"""

import json

import ei_remote
import ei_time
import ei_ws


def url_results():
    out = {}
    for url in (
        "ws://h",
        "wss://h.example:8443/p/q?x=1",
        "ws://10.0.0.2:4802/",
        "http://h",
        "ws://",
        "ws://u@h",
        "ws://h:0",
        "ws://h:65536",
        "ws://h:x",
        "wss://[::1]:1",
        3,
    ):
        try:
            out[str(url)] = list(ei_ws.parse_url(url))
        except ValueError as e:
            out[str(url)] = "ValueError: " + str(e)
    return out


def keepalive_results():
    # A fake clock in ms ticks just before this port's ticks wrap (2**30 on boards).
    wrap = ei_time.ticks_add(0, -1)
    t0 = wrap - 5000
    out = []
    for now, heard, pinged in (
        (t0 + 29999, t0, t0 - 1),  # never pinged: a PING "before" the last frame heard
        (t0 + 30000, t0, t0 - 1),
        (t0 + 39999, t0, t0 + 30000),
        (t0 + 40000, t0, t0 + 30000),
        (t0 + 40000, t0 + 35000, t0 + 30000),
        (t0 + 65000, t0 + 35000, t0 + 30000),
        (t0 + 50000, t0 + 30000, t0 + 30000),  # the PONG came in the PING's millisecond
    ):
        out.append(ei_remote.keepalive(now & wrap, heard & wrap, pinged & wrap, 30000, 10000))
    return out


class _Client:
    def upload(self, *args, **kwargs):
        raise AssertionError("not used")


def backoff_results():
    dev = ei_remote.Device("ws://127.0.0.1:9", "ei_k", _Client(), "id", "T")  # never connects
    return [dev.backoff_ms(n) for n in range(1, 25)]


def bad_calls():
    """The ValueError text of each bad call (None if it was accepted)."""
    import board
    import ei_ingest
    from sensors.mpu6050 import MPU6050  # the sim board's (boards/sim is on the path)

    imu = MPU6050(board.i2c(), gyro=False)
    rec3 = ei_ingest.Recording((("a", ""), ("b", ""), ("c", "")), 10, 5)
    rec1 = ei_ingest.Recording((("a", ""),), 10, 5)

    def device(url="ws://127.0.0.1:9", api_key="ei_k", client=None, device_id="id", spool=None):
        client = _Client() if client is None else client
        return ei_remote.Device(url, api_key, client, device_id, "T", spool=spool)

    calls = {
        "url": lambda: device(url="http://x"),
        "api_key": lambda: device(api_key=""),
        "client": lambda: device(client=3),
        "spool": lambda: device(spool="spool"),
        "device_id": lambda: device(device_id=3),
        "axes": lambda: device().add_sensor("Acc", (imu,), rec1),
        "not_rec": lambda: device().add_sensor("Acc", (imu,), [0] * 15),
        "rates": lambda: device().add_sensor("Acc", (imu,), rec3, (0,)),
        "too_fast": lambda: device().add_sensor("Acc", (imu,), rec3, (10000000,)),
        "serve": lambda: device().serve(),
        "wss_ca": lambda: ei_ws.WebSocket("wss://h"),
        "timeout": lambda: ei_ws.WebSocket("ws://h", timeout=0),
        "max_message": lambda: ei_ws.WebSocket("ws://h", max_message=100),
    }
    out = {}
    for name in calls:
        try:
            calls[name]()
            out[name] = None
        except ValueError as e:
            out[name] = str(e)
    d = device()
    d.add_sensor("Acc", (imu,), rec3, (100,))
    try:
        d.add_sensor("Acc", (imu,), rec3, (100,))
    except ValueError as e:
        out["duplicate"] = str(e)
    return out


print(
    json.dumps(
        {
            "bad": bad_calls(),
            "urls": url_results(),
            "accept": ei_ws.accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").decode(),
            "keepalive": keepalive_results(),
            "backoff": backoff_results(),
        }
    )
)
