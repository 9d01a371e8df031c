"""The remote management hub's timing and matching logic with a fake clock (no sockets, no
sleeping), the server's keep-alive decision, and its CBOR writer checked against cbor2."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import cbor2
import pytest
from ingest.cbor_writer import encode_cbor
from ingest.remote_hub import UPLOAD_GRACE_S, RemoteHub, SamplingError
from ingest.remote_ws import keepalive_action
from ingest.store import NewSample, StoredSample


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLink:
    def __init__(self, peer: str = "10.0.0.9") -> None:
        self.peer = peer
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


HELLO = {"version": 3, "apiKey": "ei_key", "deviceId": "dev", "deviceType": "T",
         "sensors": [{"name": "Acc", "maxSampleLengthS": 10, "frequencies": [100]}]}  # fmt: skip


def hub_with_device(device_id: str = "dev") -> tuple[RemoteHub, FakeClock, FakeLink, Any]:
    clock = FakeClock()
    hub = RemoteHub(["ei_key"], "hmac", clock=clock, wall=lambda: 1.7e9)
    link = FakeLink()
    device, replaced = hub.hello(link, dict(HELLO, deviceId=device_id))
    assert replaced is None
    return hub, clock, link, device


def start(hub: RemoteHub, device_id: str = "dev", **body: Any) -> Any:
    full = {"label": "wave", "lengthMs": 2000, "category": "training", "intervalMs": 10}
    full.update(body)
    return asyncio.run(hub.start_sampling(device_id, full))


def stored(label: str, category: str, device_name: str | None, sample_id: int) -> tuple:
    sample = NewSample(category=category, label=label, file_name=f"{label}.cbor", data=b"",
                       content_type="application/cbor", sha256="", metadata={},
                       upload_source=None, add_date_id=False, signature="valid",
                       device_name=device_name, rows=200, interval_ms=10.0)  # fmt: skip
    return [sample], [StoredSample(sample_id, f"{label}.cbor", "x")]


def test_a_request_times_out_after_its_length_and_the_grace() -> None:
    hub, clock, link, _ = hub_with_device()
    req = start(hub)
    assert link.sent[-1]["sample"]["path"] == "/api/training/data"
    clock.now += 2 + UPLOAD_GRACE_S - 0.001
    assert hub.request_state(req.id)["state"] == "requested"
    clock.now += 0.002
    state = hub.request_state(req.id)
    assert state["state"] == "failed" and "timed out" in state["error"]
    start(hub)  # the device is free again


def test_silence_is_allowed_while_sampling_and_uploading() -> None:
    hub, clock, _, device = hub_with_device()
    assert hub.silence_limit(device, 75) == 75
    start(hub, lengthMs=600_000)
    assert hub.silence_limit(device, 75) == pytest.approx(600 + UPLOAD_GRACE_S + 75)
    clock.now += 500
    assert hub.silence_limit(device, 75) == pytest.approx(100 + UPLOAD_GRACE_S + 75)
    hub.message(device, {"sample": False, "error": "no"})
    assert hub.silence_limit(device, 75) == 75


def test_progress_in_any_order_and_finished_only_when_stored() -> None:
    hub, clock, _, device = hub_with_device()
    req = start(hub)
    for msg in ({"sampleFinished": True}, {"sampleUploading": True}, {"sampleStarted": True}):
        clock.now += 1
        hub.message(device, msg)
    state = hub.request_state(req.id)
    assert state["state"] == "waiting-for-upload" and state["accepted"] is False
    assert state["progress"] == {"sampleFinished": 1, "sampleUploading": 2, "sampleStarted": 3}
    hub.on_stored(*stored("wave", "testing", "dev", 5))  # another category: not this one
    assert hub.request_state(req.id)["state"] == "waiting-for-upload"
    hub.on_stored(*stored("wave", "training", "dev", 6))
    state = hub.request_state(req.id)
    assert state["state"] == "finished" and state["sample"]["id"] == 6


def test_uploads_match_the_device_that_was_asked() -> None:
    hub, _, _, _ = hub_with_device("a")
    link_b = FakeLink()
    hub.hello(link_b, dict(HELLO, deviceId="b"))
    req_a, req_b = start(hub, "a"), start(hub, "b")
    hub.on_stored(*stored("wave", "training", "b", 9))
    assert hub.request_state(req_b.id)["sample"]["id"] == 9
    assert hub.request_state(req_a.id)["sample"] is None
    hub.on_stored(*stored("wave", "training", None, 10))  # no device name: the open one
    assert hub.request_state(req_a.id)["sample"]["id"] == 10


def test_disconnect_fails_the_open_request_but_a_replaced_link_does_not() -> None:
    hub, _, link, device = hub_with_device()
    req = start(hub)
    newer = FakeLink()
    new_device, replaced = hub.hello(newer, dict(HELLO))
    assert replaced is link
    hub.gone(device, link)  # the old session ends after the new one began
    assert hub.request_state(req.id)["state"] == "requested"
    assert hub.device("dev")["remote_mgmt_connected"] is True  # type: ignore[index]
    hub.gone(new_device, newer)
    assert "disconnected" in hub.request_state(req.id)["error"]
    with pytest.raises(SamplingError) as err:
        start(hub)
    assert err.value.status == 404


def test_a_board_that_closes_for_its_upload_reports_after_its_next_hello() -> None:
    hub, _, link, device = hub_with_device()
    req = start(hub)
    hub.message(device, {"sample": True})
    hub.message(device, {"sampleUploading": True})
    hub.gone(device, link)  # the websocket closes for the upload: not a failure yet
    assert hub.request_state(req.id)["state"] == "uploading"
    hub.on_stored(*stored("wave", "training", "dev", 3))
    again, _ = hub.hello(FakeLink(), dict(HELLO))
    hub.message(again, {"sampleFinished": True})
    assert hub.request_state(req.id)["state"] == "finished"


def test_a_request_from_a_connection_gone_silent_does_not_block_the_next() -> None:
    hub, _, link, device = hub_with_device()
    req = start(hub)
    hub.message(device, {"sampleUploading": True})
    hub.gone(device, link)
    hub.hello(FakeLink(), dict(HELLO))  # back, but says nothing about the old request
    newer = start(hub)
    assert "reconnected without saying" in hub.request_state(req.id)["error"]
    assert hub.request_state(newer.id)["state"] == "requested"
    with pytest.raises(SamplingError) as err:  # the new one, on the live link, does block
        start(hub)
    assert err.value.status == 409


def test_keepalive_decisions() -> None:
    # (now, last heard, last ping) with ping after 30 s, close after 75 s of silence
    assert keepalive_action(129.9, 100, None, 30, 75) is None
    assert keepalive_action(130, 100, None, 30, 75) == "ping"
    assert keepalive_action(140, 100, 130, 30, 75) is None  # pinged, waiting
    assert keepalive_action(160, 100, 130, 30, 75) == "ping"  # again after another 30 s
    assert keepalive_action(175, 100, 160, 30, 75) == "close"
    assert keepalive_action(175, 150, 130, 30, 75) is None  # heard since the ping
    assert keepalive_action(1000, 100, None, 30, 1200) == "ping"  # sampling: silence allowed


@pytest.mark.parametrize(
    "value",
    [
        {"hello": True, "serverTimestamp": 1764150000123},
        {"hello": False, "err": "Invalid API key é"},
        {"sample": {"label": "x", "length": 10000, "interval": 16.666666666666668,
                    "path": "/api/training/data", "hmacKey": "k" * 32}},
        {"list": [0, 23, 24, 255, 256, 65535, 65536, 2**32, -1, -24, -25, -2**40], "n": None},
        {"f": [0.5, -1e300, math.inf], "b": b"\x00\xff" * 200, "s": "a" * 300},
    ],
)  # fmt: skip
def test_cbor_writer_matches_cbor2(value: Any) -> None:
    assert cbor2.loads(encode_cbor(value)) == value
