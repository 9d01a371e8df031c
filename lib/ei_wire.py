"""The socket transport: send one HTTP request to the ingestion host, read its answer.

    wire = ei_wire.Wire("ingestion.edgeimpulse.com", 443, tls=True, ca="/ca.der", timeout=10)
    status, body, content_type, location = wire.exchange(req)

`req` is a prepared upload (ei_http): `write(write)` writes its head, then streams the body
through the encoder's stage. The answer's status line (interim 1xx answers skipped; CRLF or
bare LF line ends) and headers come through the stream's own readline(), which reads up to the
LF and never past it (MicroPython's reads wait for all they are asked, and on a kept connection
nothing but the lengths marks the answer's end), so no Python code runs per byte; the body is
read by its length through the Client's stage (or a 512-byte buffer of the Wire's own): a JSON
answer whole, up to 16 KiB, anything else only its first 512 bytes (for the error text). What
the answer means is ei_http's business, not this module's.

Memory: no buffer of its own under a Client; for HTTPS, the CA bundle (about 1 KiB per root),
allocated once per Client; per request, each header line (up to 200 bytes) and the answer's
body. A TLS session costs what the port's
mbedTLS needs (~20-35 KiB; on the Pico W from the Python heap: gc.collect() before uploading
helps).
"""

import socket
import sys

from micropython import const

_MAX_JSON = const(16384)  # the longest JSON answer read whole
_MAX_TEXT = const(512)  # of any other answer, only the first bytes (for the error text)
_MAX_LINE = const(200)  # of a status or header line; longer ones are cut
_CPYTHON = sys.implementation.name == "cpython"


