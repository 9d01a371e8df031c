"""Remote management state: connected devices, their hellos, and each sampling request.

The local server plays Studio's side of Edge Impulse remote management. This module holds what
the websocket handler (:mod:`ingest.remote_ws`), the Studio-shaped REST API
(:mod:`ingest.remote_api`), the upload path (a stored-sample hook) and the dataset page
(:mod:`ingest.page_devices`) share; it does no I/O of its own except through each device's
:class:`Link`, and every time it reads comes from an injected clock, so tests drive it with a
fake one.

For a page (or any other caller):
    hub.device_list()                          Studio's Device objects, as JSON-ready dicts
    await hub.start_sampling(device_id, body)  body as Studio's StartSamplingRequest; the request
    hub.request_state(request_id)              one sampling request as a JSON-ready dict
"""

from __future__ import annotations

import hmac
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ingest.store import NewSample, StoredSample

# Studio's RawDataCategory for start-sampling.
SAMPLING_CATEGORIES = ("training", "testing", "validation", "post-processing")
MAX_SENSORS = 32
MAX_TEXT = 256  # longest deviceId, deviceType, sensor name or label
MAX_RATES = 64
MAX_LENGTH_MS = 24 * 3600 * 1000
UPLOAD_GRACE_S = 120.0  # after `lengthMs`, this long for the board to upload and report
KEPT_REQUESTS = 1000  # finished requests kept for status reads; older ones are forgotten
DEVICE_PROGRESS = (
    "sampleStarted",
    "sampleProcessing",
    "sampleReading",
    "sampleUploading",
    "sampleFinished",
)


class HelloError(ValueError):
    """A hello that is refused; the text is sent back as ``err`` (it never holds a key)."""


class HelloKeyError(HelloError):
    """The hello's API key is wrong: it spends the peer's failed-key budget."""


class SamplingError(Exception):
    """A start-sampling call refused: ``status`` (HTTP) and the text to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Link(Protocol):
    """One device's websocket as the hub sees it."""

    peer: str

    async def send(self, message: dict[str, Any]) -> None: ...


@dataclass
class Sensor:
    name: str
    max_sample_length_s: int | None
    frequencies: list[float]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "maxSampleLengthS": self.max_sample_length_s,
            "frequencies": self.frequencies,
        }


@dataclass
class Device:
    number: int
    device_id: str
    device_type: str
    sensors: list[Sensor]
    version: int
    connection: str
    mode: str
    snapshots: bool
    created: float
    last_seen: float
    link: Link | None = None
    host: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Studio's Device model (sdk/studio/sdk/model/device.ts)."""
        return {
            "id": self.number,
            "deviceId": self.device_id,
            "name": self.device_id,
            "created": _iso(self.created),
            "lastSeen": _iso(self.last_seen),
            "deviceType": self.device_type,
            "sensors": [s.as_json() for s in self.sensors],
            "remote_mgmt_connected": self.link is not None,
            "remote_mgmt_host": self.host,
            "supportsSnapshotStreaming": self.snapshots,
            "remoteMgmtMode": self.mode if self.link is not None else "disconnected",
            "helloVersion": self.version,
            "connection": self.connection,
        }


