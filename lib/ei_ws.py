"""A websocket client (RFC 6455) for remote management: blocking, bounded, masked.

    ws = ei_ws.WebSocket("ws://192.168.1.10:4802")      # wss:// takes ca= (DER) as uploads do
    ws.connect()                                         # HTTP/1.1 upgrade, accept key checked
    ws.send('{"hello":{...}}')                           # one masked text frame
    op = ws.recv(1000)          # wait up to 1 s: OP_TEXT / OP_BINARY, message in ws.buf[:ws.n]
    ws.ping(); ws.frames        # keep-alive: every frame received (PONGs too) counts
    ws.close()

MicroPython's `websocket` module is WebREPL's server side (unmasked writes, PINGs swallowed):
this is our own client. The upgrade must answer the Sec-WebSocket-Accept that SHA-1 + base64 of
our random key give; every frame we send is masked with a fresh key; PINGs get PONGs; fragments
are reassembled; a masked server frame, RSV bits or a bad opcode close with 1002, a message over
`max_message` bytes with 1009 (as WebSocketError: the caller reconnects). No extension or
subprotocol is offered, so none may be answered.

Memory: one `max_message` buffer for messages (512 bytes by default; a sample request is ~250),
125 bytes for control frames, a 128-byte staging buffer for masked writes and a few small ones,
all allocated once per WebSocket and reused by every connect(). Receiving a control frame,
ping() and waiting for data allocate nothing (tests/test_ws.py proves it with heap_lock); each
message received costs only what the caller makes of it. The connection itself: a socket, plus
a TLS session for wss:// (~20-35 KiB from mbedTLS, on Pico W from the Python heap). Importing
ei_ws.mpy: ~7 KiB of heap on board32 (nothing when frozen); see ei_remote for whole sessions.
"""

import os
import random
import select
import socket
import sys

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


OP_CONT = const(0)
OP_TEXT = const(1)
OP_BINARY = const(2)
OP_CLOSE = const(8)
OP_PING = const(9)
OP_PONG = const(10)
_CTL_MAX = const(125)
_STAGE = const(128)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CPYTHON = sys.implementation.name == "cpython"


