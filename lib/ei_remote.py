"""Edge Impulse remote management on the board: Studio (or the local server) starts sampling.

    rec = ei_sampler.recording_for((imu,), 10, 1000)     # first: its buffer is one block
    dev = ei_remote.Device("ws://192.168.1.10:4802", config.API_KEY, client,
                           ei_net.mac(), board.DEVICE_TYPE, spool=spool)
    dev.add_sensor("Accelerometer", (imu,), rec)
    dev.serve()                                           # until stop() says so

The device keeps a websocket to the remote management service (ei_ws), says `hello` (version 3,
JSON) with its sensors and the rates each can really keep, and serves `sample` requests:
`{"sample":true}`, sample the named sensor every `interval` ms for `length` ms into its
Recording, `sampleStarted`, `sampleUploading`, upload to the ingestion host + `path` as given
(x-file-name from the label, x-label; signed with the request's `hmacKey` when it has one),
`sampleFinished`. A refusal or failure is `{"sample":false,"error":"..."}` naming the reason.
A sample whose upload fails goes to the spool when there is one (the error says so); the spool
is flushed a file at a time when idle. Any drop reconnects after a backoff (exponential, with
jitter) and says hello again; a refused hello (wrong API key) raises RemoteRefused, no retry.
The socket is not read while sampling or uploading: frames that arrive meanwhile (a PING, the
next request) are handled afterwards, in order. With wss:// and https:// both (UPLOAD_ALONE),
one TLS session at a time: the websocket is closed for the upload, the upload's connection
after it, and the websocket reopened; `sampleFinished` then goes out after the new hello.

Settings are class attributes (on the class or the instance): PING_MS, PONG_MS, HELLO_MS,
BACKOFF_MS, BACKOFF_MAX_MS, FLUSH_MS, POLL_MS, UPLOAD_ALONE; `delay(ms)` is the waiting hook.

Memory: the WebSocket's buffers (512-byte messages + ~270 bytes), a tuple per sensor (the
Recordings are the caller's); nothing grows with the session's length. On board32, a 1,000-row
3-axis sample as .mpy (README "Studio starts the sampling", tools/bench/remote_heap.py): over
ws + http 21.3 KB more than a plain upload, mostly ei_ws's and ei_remote's code (frozen: see the
README); over wss + https 165,200 bytes in all, one TLS session at a time.
"""

import gc
import json

import ei_options
import ei_ws
from ei_errors import IngestionError, TLSError
from ei_log import log
from ei_time import sleep_ms, ticks_add, ticks_diff, ticks_ms, ticks_us

RATES = (1000, 500, 200, 100, 62.5, 50, 25, 10, 5, 1)  # Hz offered when the caller names none
_SNAPSHOT = '{"snapshotFailed":true,"error":"Device does not support snapshot streaming"}'


class RemoteRefused(Exception):
    """The remote management service refused our hello (a wrong API key, usually)."""


def keepalive(now, heard, pinged, ping_ms, pong_ms):
    """What the link needs at `now` (ms ticks): 0 nothing, 1 a PING, 2 it is dead. `heard`:
    when the server's last frame came; `pinged`: when we sent our last PING (not after `heard`:
    none is waiting for an answer; a PONG can come back within the same millisecond)."""
    if ticks_diff(pinged, heard) > 0:  # a PING waits for an answer
        return 2 if ticks_diff(now, pinged) >= pong_ms else 0
    return 1 if ticks_diff(now, heard) >= ping_ms else 0


def _text(field, value):
    """A non-empty str without control characters: it goes into JSON and HTTP headers."""
    if not isinstance(value, str) or not value:
        raise ValueError("%s must be a non-empty string, not %r" % (field, value))
    for c in value:
        if ord(c) < 0x20 or c == "\x7f":
            raise ValueError("%s contains a control character: %r" % (field, value))


