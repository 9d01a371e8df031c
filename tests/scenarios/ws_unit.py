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
    ):
        out.append(ei_remote.keepalive(now & wrap, heard & wrap, pinged & wrap, 30000, 10000))
    return out


class _Client:
    def upload(self, *args, **kwargs):
        raise AssertionError("not used")


def backoff_results():
    dev = ei_remote.Device("ws://127.0.0.1:9", "ei_k", _Client(), "id", "T")  # never connects
    return [dev.backoff_ms(n) for n in range(1, 25)]


print(
    json.dumps(
        {
            "urls": url_results(),
            "accept": ei_ws.accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").decode(),
            "keepalive": keepalive_results(),
            "backoff": backoff_results(),
        }
    )
)
