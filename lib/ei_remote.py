"""Edge Impulse remote management on the board: Studio (or the local server) starts sampling.

    dev = ei_remote.Device("ws://192.168.1.10:4802", config.API_KEY, client,
                           device_id=ei_net.mac(), device_type=board.DEVICE_TYPE, spool=spool)
    dev.add_sensor("Accelerometer", (imu,), max_rows=1000)   # Recording allocated here, once
    dev.serve()                                               # until stop() says so

The device keeps a websocket to the remote management service (ei_ws), says `hello` (version 3,
JSON) with the sensors and the rates each can really keep, and serves `sample` requests:
`{"sample":true}`, sample the named sensor at `interval` ms for `length` ms into its Recording,
`sampleStarted`, `sampleUploading`, upload to the ingestion host + `path` exactly as given
(x-file-name from the label, x-label, signed with the request's `hmacKey` when it has one),
`sampleFinished`. Refusals and failures are `{"sample":false,"error":"..."}` naming the reason.
A sample whose upload fails goes to the spool when one was given (the error says so), and the
spool is flushed one file at a time when idle. Any drop reconnects with exponential backoff and
jitter and says hello again; a refused hello (wrong API key) raises RemoteRefused: no retries.
The socket is not read while sampling or uploading: frames that arrive meanwhile (a PING, the
next request) are handled afterwards, in order.

Settings are class attributes (override on the class or an instance): PING_MS, PONG_MS,
HELLO_MS, BACKOFF_MS, BACKOFF_MAX_MS, FLUSH_MS; `delay(ms)` is the one waiting hook.

Memory (board32, lib/ as .mpy, see README "Remote management"): a Device holds its WebSocket's
buffers (1 KiB message, 125 + 128 + 14 bytes), one Recording per sensor (rows x axes x 2 bytes
for int16) and a few small objects. Nothing grows with the session's length: each message
allocates only what parsing it needs, all garbage once handled.
"""

import gc
import json

import ei_options
import ei_ws
from ei_errors import IngestionError, TLSError, log

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


from ei_time import sleep_ms, ticks_diff, ticks_ms, ticks_us

RATES = (1000, 500, 200, 100, 62.5, 50, 25, 10, 5, 1)  # Hz offered when the caller names none
_PROBE = const(8)  # reads timed per sensor to find the rates it can keep
_IDLE = const(0)
_PING = const(1)
_DEAD = const(2)


class RemoteRefused(Exception):
    """The remote management service refused our hello (a wrong API key, usually)."""


class Keepalive:
    """When to PING a quiet server and when a server that does not answer counts as gone.

    Pure logic over millisecond ticks (tests drive it with a fake clock): after `ping_ms`
    without a frame from the server, PING; if still nothing `pong_ms` later, the link is dead.
    """

    def __init__(self, ping_ms, pong_ms):
        self.ping_ms = ping_ms
        self.pong_ms = pong_ms
        self.reset(0)

    def reset(self, now):
        self.last = now
        self.pinged = -1

    def step(self, now, heard):
        """(action, ms to wait before the next step); `heard`: a frame arrived since the last."""
        if heard:
            self.reset(now)
        if self.pinged >= 0:
            left = self.pong_ms - ticks_diff(now, self.pinged)
            return (_DEAD, 0) if left <= 0 else (_IDLE, left)
        left = self.ping_ms - ticks_diff(now, self.last)
        if left <= 0:
            self.pinged = now
            return _PING, self.pong_ms
        return _IDLE, left


class _Sensor:
    def __init__(self, name, sources, rec, rates, max_s):
        self.name = name
        self.sources = sources
        self.rec = rec
        self.rates = rates
        self.max_s = max_s


def _check_path(path):
    """The category of "/api/<category>/files|data"; ValueError naming the path otherwise."""
    parts = path.split("/") if isinstance(path, str) else ()
    if len(parts) != 4 or parts[0] or parts[1] != "api" or parts[3] not in ("files", "data"):
        raise ValueError("path must be /api/<category>/files or /data, not %r" % (path,))
    ei_options.check_category(parts[2])
    return parts[2]