class Wire:
    """Connections to one host and port, plain or TLS with the certificate checked."""

    def __init__(
        self, host, port, tls, ca=None, insecure=False, timeout=10, keep_alive=True, buf=None
    ):  # fmt: skip
        self.keep_alive = keep_alive
        self._sock = None
        self._received = 0
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self._insecure = insecure
        self._ca = None
        self._ca_spans = ()
        if tls:
            import ei_tls

            if ca is not None:
                self._ca, self._ca_spans = ei_tls.load_ca(ca)
            elif not insecure:
                raise ValueError(
                    "HTTPS needs a CA certificate: pass ca=<DER bytes or file> (make deploy "
                    "builds ca.der), or insecure=True to skip the certificate check"
                )
            if insecure:
                ei_tls.warn_insecure(host)
        # Answers are read after the request is sent: a caller's send buffer can take them.
        self._rmv = memoryview(bytearray(512) if buf is None else buf)
        self._in = None  # what the answer is read from: the socket (CPython: its file)
        self._keep = False

    def exchange(self, req):
        """Send `req` on the kept connection, or a new one; return (status, body, content type,
        location) of the final answer. A kept connection that the server had closed (the write
        fails, or it closes before a byte of the answer) is replaced once: then `req.retried`
        is set, and a duplicate means the first try arrived."""
        try:
            try:
                return self._exchange(req)
            except _Stale:
                req.retried = True
                return self._exchange(req)
        except OSError as e:
            self.close()
            _failed("%s:%d: %s" % (self.host, self.port, _why(e)))
        except BaseException:
            self.close()
            raise

    def _exchange(self, req):
        sock = self._sock
        kept = sock is not None
        if sock is None:
            sock = self._sock = self._connect()
        self._received = 0
        try:
            req.write(sock.sendall if _CPYTHON else sock.write)
        except OSError as e:
            if kept:
                self.close()
                raise _Stale
            # The server may have answered early (401, 413) and closed: read what it said.
            try:
                answer = self._answer(self._in)
            except Exception:
                answer = (0,)
            self.close()
            if answer[0] == 0:
                _failed("connection lost while sending: %s" % _why(e))
            if answer[0] == 200:
                _failed("server answered 200 before the whole body was sent")
            return answer
        try:
            answer = self._answer(self._in)
        except Exception as e:
            if kept and not self._received and _why(e) != "timed out (no answer)":
                self.close()
                raise _Stale
            raise
        if not self._keep:
            self.close()
        return answer

    def close(self):
        """Close the kept connection, if any (the next exchange opens a new one)."""
        sock, self._sock = self._sock, None
        stream, self._in = self._in, None
        for each in (stream, sock):
            if each is not None:
                try:
                    each.close()
                except OSError:
                    pass

    def _connect(self):
        try:
            addr = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            _failed("cannot resolve %s: %s" % (self.host, _why(e)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            _no_delay(sock)
            sock.connect(addr[0][-1])
            if self.tls:
                import ei_tls

                sock = ei_tls.wrap(sock, self.host, self._ca, self._ca_spans, self._insecure)
        except BaseException:
            sock.close()
            raise
        # MicroPython's sockets have readline() in C; CPython's only through a file.
        self._in = sock.makefile("rb") if _CPYTHON else sock
        return sock

    def _answer(self, stream):
        status = 100
        while 100 <= status < 200:  # an unasked-for 100 Continue (or 102, 103) comes first
            status_line = self._line(stream)
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                _failed("not an HTTP answer: %r" % status_line[:40])
            self._keep = self.keep_alive and parts[0] == b"HTTP/1.1"
            try:
                status = int(parts[1])
            except ValueError:
                _failed("bad HTTP status line: %r" % status_line[:40])
            length = -1
            chunked = False
            ctype = location = b""
            while True:
                line = self._line(stream)
                if not line:
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = _number(value, 10)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"content-type":
                    ctype = value.strip()
                elif name == b"location":
                    location = value.strip()
                elif name == b"connection" and b"close" in value.lower():
                    self._keep = False
        body = bytearray()
        if chunked:
            while True:
                size = _number(self._line(stream).split(b";")[0], 16)
                if size == 0:
                    while self._line(stream):
                        pass
                    break
                self._body(stream, size, body)
                self._line(stream)
        else:
            self._keep = self._keep and length >= 0  # an answer read until the close ends it
            self._body(stream, length, body)
        return status, body, ctype, location

    def _line(self, stream):
        """The next line without its line end (CRLF, or a bare LF as some servers send), read by
        the stream up to its LF and never past it (on a kept connection nothing else marks the
        answer's end); a line longer than _MAX_LINE comes back cut (only short lines matter)."""
        line = stream.readline(_MAX_LINE)
        self._received += len(line)
        cut = line
        while line and line[-1] != 0x0A:  # cut: skip the rest
            line = stream.readline(_MAX_LINE)
        if not line:
            _failed("connection closed in the middle of the answer")
        if cut is not line:
            return cut
        return line[:-2] if line[-2:] == b"\r\n" else line[:-1]

    def _body(self, stream, length, out):
        """Read `length` bytes (-1: until close) into `out`, keeping at most _MAX_JSON bytes of
        a JSON answer and _MAX_TEXT of anything else (a proxy's page): the rest is skipped.
        MicroPython's readinto() waits for all it is asked: never more than is left."""
        keep = _MAX_TEXT
        room = len(self._rmv)
        while length:
            n = stream.readinto(self._rmv[: room if length < 0 else min(room, length)])
            if not n:
                if length > 0:
                    _failed("connection closed in the middle of the answer")
                return
            if not out and self._rmv[0] == 0x7B:  # "{"
                keep = _MAX_JSON
            if len(out) < keep:
                out.extend(self._rmv[: min(n, keep - len(out))])
            if length > 0:
                length -= n


class _Stale(Exception):
    """A kept connection the server had closed: try once more on a new one."""


def _no_delay(sock):
    """Send each write at once (no Nagle wait for the server's delayed ACK: 40-200 ms an
    upload). socket.TCP_NODELAY: CPython, and MicroPython 1.23+ on esp32 (ports/esp32/
    modsocket.c) and on lwIP ports, rp2 among them (extmod/modlwip.c, where it is TF_NODELAY,
    not 1). The unix port has no constant but takes Linux's (6, 1); elsewhere: Nagle stays,
    and the request goes out in as few writes as the stage allows."""
    opt = getattr(socket, "TCP_NODELAY", None)
    if opt is None and sys.platform != "linux":
        return
    try:
        sock.setsockopt(getattr(socket, "IPPROTO_TCP", 6), opt or 1, 1)
    except (OSError, TypeError):
        pass


def _failed(text):
    from ei_errors import ConnectionFailed  # loaded only when something goes wrong

    raise ConnectionFailed(text)


def _number(text, base):
    try:
        n = int(text.strip(), base)
    except ValueError:
        n = -1
    if n < 0:
        _failed("bad length in the answer: %r" % text[:20])
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
