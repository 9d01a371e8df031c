"""Upload Recordings to the Edge Impulse ingestion API: HTTP/1.1 POST over a socket or TLS.

The body is never held in RAM. Pass 1 of the encoder signs the file and counts its bytes, so
the request carries an exact Content-Length; pass 2 streams the same bytes through the
encoder's staging buffer (1 KiB by default) straight into the socket. The answer is read into
one small buffer: the status line, the headers we need, and at most 2 KiB of body.

Memory: the staging buffer and a 512-byte read buffer, allocated once per Client; per upload,
the request head (~300 bytes) and the server's short answer. A TLS session costs what the port's
mbedTLS needs (~20-35 KiB, on Pico W from the Python heap: gc.collect() before uploading helps).
"""

import os
import socket
import sys

import ei_encode
import ei_options
from ei_errors import (
    AuthError,
    ConnectionFailed,
    DuplicateError,
    IngestionError,
    InvalidError,
    MissingHeaderError,
    ServerError,
)

_CPYTHON = sys.implementation.name == "cpython"
_MAX_BODY = 2048
ENDPOINTS = ("files", "data")
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


def error_for(status, text):
    if text.startswith("{"):
        # /files answers with JSON: keep the server's words, not the envelope.
        try:
            import json

            text = json.loads(text).get("error") or text
        except (ValueError, AttributeError):
            pass
    if status == 401:
        return AuthError(status, text)
    if status == 421:
        return MissingHeaderError(status, text)
    if status == 400:
        low = text.lower()
        if "duplicate" in low or "already exist" in low:
            return DuplicateError(status, text)
        return InvalidError(status, text)
    if status >= 500:
        return ServerError(status, text)
    err = IngestionError(status, text)
    err.retryable = status in (408, 429)
    return err