@dataclass
class SamplingRequest:
    id: int
    device_id: str
    label: str
    length_ms: int
    interval_ms: float
    sensor: str | None
    category: str
    path: str
    created: float  # hub clock (seconds)
    link: Link | None = None  # the connection the request went out on
    accepted: bool = False
    progress: dict[str, float] = field(default_factory=dict)  # event -> seconds after created
    progress_percentage: float | None = None
    error: str | None = None
    stored: dict[str, Any] | None = None

    @property
    def deadline(self) -> float:
        return self.created + self.length_ms / 1000 + UPLOAD_GRACE_S

    @property
    def open(self) -> bool:
        return self.error is None and not self.finished

    @property
    def finished(self) -> bool:
        """Done only when the board said so *and* its upload is in the dataset."""
        return "sampleFinished" in self.progress and self.stored is not None

    def state(self) -> str:
        if self.error is not None:
            return "failed"
        if self.finished:
            return "finished"
        if "sampleFinished" in self.progress:
            return "waiting-for-upload"
        for event, state in (
            ("sampleUploading", "uploading"),
            ("sampleProcessing", "processing"),
            ("sampleReading", "reading"),
            ("sampleStarted", "sampling"),
        ):
            if event in self.progress:
                return state
        return "accepted" if self.accepted else "requested"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deviceId": self.device_id,
            "label": self.label,
            "category": self.category,
            "sensor": self.sensor,
            "lengthMs": self.length_ms,
            "intervalMs": self.interval_ms,
            "path": self.path,
            "state": self.state(),
            "accepted": self.accepted,
            "progress": dict(self.progress),
            "progressPercentage": self.progress_percentage,
            "error": self.error,
            "sample": self.stored,
        }


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _text(hello: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = hello.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise HelloError(f"hello.{name} must be a non-empty string of at most {MAX_TEXT} chars")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def parse_sensors(version: int, raw: Any) -> list[Sensor]:
    """hello.sensors: names (v1) or {name, maxSampleLengthS, frequencies} (v2 and later)."""
    if not isinstance(raw, list) or len(raw) > MAX_SENSORS:
        raise HelloError(f"hello.sensors must be a list of at most {MAX_SENSORS} sensors")
    sensors = []
    for i, item in enumerate(raw):
        if version == 1:
            if not isinstance(item, str) or not item or len(item) > MAX_TEXT:
                raise HelloError(f"hello.sensors[{i}] must be a sensor name (version 1)")
            sensors.append(Sensor(item, None, []))
            continue
        if not isinstance(item, dict):
            raise HelloError(f"hello.sensors[{i}] must be an object with name and frequencies")
        name = item.get("name")
        if not isinstance(name, str) or not name or len(name) > MAX_TEXT:
            raise HelloError(f"hello.sensors[{i}].name must be a non-empty string")
        rates = item.get("frequencies", [])
        if (
            not isinstance(rates, list)
            or len(rates) > MAX_RATES
            or not all(_number(r) and r > 0 for r in rates)
        ):
            raise HelloError(f"hello.sensors[{i}].frequencies must be a list of numbers > 0")
        longest = item.get("maxSampleLengthS")
        if longest is not None and not (_number(longest) and longest >= 0):
            raise HelloError(f"hello.sensors[{i}].maxSampleLengthS must be a number >= 0")
        sensors.append(Sensor(name, None if longest is None else int(longest), list(rates)))
    return sensors


class RemoteHub:
    """Devices and sampling requests of one local project."""

    def __init__(
        self,
        api_keys: Sequence[str],
        hmac_key: str | None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._api_keys = tuple(k.encode() for k in api_keys)
        self._hmac_key = hmac_key
        self.clock = clock
        self.wall = wall
        self.devices: dict[str, Device] = {}
        self.requests: dict[int, SamplingRequest] = {}
        self._numbers = itertools.count(1)
        self._request_ids = itertools.count(1)

    # --- the websocket side ----------------------------------------------------------------

    def key_ok(self, given: Any) -> bool:
        if not isinstance(given, str):
            return False
        raw = given.encode("utf-8", "surrogateescape")
        matched = False
        for key in self._api_keys:  # every key, in constant time
            matched |= hmac.compare_digest(raw, key)
        return matched

    def hello(self, link: Link, hello: Any) -> tuple[Device, Link | None]:
        """Check a hello (the key first) and register its device. Returns the device and the
        link it replaces (one connection per deviceId: the newest wins)."""
        if not isinstance(hello, dict):
            raise HelloError("hello must be an object")
        if not self.key_ok(hello.get("apiKey")):
            raise HelloKeyError("Invalid API key")
        version = hello.get("version")
        if version not in (1, 2, 3, 4) or isinstance(version, bool):
            raise HelloError("hello.version must be 1, 2, 3 or 4")
        device_id = _text(hello, "deviceId")
        device_type = _text(hello, "deviceType")
        assert device_id is not None and device_type is not None
        connection = hello.get("connection", "ip")
        if connection not in ("ip", "daemon"):
            raise HelloError('hello.connection must be "ip" or "daemon"')
        snapshots = hello.get("supportsSnapshotStreaming", False) if version >= 3 else False
        if not isinstance(snapshots, bool):
            raise HelloError("hello.supportsSnapshotStreaming must be true or false")
        mode = hello.get("mode", "ingestion") if version >= 4 else "ingestion"
        if mode not in ("ingestion", "inference"):
            raise HelloError('hello.mode must be "ingestion" or "inference"')
        sensors = parse_sensors(version, hello.get("sensors", []))
        now = self.wall()
        old = self.devices.get(device_id)
        replaced = old.link if old is not None else None
        device = Device(
            number=old.number if old else next(self._numbers),
            device_id=device_id,
            device_type=device_type,
            sensors=sensors,
            version=version,
            connection=connection,
            mode=mode,
            snapshots=snapshots,
            created=old.created if old else now,
            last_seen=now,
            link=link,
            host=link.peer,
        )
        self.devices[device_id] = device
        return device, replaced

    def seen(self, device: Device) -> None:
        device.last_seen = self.wall()

    def gone(self, device: Device, link: Link) -> None:
        """The link closed: the device is disconnected. Its open request fails, unless it was
        uploading: a board may close its websocket for the upload (one TLS session at a time)
        and report after its next hello; the request's deadline still applies."""
        current = self.devices.get(device.device_id)
        if current is None or current.link is not link:
            return  # a newer connection of the same device took over
        current.link = None
        for req in self._open_requests(device.device_id):
            if "sampleUploading" not in req.progress:
                req.error = "the device disconnected before the sample was finished"

    def message(self, device: Device, msg: Any) -> None:
        """A device message (progress, sample true/false); anything else is ignored."""
        if not isinstance(msg, dict):
            return
        self.seen(device)
        open_ = self._open_requests(device.device_id)
        if not open_:
            return
        req = open_[-1]
        if "sample" in msg:
            if msg["sample"] is True:
                req.accepted = True
            else:
                why = msg.get("error") or msg.get("err") or "the device refused (no reason given)"
                req.error = str(why)[:1000]
            return
        for event in DEVICE_PROGRESS:
            if msg.get(event) is True:
                req.progress.setdefault(event, round(self.clock() - req.created, 3))
                if event == "sampleReading" and _number(msg.get("progressPercentage")):
                    req.progress_percentage = float(msg["progressPercentage"])

    def silence_limit(self, device: Device, silent_s: float) -> float:
        """How long this device may stay silent: longer while it samples and uploads (the board
        does not read its socket then)."""
        limit = silent_s
        for req in self._open_requests(device.device_id):
            limit = max(limit, req.deadline - self.clock() + silent_s)
        return limit

    # --- the Studio side -------------------------------------------------------------------

    def device_list(self) -> list[dict[str, Any]]:
        return [d.as_json() for d in sorted(self.devices.values(), key=lambda d: d.number)]

    def device(self, device_id: str) -> dict[str, Any] | None:
        found = self.devices.get(device_id)
        return found.as_json() if found else None

    def check_sampling(self, body: Any) -> dict[str, Any]:
        """Studio's StartSamplingRequest, checked; SamplingError(400) naming the bad field."""
        if not isinstance(body, dict):
            raise SamplingError(400, "body must be a JSON object (StartSamplingRequest)")
        label = body.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_TEXT:
            raise SamplingError(400, f"label must be a non-empty string of at most {MAX_TEXT}")
        length = body.get("lengthMs")
        if (
            not isinstance(length, int)
            or isinstance(length, bool)
            or not 0 < length <= MAX_LENGTH_MS
        ):
            raise SamplingError(400, f"lengthMs must be an integer in 1..{MAX_LENGTH_MS}")
        interval: Any = body.get("intervalMs")
        if not _number(interval) or not 0 < interval <= 3_600_000:
            raise SamplingError(400, "intervalMs must be a number > 0")
        category = body.get("category")
        if category not in SAMPLING_CATEGORIES:
            raise SamplingError(400, f"category must be one of {', '.join(SAMPLING_CATEGORIES)}")
        sensor = body.get("sensor")
        if sensor is not None and (not isinstance(sensor, str) or len(sensor) > MAX_TEXT):
            raise SamplingError(400, "sensor must be a string")
        return {"label": label, "lengthMs": length, "intervalMs": interval,
                "category": category, "sensor": sensor}  # fmt: skip

    async def start_sampling(self, device_id: str, body: Any) -> SamplingRequest:
        """Send a device a sample request (what Studio's "Start sampling" does)."""
        checked = self.check_sampling(body)
        device = self.devices.get(device_id)
        if device is None or device.link is None:
            raise SamplingError(404, f"device {device_id!r} is not connected")
        for old in self._open_requests(device_id):
            if old.link is not device.link:  # sent on a connection since gone; had the board's
                # last word been coming, it would have followed its new hello
                old.error = "the device reconnected without saying how the sample ended"
        busy = self._open_requests(device_id)
        if busy:
            raise SamplingError(409, f"device {device_id!r} is busy with request {busy[0].id}")
        req = SamplingRequest(
            id=next(self._request_ids),
            device_id=device_id,
            label=checked["label"],
            length_ms=checked["lengthMs"],
            interval_ms=checked["intervalMs"],
            sensor=checked["sensor"] or (device.sensors[0].name if device.sensors else None),
            category=checked["category"],
            path=f"/api/{checked['category']}/data",
            created=self.clock(),
            link=device.link,
        )
        sample: dict[str, Any] = {
            "label": req.label, "length": req.length_ms, "path": req.path,
            "interval": req.interval_ms,
        }  # fmt: skip
        if req.sensor is not None:
            sample["sensor"] = req.sensor
        if self._hmac_key:
            sample["hmacKey"] = self._hmac_key
        self.requests[req.id] = req
        self._forget_old()
        try:
            await device.link.send({"sample": sample})
        except (ConnectionError, RuntimeError) as exc:
            req.error = f"could not send the request to the device: {exc}"
        return req

    def request_state(self, request_id: int) -> dict[str, Any] | None:
        req = self.requests.get(request_id)
        if req is None:
            return None
        self._expire(req)
        return req.as_json()

    # --- the ingestion side ----------------------------------------------------------------

    def on_stored(self, samples: list[NewSample], stored: list[StoredSample]) -> None:
        """Stored-sample hook: match each upload to the open request it answers (same label and
        category; the device's own request first when the file names the device)."""
        for sample, saved in zip(samples, stored, strict=True):
            candidates = [
                r
                for r in self.requests.values()
                if r.open and r.stored is None and r.label == sample.label
                and r.category == sample.category
            ]  # fmt: skip
            if not candidates:
                continue
            mine = [r for r in candidates if r.device_id == sample.device_name]
            req = (mine or candidates)[0]
            req.stored = {
                "id": saved.sample_id,
                "fileName": saved.file_name,
                "signature": sample.signature,
                "rows": sample.rows,
                "intervalMs": sample.interval_ms,
            }

    # --- bookkeeping -----------------------------------------------------------------------

    def _open_requests(self, device_id: str) -> list[SamplingRequest]:
        out = []
        for req in self.requests.values():
            if req.device_id == device_id:
                self._expire(req)
                if req.open:
                    out.append(req)
        return out

    def _expire(self, req: SamplingRequest) -> None:
        if req.open and self.clock() > req.deadline:
            req.error = (
                f"timed out: not finished {UPLOAD_GRACE_S:.0f} s after the {req.length_ms} ms "
                "of sampling"
            )

    def _forget_old(self) -> None:
        while len(self.requests) > KEPT_REQUESTS:
            oldest = min(self.requests)
            if self.requests[oldest].open:
                break
            del self.requests[oldest]
