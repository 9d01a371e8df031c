"""Upload Recordings to the Edge Impulse ingestion API: HTTP/1.1 POST over a socket or TLS.

The body is never held in RAM. Pass 1 of the encoder signs the file and counts its bytes, so
the request carries an exact Content-Length; pass 2 streams the same bytes through the
encoder's staging buffer (1 KiB by default) straight into the socket. The answer is read through
one small buffer: the status line, the headers we need, and the body: a JSON answer whole (up to
16 KiB), anything else only its first 512 bytes. outcome() says what it means.

Memory: the staging buffer and a 512-byte read buffer, allocated once per Client; per upload,
the request head (~300 bytes) and the server's short answer. A TLS session costs what the port's
mbedTLS needs (~20-35 KiB, on Pico W from the Python heap: gc.collect() before uploading helps).
"""

import os

import ei_ingest
import ei_options

_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!*'()"
_HEXU = "0123456789ABCDEF"


def urlencode(text):
    """Percent-encode like JavaScript's encodeURIComponent, as the official clients do."""
    out = []
    for b in text.encode():
        if b in _SAFE:
            out.append(chr(b))
        else:
            out.append("%" + _HEXU[b >> 4] + _HEXU[b & 15])
    return "".join(out)


def outcome(status, body, req, ctype=b"", location=b""):
    """The stored file's name, when the answer is the ingestion API's word that it stored this
    file: for /files, JSON with success true that lists it; for /data, a 200 with a plain
    one-line file name. Anything else raises the error ei_errors.for_answer() finds (loaded only
    then): a refusal, or an UnexpectedAnswer (a redirect, a captive portal's page, a proxy's
    answer: retryable, the file is not known to have arrived)."""
    text = _text(body)
    if status == 200 and text[:1] != "<" and b"html" not in ctype.lower():
        if text[:1] == "{":
            name = _listed(text, req.filename)
            if name:
                return name
        elif req.endpoint == "data" and 0 < len(text) <= 255:
            for c in text:
                if c < " " or c in '<>"':
                    break
            else:
                return text
    import ei_errors

    raise ei_errors.for_answer(status, text, ctype, location, req.endpoint, req.filename)


def _listed(text, filename):
    """This file's stored name from a /files JSON answer that says it was stored, else None."""
    import json

    try:
        obj = json.loads(text)
        files = obj["files"] if obj["success"] is True else None
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(files, list):
        for f in files:
            if isinstance(f, dict) and (len(files) == 1 or f.get("fileName") == filename):
                if f.get("success") is False:
                    return None
                name = f.get("fileName")
                return name if isinstance(name, str) and name else filename
    return None


def _text(body):
    try:
        return bytes(body).decode().strip()
    except UnicodeError:
        return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in body).strip()