class WebSocketError(Exception):
    """The connection failed or was closed; `code` is the close code (0: none)."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code


def parse_url(url):
    """(tls, host, port, path) from "ws://host[:port][/path]" or "wss://..."."""
    if not isinstance(url, str):
        raise ValueError("url must be a str like ws://host:port, not %r" % (url,))
    if url.startswith("ws://"):
        tls, rest = False, url[5:]
    elif url.startswith("wss://"):
        tls, rest = True, url[6:]
    else:
        raise ValueError("url must start with ws:// or wss://, not %r" % url)
    slash = rest.find("/")
    hostport, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    host, _, digits = hostport.partition(":")
    if not host or "@" in host or "[" in host or " " in rest:
        raise ValueError("url %r: give a host name or IPv4 address, no user or spaces" % url)
    try:
        port = int(digits) if digits else (443 if tls else 80)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError("url %r: port must be 1..65535" % url)
    return tls, host, port, path


def accept_key(key):
    """The Sec-WebSocket-Accept value a server must answer to our Sec-WebSocket-Key."""
    import hashlib
    from binascii import b2a_base64

    return b2a_base64(hashlib.sha1(key + _GUID).digest()).strip()


class WebSocket:
    """One websocket client connection to `url`; connect() again after any error."""

    def __init__(self, url, ca=None, insecure=False, timeout=10, max_message=512):
        self.tls, self.host, self.port, self.path = parse_url(url)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError("timeout must be a number of seconds > 0, not %r" % (timeout,))
        if not isinstance(max_message, int) or max_message < 256:
            raise ValueError("max_message must be an int >= 256 (bytes), not %r" % (max_message,))
        self.timeout = timeout
        self._insecure = bool(insecure)
        self._ca, self._spans = None, ()
        if self.tls:
            import ei_tls

            if ca is not None:
                self._ca, self._spans = ei_tls.load_ca(ca)
            elif not self._insecure:
                raise ValueError("wss:// needs ca=<DER bytes or file>, or insecure=True")
            else:
                ei_tls.warn_insecure(self.host)
        self.buf = bytearray(max_message)
        self._ctl = bytearray(_CTL_MAX)
        self._stage = bytearray(_STAGE)
        self._head = bytearray(8)
        self._sock = None
        self._poll = None
        self._closing = False
        self.n = 0  # bytes of the last message in buf
        self._op = -1  # opcode of a fragmented message being assembled, -1: none
        self.frames = 0  # frames received since connect() (PONGs and PINGs included)

    def __repr__(self):
        return "<WebSocket %s:%d tls=%s>" % (self.host, self.port, self.tls)

    def connect(self):
        """Open the connection and complete the upgrade; WebSocketError if it is refused."""
        self.abort()
        try:
            addr = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            raise WebSocketError("cannot resolve %s: %s" % (self.host, e))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)  # a TLS socket has no settimeout: set it underneath
            try:
                sock.connect(addr[0][-1])
            except OSError as e:
                raise WebSocketError("cannot connect to %s:%d: %s" % (self.host, self.port, e))
            if self.tls:
                import ei_tls

                sock = ei_tls.wrap(sock, self.host, self._ca, self._spans, self._insecure)
            self._sock = sock
            self._upgrade()
        except BaseException:
            self._sock = None
            sock.close()
            raise
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        if not _CPYTHON:
            self._poll.ipoll(0)  # its result tuple is allocated now, not in a recv()
        self.n, self._op, self.frames, self._closing = 0, -1, 0, False

    def _upgrade(self):
        from binascii import b2a_base64

        key = b2a_base64(os.urandom(16)).strip()
        req = (
            b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (self.path.encode(), self.host.encode(), self.port, key)
        )
        self._write(req, len(req))
        status = self._line()
        if status[:9] not in (b"HTTP/1.1 ", b"HTTP/1.0 ") or status[9:13] != b"101 ":
            raise WebSocketError("no websocket upgrade, the server answered %r" % status[:60])
        want = accept_key(key)
        accepted = upgraded = False
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"sec-websocket-accept":
                accepted = value == want
            elif name == b"upgrade":
                upgraded = value.lower() == b"websocket"
            elif name in (b"sec-websocket-extensions", b"sec-websocket-protocol"):
                raise WebSocketError("the server chose %s we did not offer" % name.decode())
        if not upgraded or not accepted:
            raise WebSocketError("bad upgrade answer: Upgrade or Sec-WebSocket-Accept wrong")

    def _line(self):
        """One handshake line, read a byte at a time so no frame byte is read early."""
        buf = self.buf
        n = 0
        limit = len(buf)  # the longest answer line we take
        while True:
            self._read(self._head, 1)
            b = self._head[0]
            if b == 10 and n and buf[n - 1] == 13:
                return bytes(buf[: n - 1])
            if n >= limit:
                raise WebSocketError("upgrade answer has a line over %d bytes" % limit)
            buf[n] = b
            n += 1

    def abort(self):
        """Drop the connection at once, without a close handshake."""
        sock, self._sock, self._poll = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def close(self, code=1000):
        """Close handshake: send CLOSE with `code`, wait briefly for the server's, drop."""
        if self._sock is None:
            return
        try:
            self._send_close(code)
            for _ in range(4):  # a few frames at most: data may still be in flight
                if not self._readable(1000) or self._next_frame() == OP_CLOSE:
                    break
        except (OSError, WebSocketError):
            pass
        self.abort()

    def send(self, data, op=OP_TEXT):
        """Send one message (str, bytes or bytearray) as a single masked frame."""
        if isinstance(data, str):
            data = data.encode()
        self._frame_out(op, data, len(data))

    def ping(self):
        self._frame_out(OP_PING, self._ctl, 0)

    def _frame_out(self, op, data, n):
        stage = self._stage
        mask = self._head  # the masking key, kept for every chunk of the payload
        stage[0] = 0x80 | op
        if n < 126:
            stage[1] = 0x80 | n
            at = 2
        elif n < 65536:
            stage[1] = 0x80 | 126
            stage[2] = n >> 8
            stage[3] = n & 255
            at = 4
        else:
            raise WebSocketError("message of %d bytes is over this client's 65535" % n)
        for k in range(4):
            mask[k] = stage[at] = random.getrandbits(8)
            at += 1
        i = 0
        while True:
            while i < n and at < _STAGE:
                stage[at] = data[i] ^ mask[i & 3]
                at += 1
                i += 1
            self._write(stage, at)
            if i >= n:
                return
            at = 0

    def _write(self, buf, n):
        sock = self._sock
        if sock is None:
            raise WebSocketError("not connected")
        try:
            if _CPYTHON:
                sock.sendall(memoryview(buf)[:n])
            else:
                sock.write(buf, 0, n)
        except OSError as e:
            self.abort()
            raise WebSocketError("connection lost while sending: %s" % (e,))

    def recv(self, timeout_ms):
        """Wait up to `timeout_ms` for a whole message; answer PINGs and count every frame on
        the way. Returns OP_TEXT or OP_BINARY (the message is buf[:n]) or None."""
        if not self._readable(timeout_ms):
            return None
        while True:
            op = self._next_frame()
            if op == OP_TEXT or op == OP_BINARY:
                return op
            if not self._readable(0):
                return None

    def _readable(self, timeout_ms):
        poll = self._poll
        if poll is None:
            raise WebSocketError("not connected")
        if _CPYTHON:
            return bool(getattr(self._sock, "pending", int)() or poll.poll(timeout_ms))
        for _ in poll.ipoll(timeout_ms):
            return True
        return False

    def _next_frame(self):
        """Read one frame; return the opcode of a completed message, or of a control frame."""
        head = self._head
        self._read(head, 2)
        self.frames += 1
        b0 = head[0]
        op = b0 & 15
        n = head[1] & 127
        if head[1] & 0x80 or b0 & 0x70:
            self._fail(1002, "the server sent a masked frame or RSV bits")
        if n == 126:
            self._read(head, 2)
            n = (head[0] << 8) | head[1]
        elif n == 127:
            self._read(head, 8)
            if head[0] | head[1] | head[2] | head[3]:
                self._fail(1009, "the server sent a frame over 4 GiB")
            n = (head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]
        if op >= OP_CLOSE:
            if not b0 & 0x80 or n > _CTL_MAX or op > OP_PONG:
                self._fail(1002, "the server sent a bad control frame (opcode %d)" % op)
            self._read(self._ctl, n)
            if op == OP_PING:
                self._frame_out(OP_PONG, self._ctl, n)
            elif op == OP_CLOSE:
                return self._closed(n)
            return op
        if op == OP_CONT:
            if self._op < 0:
                self._fail(1002, "the server sent a continuation frame with nothing to continue")
        elif op == OP_TEXT or op == OP_BINARY:
            if self._op >= 0:
                self._fail(1002, "the server started a message inside a fragmented one")
            self._op = op
            self.n = 0
        else:
            self._fail(1002, "the server sent unknown opcode %d" % op)
        if self.n + n > len(self.buf):
            self._fail(1009, "the server sent a message over %d bytes" % len(self.buf))
        if self.n == 0:
            self._read(self.buf, n)
        else:
            self._read(memoryview(self.buf)[self.n : self.n + n], n)
        self.n += n
        if not b0 & 0x80:
            return OP_CONT
        op, self._op = self._op, -1
        return op

    def _closed(self, n):
        code = (self._ctl[0] << 8) | self._ctl[1] if n >= 2 else 1005
        reason = bytes(self._ctl[2:n]).decode() if n > 2 else ""
        if not self._closing:
            try:
                self._frame_out(OP_CLOSE, self._ctl, 2 if n >= 2 else 0)  # echo, as RFC 6455 asks
            except WebSocketError:
                pass
        self.abort()
        raise WebSocketError("the server closed the connection (%d %s)" % (code, reason), code)

    def _send_close(self, code):
        self._ctl[0] = code >> 8
        self._ctl[1] = code & 255
        self._closing = True
        self._frame_out(OP_CLOSE, self._ctl, 2)

    def _fail(self, code, why):
        try:
            self._send_close(code)
        except WebSocketError:
            pass
        self.abort()
        raise WebSocketError("%s: closed with %d" % (why, code), code)

    def _read(self, buf, n):
        """Exactly n bytes into buf (from its start); EOF or a timeout drops the connection."""
        sock = self._sock
        if sock is None:
            raise WebSocketError("not connected")
        try:
            if _CPYTHON:
                view = memoryview(buf)
                got = 0
                while got < n:
                    k = sock.recv_into(view[got:n], n - got)
                    if not k:
                        break
                    got += k
            else:
                got = sock.readinto(buf, n) if n else 0
        except OSError as e:
            self.abort()
            timeout = e.args and e.args[0] in (11, 110, 116)  # EAGAIN, ETIMEDOUT (TLS), lwIP
            raise WebSocketError(
                "connection lost while reading: %s" % ("timed out" if timeout else e)
            )
        if got != n:
            self.abort()
            if got is None:  # MicroPython: a socket timeout reads as "would block"
                raise WebSocketError("connection lost while reading: timed out")
            raise WebSocketError("the server closed the connection (end of stream)")