def _number(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError("%s must be a number > 0, not %r" % (field, value))
    if value == value + 1:  # inf
        raise ValueError("%s must be finite, not %r" % (field, value))
    return value


class Device:
    PING_MS = 30000  # a PING after this long without a frame from the server
    PONG_MS = 10000  # no frame within this long after our PING: the link is dead
    HELLO_MS = 10000  # the answer to hello must come within this long
    BACKOFF_MS = 1000  # first wait before reconnecting; doubles up to BACKOFF_MAX_MS
    BACKOFF_MAX_MS = 60000
    FLUSH_MS = 60000  # idle: try the oldest spooled sample this often

    def __init__(
        self,
        url,
        api_key,
        client,
        device_id,
        device_type,
        spool=None,
        ca=None,
        insecure=False,
        timeout=10,
        fmt="cbor",
        unix_time=None,
        max_message=1024,
    ):
        ei_options.ei_encode.check_text("api_key", api_key)
        ei_options.ei_encode.check_text("device_id", device_id)
        ei_options.ei_encode.check_device_type(device_type)
        if client is None or not hasattr(client, "upload"):
            raise ValueError("client must be an ei_ingest Client, not %r" % (client,))
        if spool is not None and not hasattr(spool, "put"):
            raise ValueError("spool must be an ei_spool.Spool or None, not %r" % (spool,))
        ei_options.ei_encode.check_format(fmt)
        self.ws = ei_ws.WebSocket(url, ca, insecure, timeout, max_message)
        self._api_key = api_key
        self.client = client
        self.device_id = device_id
        self.device_type = device_type
        self.spool = spool
        self.fmt = fmt
        self.unix_time = unix_time
        self.sensors = []
        self.samples = 0  # sample requests handled (served or refused)
        self.stored = 0  # samples the ingestion service took
        self.sessions = 0  # hellos the server accepted
        self._lost = None

    def __repr__(self):
        return "<Device %s %s>" % (self.device_id, self.ws)

    def add_sensor(self, name, sources, max_rows, rates=None):
        """Offer `sources` (ei_sensors sources, sampled together) as sensor `name`.

        The Recording (max_rows rows) is allocated now. The rates announced are those of
        `rates` (Hz; default RATES) whose interval is at least twice what reading all the
        sources once takes here; returns them."""
        import ei_sensors

        ei_options.ei_encode.check_text("name", name)
        for s in self.sensors:
            if s.name == name:
                raise ValueError("sensor %r is already added" % name)
        sources = tuple(sources)
        rec = ei_sensors.recording_for(sources, 10, max_rows)
        t0 = ticks_us()
        for _ in range(_PROBE):
            for src in sources:
                src.read_into(rec.buffer, 0)
        read_us = ticks_diff(ticks_us(), t0) // _PROBE
        ok = []
        for hz in rates or RATES:
            _number("rates", hz)
            if 1000000 / hz >= 2 * read_us:
                ok.append(hz)
        if not ok:
            raise ValueError(
                "sensor %r: one read takes %d us, too slow for %r" % (name, read_us, rates or RATES)
            )
        self.sensors.append(_Sensor(name, sources, rec, tuple(ok), max_rows // max(ok)))
        return tuple(ok)

    def hello(self):
        """The hello message (version 3, JSON) as a str; it carries the API key: never log it."""
        sensors = []
        for s in self.sensors:
            sensors.append(
                {"name": s.name, "maxSampleLengthS": s.max_s, "frequencies": list(s.rates)}
            )
        return json.dumps({"hello": {
            "version": 3, "apiKey": self._api_key, "deviceId": self.device_id,
            "deviceType": self.device_type, "connection": "ip", "sensors": sensors,
            "supportsSnapshotStreaming": False,
        }})  # fmt: skip

    # --- the connection ----------------------------------------------------------------------

    def serve(self, stop=None):
        """Connect, say hello and serve requests; reconnect after any drop, until `stop()`
        (checked about once a second) returns True. RemoteRefused and TLSError end it."""
        if not self.sensors:
            raise ValueError("add_sensor() first: a device without sensors cannot sample")
        failures = 0
        while not (stop and stop()):
            ws = self.ws
            try:
                ws.connect()
                self._say_hello()
                failures = 0
                self.sessions += 1
                log("remote: connected to %s:%d as %s" % (ws.host, ws.port, self.device_id))
                self._session(stop)
            except (RemoteRefused, TLSError):
                ws.abort()
                raise
            except (ei_ws.WebSocketError, OSError) as e:
                log("remote: connection lost: %s" % (e,))
            ws.abort()
            if stop and stop():
                break
            failures += 1
            self.delay(self.backoff_ms(failures))
        self.ws.close()

    def backoff_ms(self, failures):
        """The wait after `failures` failed connections in a row: exponential, with jitter."""
        cap = self.BACKOFF_MS << min(failures - 1, 16)
        if cap > self.BACKOFF_MAX_MS:
            cap = self.BACKOFF_MAX_MS
        import random

        return cap - cap // 2 + random.getrandbits(16) % (cap // 2 + 1)

    def delay(self, ms):
        """Wait before reconnecting; override to schedule differently (tests record it)."""
        log("remote: reconnecting in %d ms" % ms)
        sleep_ms(ms)

    def _say_hello(self):
        ws = self.ws
        ws.send(self.hello())
        start = ticks_ms()
        while True:
            left = self.HELLO_MS - ticks_diff(ticks_ms(), start)
            if left <= 0:
                raise ei_ws.WebSocketError("no answer to hello within %d ms" % self.HELLO_MS)
            if ws.recv(left) != ei_ws.OP_TEXT:
                continue
            msg = self._decode()
            if msg is None or "hello" not in msg:
                continue
            if msg["hello"] is True:
                return
            why = msg.get("err") or msg.get("error") or "no reason given"
            raise RemoteRefused(
                "remote management refused the hello of %s: %s; check the API key "
                "(API_KEY in config.py: the project's key from Dashboard > Keys)"
                % (self.device_id, why)
            )

    def _session(self, stop):
        ws = self.ws
        keep = Keepalive(self.PING_MS, self.PONG_MS)
        keep.reset(ticks_ms())
        heard = ws.frames
        flushed = ticks_ms()
        while not (stop and stop()):
            now = ticks_ms()
            action, wait = keep.step(now, ws.frames != heard)
            heard = ws.frames
            if action == _DEAD:
                raise ei_ws.WebSocketError("no answer to a PING within %d ms" % self.PONG_MS)
            if action == _PING:
                ws.ping()
            if (
                self.spool is not None
                and len(self.spool)
                and ticks_diff(now, flushed) >= self.FLUSH_MS
            ):
                flushed = now
                self._flush()
            op = ws.recv(wait if wait < 1000 else 1000)
            if op == ei_ws.OP_TEXT:
                self._handle(self._decode())
            elif op is not None:
                log("remote: binary frame ignored (this device speaks JSON)")
            if self._lost is not None:
                lost, self._lost = self._lost, None
                raise lost

    def _decode(self):
        ws = self.ws
        try:
            msg = json.loads(ws.buf[: ws.n])
        except ValueError:
            return None
        return msg if isinstance(msg, dict) else None

    def _send(self, text):
        """Send a status message; a lost link is raised once the request is done, so a sample
        in hand is still uploaded (or spooled)."""
        if self._lost is None:
            try:
                self.ws.send(text)
            except ei_ws.WebSocketError as e:
                self._lost = e

    def _handle(self, msg):
        if msg is None:
            return
        if "sample" in msg and isinstance(msg["sample"], dict):
            self._sample(msg["sample"])
        elif "startSnapshot" in msg or "stopSnapshot" in msg:
            self._send(
                '{"snapshotFailed":true,"error":"Device does not support snapshot streaming"}'
            )
        elif "err" in msg or "error" in msg:
            log("remote: the server says: %s" % (msg.get("err") or msg.get("error"),))

    # --- a sample request --------------------------------------------------------------------

    def _check(self, req):
        """(sensor, rows, interval, label, category, path, hmac key) or ValueError naming why."""
        name = req.get("sensor")
        sensor = None
        for s in self.sensors:
            if s.name == name or (name is None and sensor is None):
                sensor = s
        if sensor is None:
            have = ", ".join(s.name for s in self.sensors)
            raise ValueError("unknown sensor %r: this device has %s" % (name, have))
        interval = _number("interval", req.get("interval"))
        length = _number("length", req.get("length"))
        ok = False
        for hz in sensor.rates:
            ok = ok or abs(hz * interval - 1000) <= 0.5
        if not ok:
            raise ValueError(
                "interval %r ms (%.4g Hz) is not a rate %s samples at: %s Hz"
                % (
                    interval,
                    1000 / interval,
                    sensor.name,
                    ", ".join("%g" % r for r in sensor.rates),
                )
            )
        rows = int(length / interval + 0.5)
        cap = sensor.rec.capacity
        if rows < 1 or rows > cap:
            raise ValueError(
                "length %r ms is %d rows at %r ms: %s holds 1 to %d rows (at most %d ms here)"
                % (length, rows, interval, sensor.name, cap, int(cap * interval))
            )
        label = req.get("label")
        ei_options.ei_encode.check_text("label", label)
        path = req.get("path")
        category = _check_path(path)
        key = req.get("hmacKey") or None
        if key is not None:
            ei_options.ei_encode.check_text("hmacKey", key)
        return sensor, rows, interval, label, category, path, key

    def _sample(self, req):
        import ei_sensors

        self.samples += 1
        try:
            sensor, rows, interval, label, category, path, key = self._check(req)
        except ValueError as e:
            log("remote: sample refused: %s" % e)
            self._send(json.dumps({"sample": False, "error": str(e)}))
            return
        self._send('{"sample":true}')
        rec = sensor.rec
        rec.clear()
        rec.interval_ms = int(interval) if interval == int(interval) else interval
        sampler = ei_sensors.Sampler(sensor.sources, rec)
        gc.collect()
        self._send('{"sampleStarted":true}')
        try:
            late = sampler.run(rows)
        except OSError as e:
            self._send(
                json.dumps({"sample": False, "error": "sensor %s failed: %s" % (sensor.name, e)})
            )
            return
        if late:
            log("remote: %d of %d rows late" % (late, rows))
        self._send('{"sampleUploading":true}')
        why = self._upload(rec, label, category, path, key)
        if why is None:
            self._send('{"sampleFinished":true}')
        else:
            log("remote: " + why)
            self._send(json.dumps({"sample": False, "error": why}))

    def _upload(self, rec, label, category, path, key):
        iat = self.unix_time() if self.unix_time is not None else None
        gc.collect()
        try:
            name = self.client.upload(
                rec, label=label, path=path, hmac_key=key, fmt=self.fmt, iat=iat
            )
        except (IngestionError, ValueError) as e:
            why = "upload failed: %s" % (e,)
            if self.spool is None:
                return why
            try:
                seq = self.spool.put(rec, label=label, category=category, fmt=self.fmt, iat=iat)
            except Exception as e2:  # SpoolFull, flash errors: say so, nothing else to do
                return why + "; the spool could not keep it either (%s): sample lost" % (e2,)
            return why + "; kept in the spool as file %d, sent when the service answers" % seq
        self.stored += 1
        log("remote: sample stored as %s" % name)
        if self.spool is not None and len(self.spool):
            self._flush()
        return None

    def _flush(self):
        try:
            self.spool.flush(self.client, limit=1)
        except (IngestionError, OSError, ValueError) as e:
            log("remote: spool flush failed: %s" % (e,))