class Client:
    """Uploads Recordings to one ingestion host; reuse it for every upload."""

    def __init__(
        self,
        api_key,
        hmac_key,
        device_type,
        device_name=None,
        host="ingestion.edgeimpulse.com",
        port=None,
        tls=True,
        ca=None,
        timeout=10,
        insecure=False,
        stage_size=1024,
        upload_source="ei_ingest",
        clock=None,
        transport="socket",
        keep_alive=True,
    ):
        ei_ingest.check_text("api_key", api_key)
        self._api_key = api_key
        self._hmac_key, self.device_type, self.device_name = ei_ingest.signer(
            hmac_key, device_type, device_name
        )
        ei_ingest.check_text("host", host)
        self.host = host
        self.tls = bool(tls)
        self.port = port if port is not None else (443 if self.tls else 80)
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError("port must be 1..65535, not %r" % (port,))
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError("timeout must be a number of seconds > 0, not %r" % (timeout,))
        self.timeout = timeout
        ei_ingest.check_text("upload_source", upload_source)
        self.upload_source = upload_source
        if transport not in ("socket", "requests"):
            raise ValueError("transport must be 'socket' or 'requests', not %r" % (transport,))
        self.transport = transport
        wire = __import__("ei_wire" if transport == "socket" else "ei_requests")
        self.keep_alive = bool(keep_alive) and transport == "socket"
        self._enc = ei_ingest.Encoder(stage_size)
        self._wire = wire.Wire(
            host, self.port, self.tls, ca, bool(insecure), timeout, keep_alive, self._enc.buf
        )  # fmt: skip
        self._clock = clock
        self._seq = 0

    @property
    def hmac_key(self):
        """The HMAC key as bytes (None: unsigned), for a Spool that signs for this Client."""
        return self._hmac_key

    def __repr__(self):
        # Never the keys.
        return "<Client %s:%d tls=%s>" % (self.host, self.port, self.tls)

    def upload(self, rec, **options):
        """Send one Recording; return the name the server stored it under. The options are
        prepare()'s: label, category, fmt, filename, disallow_duplicates, add_date_id, metadata,
        endpoint, iat, path, hmac_key."""
        return self.send(self.prepare(rec, **options))

    def prepare(self, rec, iat=None, hmac_key=None, **options):
        """Check everything and run pass 1 (sign, count). Nothing is sent. The options are
        ei_options.checked()'s: label, category, fmt, filename, disallow_duplicates,
        add_date_id, metadata, endpoint, path; `hmac_key` signs this file with another key than
        the Client's (a remote-management request may carry the project's key)."""
        opts = ei_options.checked(**options)
        key = self._hmac_key if hmac_key is None else ei_ingest.key_bytes(hmac_key)
        if iat is None and self._clock is not None:
            iat = self._clock()
        fmt = opts["fmt"]
        head, sig_at = ei_ingest.header(
            rec, fmt, key is not None, self.device_type, self.device_name, iat
        )
        length, sig = self._enc.measure(rec, fmt, head, key)
        if sig is not None:
            head[sig_at : sig_at + 64] = sig
        self._seq += 1
        tag = sig[:12].decode() if sig is not None else "%08x%04x" % (_random32(), self._seq)
        ei_options.name(opts, tag)
        return _Request(self, opts, length, rec, head)

    def upload_file(self, path, fmt, label=None, **options):
        """Send a finished data acquisition file (from dump() or a spool), streamed from flash
        in chunks through the staging buffer; return the stored name. Options as upload()'s;
        the file keeps its own name unless `filename` is given."""
        opts = ei_options.checked(label=label, fmt=fmt, **options)
        opts["no_label"] = label is None and opts["filename"] is None
        opts["name"] = opts["filename"] or path.rsplit("/", 1)[-1]
        return self.send_file(path, opts)

    def send_file(self, path, opts):
        """upload_file() with options already checked and named (what a Spool keeps)."""
        try:
            length = os.stat(path)[6]
        except OSError as e:
            raise ValueError("file %r cannot be read: %s" % (path, e))
        if length == 0:
            raise ValueError("file %r is empty" % path)
        return self.send(_Request(self, opts, length, path_on_disk=path))

    def send(self, req):
        """Send a prepared request through the transport; what the answer means: outcome()."""
        status, body, ctype, location = self._wire.exchange(req)
        try:
            return outcome(status, body, req, ctype, location)
        except Exception as e:
            if req.retried and getattr(e, "duplicate", False):
                return None  # sent twice on a stale connection: the first arrived
            raise

    def close(self):
        """Close the connection the Client keeps between uploads (the next one opens anew)."""
        self._wire.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def client_from_config(config, board, cls=None, **more):
    """A Client (or `cls`, e.g. ei_robust.Client, with its own arguments in `more`) set up from
    a config.py module (see config.example.py: API_KEY, HMAC_KEY, HOST, PORT, TLS, CA, TIMEOUT,
    DEVICE_NAME) and a board module (DEVICE_TYPE, device_name())."""
    return (cls or Client)(
        config.API_KEY,
        getattr(config, "HMAC_KEY", None),
        board.DEVICE_TYPE,
        device_name=getattr(config, "DEVICE_NAME", None) or board.device_name(),
        host=getattr(config, "HOST", "ingestion.edgeimpulse.com"),
        port=getattr(config, "PORT", None),
        tls=getattr(config, "TLS", True),
        ca=getattr(config, "CA", None),
        timeout=getattr(config, "TIMEOUT", 10),
        **more,
    )