def _number(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
        raise ValueError("%s must be a number > 0, not %r" % (field, value))
    return value


def _error(text):
    return json.dumps({"sample": False, "error": text})


class Device:
    PING_MS = 30000  # PING after this long without a frame from the server
    PONG_MS = 10000  # nothing from the server this long after our PING: the link is dead
    HELLO_MS = 10000  # the answer to hello must come within this long
    BACKOFF_MS = 1000  # first wait before reconnecting; doubles up to BACKOFF_MAX_MS
    BACKOFF_MAX_MS = 60000
    FLUSH_MS = 60000  # idle: send the oldest spooled sample this often
    POLL_MS = 1000  # longest wait for a frame before stop() and the timers are checked
    # Close the websocket while uploading and reopen it after (None: when both are TLS, so that
    # only one TLS session is open at a time: two do not fit a Pico W's heap, see the README).
    UPLOAD_ALONE = None

    def __init__(
        self, url, api_key, client, device_id, device_type, spool=None, ca=None,
        insecure=False, timeout=10, fmt="cbor", unix_time=None, max_message=512,
    ):  # fmt: skip
        _text("api_key", api_key)
        _text("device_id", device_id)
        _text("device_type", device_type)
        if fmt not in ("cbor", "json"):
            raise ValueError("fmt must be 'cbor' or 'json', not %r" % (fmt,))
        if not hasattr(client, "upload"):
            raise ValueError("client must be an ei_ingest Client, not %r" % (client,))
        if spool is not None and not hasattr(spool, "put"):
            raise ValueError("spool must be an ei_spool.Spool or None, not %r" % (spool,))
        gc.collect()  # the buffers are allocated once: put them where the heap is whole
        self.ws = ei_ws.WebSocket(url, ca, insecure, timeout, max_message)
        self._api_key = api_key
        self.client = client
        self.device_id = device_id
        self.device_type = device_type
        self.spool = spool
        self.fmt = fmt
        self.unix_time = unix_time
        self.sensors = []  # (name, sources, rec, rates, longest sample in s)
        self.samples = 0  # sample requests handled (served or refused)
        self.stored = 0  # samples the ingestion service took
        self.sessions = 0  # hellos the server accepted
        self._lost = None
        self._owed = None

    def add_sensor(self, name, sources, rec, rates=None):
        """Offer `sources` (ei_sampler sources, read together) as sensor `name`, sampled into
        `rec` (ei_sampler.recording_for(sources, ...)). The rates announced are those of
        `rates` (Hz; default RATES) whose interval is at least twice what a read of all the
        sources takes here; returns them."""
        _text("name", name)
        for s in self.sensors:
            if s[0] == name:
                raise ValueError("sensor %r is already added" % name)
        sources = tuple(sources)
        axes = 0
        for src in sources:
            axes += len(src.axes)
        if getattr(rec, "axes", None) != axes or not hasattr(rec, "commit_rows"):
            raise ValueError("rec must be a Recording with the %d axes of the sources" % axes)
        read_us = 1 << 20
        for _ in range(8):  # the fastest of 8 reads: what a read costs, not an interrupt
            t0 = ticks_us()
            for src in sources:
                src.read_into(rec.buffer, 0)
            read_us = min(read_us, ticks_diff(ticks_us(), t0))
        ok = []
        for hz in rates or RATES:
            if 1000000 / _number("rates", hz) >= 2 * read_us:
                ok.append(hz)
        if not ok:
            raise ValueError(
                "sensor %r: a read takes %d us, too slow for those rates" % (name, read_us)
            )
        self.sensors.append((name, sources, rec, tuple(ok), int(rec.capacity / max(ok))))
        return tuple(ok)

    def hello(self):
        """The hello message (version 3, JSON) as a str; it carries the API key: never log it."""
        sensors = []
        for s in self.sensors:
            sensors.append({"name": s[0], "maxSampleLengthS": s[4], "frequencies": s[3]})
        return json.dumps({"hello": {
            "version": 3, "apiKey": self._api_key, "deviceId": self.device_id,
            "deviceType": self.device_type, "connection": "ip", "sensors": sensors,
            "supportsSnapshotStreaming": False,
        }})  # fmt: skip

    def serve(self, stop=None):
        """Connect, say hello, serve requests; reconnect after any drop, until `stop()` (checked
        at least every POLL_MS) returns True. RemoteRefused and TLSError end it."""
        if not self.sensors:
            raise ValueError("add_sensor() first: a device without sensors cannot sample")
        ws = self.ws
        failures = 0
        while not (stop and stop()):
            try:
                self._open()
                failures = 0
                self._session(stop)
            except (RemoteRefused, TLSError):
                ws.abort()
                raise
            except (ei_ws.WebSocketError, OSError) as e:
                log("remote: connection lost: %s" % (e,))
            if stop and stop():
                break  # close() below says goodbye properly
            ws.abort()
            failures += 1
            self.delay(self.backoff_ms(failures))
        ws.close()

    def backoff_ms(self, failures):
        """The wait after `failures` failed connections in a row: exponential, with jitter."""
        import random

        cap = min(self.BACKOFF_MS << min(failures - 1, 16), self.BACKOFF_MAX_MS)
        return cap - cap // 2 + random.getrandbits(16) % (cap // 2 + 1)

    def delay(self, ms):
        """Wait before reconnecting; override to schedule differently."""
        log("remote: reconnecting in %d ms" % ms)
        sleep_ms(ms)

    def _open(self):
        """Connect, say hello, and deliver a request's last word that a lost link kept back."""
        ws = self.ws
        gc.collect()  # a TLS handshake wants large blocks
        ws.connect()
        self._hello()
        self.sessions += 1
        log("remote: connected to %s:%d as %s" % (ws.host, ws.port, self.device_id))
        owed, self._owed = self._owed, None
        if owed is not None:
            ws.send(owed)

    def _hello(self):
        ws = self.ws
        ws.send(self.hello())
        start = ticks_ms()
        while True:
            left = self.HELLO_MS - ticks_diff(ticks_ms(), start)
            if left <= 0:
                raise ei_ws.WebSocketError("no answer to hello in %d ms" % self.HELLO_MS)
            msg = self._message(ws.recv(left))
            if msg is None or "hello" not in msg:
                continue
            if msg["hello"] is True:
                return
            raise RemoteRefused(
                "remote management refused the hello of %s: %s; check API_KEY in config.py (the "
                "project's API key, Dashboard > Keys)" % (self.device_id, msg.get("err"))
            )

    def _session(self, stop):
        ws = self.ws
        heard = flushed = ticks_ms()
        pinged = ticks_add(heard, -1)
        frames = ws.frames
        while not (stop and stop()):
            now = ticks_ms()
            if ws.frames != frames:
                frames = ws.frames
                heard = now
            need = keepalive(now, heard, pinged, self.PING_MS, self.PONG_MS)
            if need == 2:
                raise ei_ws.WebSocketError("no answer to a PING in %d ms" % self.PONG_MS)
            if need == 1:
                pinged = now
                ws.ping()
            if self.spool and ticks_diff(now, flushed) >= self.FLUSH_MS:
                flushed = now
                self._flush()
            job = self._handle(ws.recv(self.POLL_MS))
            if job is not None:  # the request's message is garbage by now: not kept while
                self._sample(*job)  # sampling and uploading
            if self._lost is not None:
                lost, self._lost = self._lost, None
                raise lost

    def _message(self, op):
        """The JSON object of a text message, else None (binary: this device speaks JSON)."""
        if op != ei_ws.OP_TEXT:
            return None
        try:
            msg = json.loads(bytes(self.ws.buf[: self.ws.n]))
        except ValueError:
            return None
        return msg if isinstance(msg, dict) else None

    def _send(self, text, last=False):
        """Send a status message. A lost link is raised once the request is done, so a sample
        in hand is still uploaded (or spooled); a request's `last` word waits for the next
        hello."""
        if self._lost is None:
            try:
                self.ws.send(text)
                return
            except ei_ws.WebSocketError as e:
                self._lost = e
        if last:
            self._owed = text

    def _handle(self, op):
        """Answer what needs no sampling; return a checked sample request to run, or None."""
        msg = self._message(op)
        if msg is None:
            return None
        req = msg.get("sample")
        if isinstance(req, dict):
            self.samples += 1
            try:
                return self._check(req)
            except ValueError as e:
                log("remote: sample refused: %s" % e)
                self._send(_error(str(e)))
        elif "startSnapshot" in msg or "stopSnapshot" in msg:
            self._send(_SNAPSHOT)
        elif "err" in msg:
            log("remote: the server says: %s" % (msg["err"],))
        return None

    def _check(self, req):
        """(sensor, rows, interval, label, category, path, hmac key), or ValueError naming the
        first thing this device cannot do."""
        name = req.get("sensor")
        sensor = None
        for s in self.sensors:
            if s[0] == name or (name is None and sensor is None):
                sensor = s
        if sensor is None:
            have = ", ".join(s[0] for s in self.sensors)
            raise ValueError("unknown sensor %r: this device has %s" % (name, have))
        interval = _number("interval", req.get("interval"))
        length = _number("length", req.get("length"))
        ok = False
        for hz in sensor[3]:
            ok = ok or abs(hz * interval - 1000) <= 0.5
        if not ok:
            rates = ", ".join("%g" % r for r in sensor[3])
            raise ValueError(
                "interval %g ms is not a rate %s samples at (%s Hz)" % (interval, sensor[0], rates)
            )
        rows = int(length / interval + 0.5)
        cap = sensor[2].capacity
        if not 0 < rows <= cap:
            raise ValueError(
                "length %g ms is %d rows at %g ms: %s holds 1 to %d rows (%d ms)"
                % (length, rows, interval, sensor[0], cap, int(cap * interval))
            )
        label = req.get("label")
        _text("label", label)
        path = req.get("path")
        parts = path.split("/") if isinstance(path, str) else ()
        if len(parts) != 4 or parts[0] or parts[1] != "api" or parts[3] not in ("files", "data"):
            raise ValueError("path must be /api/<category>/files or /data, not %r" % (path,))
        if parts[2] not in ei_options.CATEGORIES:
            cats = ", ".join(ei_options.CATEGORIES)
            raise ValueError("category must be one of %s, not %r" % (cats, parts[2]))
        key = req.get("hmacKey") or None
        if key is not None:
            _text("hmacKey", key)
        return sensor, rows, interval, label, parts[2], path, key

    def _sample(self, sensor, rows, interval, label, category, path, key):
        import ei_sampler

        self._send('{"sample":true}')
        rec = sensor[2]
        rec.clear()
        rec.interval_ms = int(interval) if interval == int(interval) else interval
        sampler = ei_sampler.Sampler(sensor[1], rec)
        gc.collect()
        self._send('{"sampleStarted":true}')
        try:
            late = sampler.run(rows)
        except OSError as e:
            self._send(_error("sensor %s failed: %s" % (sensor[0], e)))
            return
        if late:
            log("remote: %d of %d rows late" % (late, rows))
        self._send('{"sampleUploading":true}')
        alone = self.UPLOAD_ALONE
        if alone is None:
            alone = self.ws.tls and getattr(self.client, "tls", False)
        if alone:  # one TLS session at a time: the websocket's is freed before the upload's
            self.ws.close()
        why = self._upload(rec, label, category, path, key)
        if why is not None:
            log("remote: " + why)
        if alone:  # and the upload's kept-alive one before the websocket's opens again
            self.client.close()
            try:
                if self._lost is None:
                    self._open()
            except (ei_ws.WebSocketError, OSError) as e:  # serve() reconnects, then says
                self._lost = e  # the last word
        self._send('{"sampleFinished":true}' if why is None else _error(why), True)

    def _upload(self, rec, label, category, path, key):
        """None once stored, else why not (and whether the spool kept the sample)."""
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
        if self.spool:
            self._flush()
        return None

    def _flush(self):
        try:
            self.spool.flush(self.client, limit=1)
        except (IngestionError, OSError, ValueError) as e:
            log("remote: spool flush failed: %s" % (e,))