class _Reader:
    """Reads an HTTP answer through one preallocated buffer."""

    def __init__(self, readinto, buf):
        self._readinto = readinto
        self._buf = buf
        self._mv = memoryview(buf)
        self._start = 0
        self._end = 0

    def _fill(self):
        if self._start == self._end:
            self._start = self._end = 0
        n = self._readinto(self._mv[self._end :])
        if not n:
            return False
        self._end += n
        return True

    def line(self):
        """The next line without its CRLF; a line longer than the buffer comes back cut to the
        buffer's size (the rest is skipped): only short lines (status, lengths) matter here."""
        cut = None
        while True:
            at = self._buf.find(b"\r\n", self._start, self._end)
            if at >= 0:
                text = cut if cut is not None else bytes(self._mv[self._start : at])
                self._start = at + 2
                return text
            if self._start and self._end == len(self._buf):
                rest = self._end - self._start
                self._buf[:rest] = self._buf[self._start : self._end]
                self._start, self._end = 0, rest
            if self._end == len(self._buf):
                if cut is None:
                    cut = bytes(self._mv[: self._end - 1])
                # Keep the last byte: it may be the CR of the CRLF that ends the line.
                self._buf[0] = self._buf[self._end - 1]
                self._start, self._end = 0, 1
            if not self._fill():
                raise ConnectionFailed("connection closed in the middle of the answer")

    def body(self, length, out):
        """Read `length` bytes (-1: until close), keeping the first _MAX_BODY in `out`."""
        while length:
            if self._start == self._end and not self._fill():
                if length > 0:
                    raise ConnectionFailed("connection closed in the middle of the answer")
                return
            n = self._end - self._start
            if 0 < length < n:
                n = length
            room = _MAX_BODY - len(out)
            if room > 0:
                out.extend(self._mv[self._start : self._start + min(n, room)])
            self._start += n
            if length > 0:
                length -= n


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
    ):
        ei_encode.check_text("api_key", api_key)
        self._api_key = api_key
        self._hmac_key = None if hmac_key is None else ei_encode.hmac_key_bytes(hmac_key)
        self.device_type = ei_encode.check_device_type(device_type)
        if device_name is not None:
            ei_encode.check_text("device_name", device_name)
        self.device_name = device_name
        ei_encode.check_text("host", host)
        self.host = host
        self.tls = bool(tls)
        self.port = port if port is not None else (443 if self.tls else 80)
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError("port must be 1..65535, not %r" % (port,))
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError("timeout must be a number of seconds > 0, not %r" % (timeout,))
        self.timeout = timeout
        self._insecure = bool(insecure)
        self._ca = None
        self._ca_spans = ()
        if self.tls:
            import ei_tls

            if ca is not None:
                self._ca, self._ca_spans = ei_tls.load_ca(ca)
            elif not self._insecure:
                raise ValueError(
                    "HTTPS needs a CA certificate: pass ca=<DER bytes or file> (make deploy "
                    "builds ca.der), or insecure=True to skip the certificate check"
                )
            if self._insecure:
                ei_tls.warn_insecure(host)
        ei_encode.check_text("upload_source", upload_source)
        self.upload_source = upload_source
        if transport not in ("socket", "requests"):
            raise ValueError("transport must be 'socket' or 'requests', not %r" % (transport,))
        self.transport = transport
        self._clock = clock
        self._enc = ei_encode.Encoder(stage_size)
        self._rbuf = bytearray(512)
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

    def prepare(
        self,
        rec,
        label=None,
        category="training",
        fmt="cbor",
        filename=None,
        disallow_duplicates=True,
        add_date_id=False,
        metadata=None,
        endpoint="files",
        iat=None,
        path=None,
        hmac_key=None,
    ):
        """Check everything and run pass 1 (sign, count). Nothing is sent.

        `path` ("/api/<category>/<files|data>", as a remote-management request gives it) sets
        category and endpoint at once; `hmac_key` signs this file with another key than the
        Client's (a remote-management request may carry the project's key)."""
        if path is not None:
            category, endpoint = split_path(path)
        key = self._hmac_key if hmac_key is None else ei_encode.hmac_key_bytes(hmac_key)
        req = _Request(
            self, fmt, category, endpoint, label, filename, disallow_duplicates, add_date_id,
            metadata,
        )  # fmt: skip
        if iat is None and self._clock is not None:
            iat = self._clock()
        iat = ei_encode.check_iat(iat)
        if len(rec) == 0:
            raise ValueError("the recording is empty: nothing to send")
        head, sig_at = ei_encode.header(
            rec, fmt, key is not None, self.device_type, self.device_name, iat
        )
        length, sig = self._enc.measure(rec, fmt, head, key)
        if sig is not None:
            head[sig_at : sig_at + 64] = sig
        if req.filename is None:
            self._seq += 1
            tag = sig[:12].decode() if sig is not None else "%08x%04x" % (_random32(), self._seq)
            req.filename = ei_options.file_stem(label) + "." + tag + ei_options.EXTENSIONS[fmt]
        req.rec = rec
        req.head = head
        req.finish(length)
        return req

    def upload_file(
        self,
        path,
        fmt,
        label=None,
        category="training",
        filename=None,
        disallow_duplicates=True,
        add_date_id=False,
        metadata=None,
        endpoint="files",
    ):
        """Send a finished data acquisition file (from dump() or a spool), streamed from flash
        in chunks through the staging buffer; return the stored name."""
        try:
            length = os.stat(path)[6]
        except OSError as e:
            raise ValueError("file %r cannot be read: %s" % (path, e))
        if length == 0:
            raise ValueError("file %r is empty" % path)
        req = _Request(
            self, fmt, category, endpoint, label, filename or path.rsplit("/", 1)[-1],
            disallow_duplicates, add_date_id, metadata,
        )  # fmt: skip
        req.no_label = label is None and filename is None  # the path names the part only
        req.path_on_disk = path
        req.finish(length)
        return self.send(req)

    def send(self, req):
        if self.transport == "requests":
            import ei_requests

            status, text = ei_requests.send(self, req)
            if status != 200:
                raise error_for(status, text)
            return _stored_name(text, req.filename)
        sock = None
        try:
            sock = self._connect()
            write = sock.sendall if _CPYTHON else sock.write
            try:
                req.write(write)
            except OSError as e:
                # The server may have answered early (401, 413) and closed: read what it said.
                try:
                    status, text = self._answer(sock)
                except (OSError, IngestionError):
                    raise ConnectionFailed("connection lost while sending: %s" % _why(e))
                raise (
                    error_for(status, text)
                    if status != 200
                    else ConnectionFailed("server answered 200 before the whole body was sent")
                )
            status, text = self._answer(sock)
        except OSError as e:
            raise ConnectionFailed("%s:%d: %s" % (self.host, self.port, _why(e)))
        finally:
            if sock is not None:
                sock.close()
        if status != 200:
            raise error_for(status, text)
        return _stored_name(text, req.filename)

    def _connect(self):
        try:
            addr = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)[0][
                -1
            ]
        except OSError as e:
            raise ConnectionFailed("cannot resolve %s: %s" % (self.host, _why(e)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(addr)
            if self.tls:
                import ei_tls

                sock = ei_tls.wrap(sock, self.host, self._ca, self._ca_spans, self._insecure)
        except BaseException:
            sock.close()
            raise
        return sock

    def _answer(self, sock):
        reader = _Reader(sock.recv_into if _CPYTHON else sock.readinto, self._rbuf)
        status_line = reader.line()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ConnectionFailed("not an HTTP answer: %r" % status_line[:40])
        try:
            status = int(parts[1])
        except ValueError:
            raise ConnectionFailed("bad HTTP status line: %r" % status_line[:40])
        length = -1
        chunked = False
        while True:
            line = reader.line()
            if not line:
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = _number(value, 10)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        body = bytearray()
        if chunked:
            while True:
                size = _number(reader.line().split(b";")[0], 16)
                if size == 0:
                    while reader.line():
                        pass
                    break
                reader.body(size, body)
                reader.line()
        else:
            reader.body(length, body)
        try:
            text = body.decode()
        except UnicodeError:
            text = "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in body)
        return status, text.strip()


def split_path(path):
    """("training", "data") from "/api/training/data"; ValueError for anything else."""
    parts = path.split("/") if isinstance(path, str) else ()
    if len(parts) != 4 or parts[0] or parts[1] != "api" or parts[3] not in ENDPOINTS:
        raise ValueError(
            "path must be /api/<category>/files or /api/<category>/data, not %r" % (path,)
        )
    ei_options.check_category(parts[2])
    return parts[2], parts[3]


def client_from_config(config, board, cls=None):
    """A Client (or `cls`, e.g. ei_robust.Client) set up from a config.py module (see
    config.example.py: API_KEY, HMAC_KEY, HOST, PORT, TLS, CA, TIMEOUT, DEVICE_NAME) and a
    board module (DEVICE_TYPE, device_name())."""
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
    )


class _Request:
    """One prepared upload: checked options, the headers to send, and where the body comes from
    (a Recording encoded on the fly, or a file on flash)."""

    def __init__(self, client, fmt, category, endpoint, label, filename, nodup, dateid, metadata):
        ei_options.check_category(category)
        if endpoint not in ENDPOINTS:
            raise ValueError("endpoint must be 'files' or 'data', not %r" % (endpoint,))
        ei_encode.check_format(fmt)
        if label is not None:
            ei_encode.check_text("label", label)
        if filename is not None:
            ei_encode.check_text("filename", filename)
            if '"' in filename or "/" in filename or "\\" in filename:
                raise ValueError("filename must not contain quotes or slashes: %r" % filename)
        self._meta = None if metadata is None else ei_options.metadata_json(metadata)
        self.client = client
        self.fmt = fmt
        self.category = category
        self.endpoint = endpoint
        self.label = label
        self.filename = filename
        self.no_label = label is None and filename is None
        self._nodup = nodup
        self._dateid = dateid
        self.rec = None
        self.head = None
        self.path_on_disk = None

    def finish(self, length):
        ctype = ei_options.CONTENT_TYPES[self.fmt]
        if self.endpoint == "files":
            boundary = "ei-ingest-%08x%08x" % (_random32(), _random32())
            self.content_type = "multipart/form-data; boundary=" + boundary
            self.pre = (
                '--%s\r\nContent-Disposition: form-data; name="data"; filename="%s"\r\n'
                "Content-Type: %s\r\n\r\n" % (boundary, self.filename, ctype)
            ).encode()
            self.post = ("\r\n--%s--\r\n" % boundary).encode()
        else:
            self.content_type = ctype
            self.pre = b""
            self.post = b""
        self.file_length = length
        self.length = len(self.pre) + length + len(self.post)

    def path(self):
        return "/api/%s/%s" % (self.category, self.endpoint)

    def header_items(self):
        c = self.client
        yield "x-api-key", c._api_key
        if self.label is not None:
            yield "x-label", urlencode(self.label)
        elif self.no_label:
            yield "x-no-label", "1"
        if self.endpoint == "data":
            yield "x-file-name", urlencode(self.filename)
        if self._nodup:
            yield "x-disallow-duplicates", "1"
        if self._dateid:
            yield "x-add-date-id", "1"
        if self._meta is not None:
            yield "x-metadata", self._meta.decode()
        yield "x-upload-source", c.upload_source
        yield "Content-Type", self.content_type
        yield "Content-Length", str(self.length)

    def request_head(self):
        c = self.client
        host = c.host if c.port == (443 if c.tls else 80) else "%s:%d" % (c.host, c.port)
        out = bytearray(b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (self.path().encode(), host.encode()))
        for name, value in self.header_items():
            out.extend(name.encode())
            out.extend(b": ")
            out.extend(value.encode())
            out.extend(b"\r\n")
        out.extend(b"Connection: close\r\n\r\n")
        return out

    def write(self, write):
        """Pass 2: request head, then the body streamed through the staging buffer."""
        sink = ei_encode.writer(_Writer(write))
        sink(self.request_head())
        if self.pre:
            sink(self.pre)
        if self.rec is not None:
            n = self.client._enc.emit(self.rec, self.fmt, self.head, sink)
        else:
            n = 0
            for chunk in self.file_chunks():
                sink(chunk)
                n += len(chunk)
        if n != self.file_length:
            raise ValueError("body is %d bytes, %d were announced" % (n, self.file_length))
        if self.post:
            sink(self.post)

    def file_chunks(self):
        enc = self.client._enc
        view = memoryview(enc.buf)[: enc.size]
        path = self.path_on_disk
        if path is None:
            return
        with open(path, "rb") as f:
            while True:
                n = f.readinto(view)
                if not n:
                    return
                yield view[:n]


class _Writer:
    """Gives write() to a function; sendall returns None, which writer() takes as 'all'."""

    def __init__(self, write):
        self.write = write


def _stored_name(text, fallback):
    if text.startswith("{"):
        import json

        try:
            obj = json.loads(text)
        except ValueError:
            raise InvalidError(200, "unreadable JSON answer: %s" % text[:200])
        if not obj.get("success", False):
            raise InvalidError(200, obj.get("error") or text[:200])
        files = obj.get("files") or []
        if files:
            first = files[0]
            if not first.get("success", True):
                raise error_for(400, first.get("error") or text[:200])
            return first.get("fileName") or fallback
        return fallback
    return text or fallback


def _number(text, base):
    try:
        n = int(text.strip(), base)
    except ValueError:
        n = -1
    if n < 0:
        raise ConnectionFailed("bad length in the answer: %r" % text[:20])
    return n


def _why(e):
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
        code = e.args[0]
        if code in (11, 110, 116):
            return "timed out (no answer)"
        if code == 111:
            return "connection refused"
        if code in (104, 32):
            return "connection reset"
    text = str(e)
    if "timed out" in text:
        return "timed out (no answer)"
    return text or type(e).__name__


def _random32():
    import random

    return random.getrandbits(32)