class _Request:
    """One prepared upload: the request's head, and where its body comes from (a Recording
    encoded on the fly, or a file on flash)."""

    def __init__(self, client, opts, length, rec=None, head=None, path_on_disk=None):
        self.client = client
        self.fmt = opts["fmt"]
        self.filename = name = opts["name"]
        self.endpoint = opts["endpoint"]
        self.rec = rec
        self.head = head
        self.path_on_disk = path_on_disk
        self.retried = False  # set by a transport that sent it twice (a stale kept connection)
        ctype = ei_options.content_type(self.fmt)
        self.pre = self.post = b""
        if self.endpoint == "files":
            boundary = "ei-ingest-%08x%08x" % (_random32(), _random32())
            self.pre = (
                '--%s\r\nContent-Disposition: form-data; name="data"; filename="%s"\r\n'
                "Content-Type: %s\r\n\r\n" % (boundary, name, ctype)
            ).encode()
            self.post = ("\r\n--%s--\r\n" % boundary).encode()
            ctype = "multipart/form-data; boundary=" + boundary
        self.length = len(self.pre) + length + len(self.post)
        self.path = "/api/%s/%s" % (opts["category"], self.endpoint)
        host = client.host
        if client.port != (443 if client.tls else 80):
            host = "%s:%d" % (host, client.port)
        out = ["POST %s HTTP/1.1\r\nHost: %s\r\nx-api-key: %s" % (self.path, host, client._api_key)]
        if opts["label"] is not None:
            out.append("x-label: " + urlencode(opts["label"]))
        elif opts["no_label"]:
            out.append("x-no-label: 1")
        if self.endpoint == "data":
            out.append("x-file-name: " + urlencode(name))
        if opts["nodup"]:
            out.append("x-disallow-duplicates: 1")
        if opts["dateid"]:
            out.append("x-add-date-id: 1")
        if opts["metadata"] is not None:
            out.append("x-metadata: " + opts["metadata"])
        out.append("x-upload-source: " + client.upload_source)
        out.append("Content-Type: " + ctype)
        out.append("Content-Length: %d" % self.length)
        if not client.keep_alive:
            out.append("Connection: close")
        out.append("\r\n")
        self.request_head = "\r\n".join(out).encode()

    def write(self, write):
        """The request, head and body, in full stages of the encoder's buffer and a short last
        one: few, large writes, and no tiny one at the end for Nagle to hold."""
        n = -len(self.request_head)
        for chunk in self.chunks(self.request_head):
            ei_ingest.write_all(write, chunk)
            n += len(chunk)
        if n != self.length:
            raise ValueError("body is %d bytes, %d were announced" % (n, self.length))

    def chunks(self, head=b""):
        """`head`, then the body, as memoryviews of the stage, each valid until the next one is
        asked for (ei_requests sends the body alone)."""
        enc = self.client._enc
        pos = yield from enc.copy(head, 0)  # not head + pre: a request would allocate ~400 bytes
        pos = yield from enc.copy(self.pre, pos)
        if self.path_on_disk is None:
            yield from enc.chunks(self.rec, self.fmt, self.head, self.post, pos)
            return
        view = memoryview(enc.buf)
        with open(self.path_on_disk, "rb") as f:
            while True:
                n = f.readinto(view[pos : enc.size])
                if not n:
                    break
                pos += n
                if pos == enc.size:
                    yield enc.full
                    pos = 0
        pos = yield from enc.copy(self.post, pos)
        if pos:
            yield view[:pos]


def _random32():
    import random

    return random.getrandbits(32)
