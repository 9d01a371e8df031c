"""A strict websocket server for tests, on raw sockets: it shares no code with lib/ei_ws.py or
the local server, and checks what a lax server would let pass.

    with StrictWsServer(script) as server:       # script(conn) runs once per connection
        url = server.url                         # ws://127.0.0.1:<port>
        ...
        server.connections, server.violations

Every client frame must be masked (RFC 6455 5.1) and carry no RSV bits: the first one that
is not is recorded in ``violations`` and the connection is closed with 1002, as npm ``ws``
does. The upgrade request must be a GET with ``Upgrade: websocket``, ``Connection: Upgrade``,
``Sec-WebSocket-Version: 13`` and a 16-byte base64 key; ``accept`` can be overridden to answer a
wrong Sec-WebSocket-Accept.

``Conn`` (one per connection, handed to the script): ``frame()`` -> Frame (raises Closed),
``message()`` -> (opcode, payload) of the next whole data message (PINGs answered with PONGs
on the way, every frame kept in ``frames``), ``json()`` -> the next text message decoded,
``send(opcode, payload, fin=True)``, ``text(obj)`` (a JSON text frame), ``close(code)``,
``drop(reset=False)`` (no close handshake; with a TCP RST if asked), ``sock`` for anything raw.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Closed(Exception):
    """The peer closed (or broke) the connection."""


@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes
    masked: bool


@dataclass
class Conn:
    sock: socket.socket
    server: StrictWsServer
    frames: list[Frame] = field(default_factory=list)
    request: bytes = b""

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise Closed("end of stream")
            data += chunk
        return data

    def frame(self) -> Frame:
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exact(8))[0]
        masked = bool(b1 & 0x80)
        mask = self._exact(4) if masked else b""
        payload = self._exact(n)
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        frame = Frame(bool(b0 & 0x80), b0 & 0x0F, payload, masked)
        self.frames.append(frame)
        if not masked or b0 & 0x70:
            self.server.violations.append(f"client frame opcode {frame.opcode}: masked={masked}")
            self.close(1002)
            raise Closed("protocol violation")
        return frame

    def message(self) -> tuple[int, bytes]:
        data, opcode = b"", None
        while True:
            f = self.frame()
            if f.opcode == 9:
                self.send(10, f.payload)
                continue
            if f.opcode == 10:
                continue
            if f.opcode == 8:
                code = struct.unpack(">H", f.payload[:2])[0] if len(f.payload) >= 2 else 1005
                self.server.close_codes.append(code)
                try:
                    self.send(8, f.payload[:2])
                except OSError:
                    pass
                raise Closed(f"client closed with {code}")
            opcode = f.opcode if opcode is None else opcode
            data += f.payload
            if f.fin:
                return opcode, data

    def json(self) -> Any:
        opcode, data = self.message()
        assert opcode == 1, f"expected a text message, got opcode {opcode}"
        return json.loads(data)

    def send(self, opcode: int, payload: bytes = b"", fin: bool = True) -> None:
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        self.sock.sendall(head + payload)

    def text(self, obj: Any) -> None:
        self.send(1, json.dumps(obj).encode())

    def close(self, code: int = 1000) -> None:
        try:
            self.send(8, struct.pack(">H", code))
        except OSError:
            pass
        self.drop()

    def drop(self, reset: bool = False) -> None:
        """Close without a close frame; `reset`: with a TCP RST, so the peer's next write fails."""
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class StrictWsServer:
    def __init__(self, script: Callable[[Conn], None], accept: bytes | None = None) -> None:
        self.script = script
        self.accept = accept
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self.connections = 0
        self.violations: list[str] = []
        self.close_codes: list[int] = []
        self.errors: list[str] = []
        self.conns: list[Conn] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> StrictWsServer:
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for conn in self.conns:
            conn.drop()
        for t in self._threads:
            t.join(10)

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.settimeout(60)
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Conn(sock, self)
        self.conns.append(conn)
        try:
            if self._upgrade(conn):
                self.script(conn)
        except Closed:
            pass
        except Exception as exc:  # surfaced by the tests through server.errors
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.drop()

    def _upgrade(self, conn: Conn) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.sock.recv(1024)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        assert not rest, "the client sent bytes before the upgrade answer"
        conn.request = head
        lines = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
        problems = []
        if not lines[0].startswith("GET ") or not lines[0].endswith(" HTTP/1.1"):
            problems.append(f"request line {lines[0]!r}")
        if headers.get("upgrade", "").lower() != "websocket":
            problems.append("Upgrade header")
        if "upgrade" not in headers.get("connection", "").lower():
            problems.append("Connection header")
        if headers.get("sec-websocket-version") != "13":
            problems.append("Sec-WebSocket-Version")
        key = headers.get("sec-websocket-key", "")
        if len(base64.b64decode(key + "==")[:16]) != 16 or len(key) != 24:
            problems.append("Sec-WebSocket-Key")
        if problems:
            self.violations.append("bad upgrade: " + ", ".join(problems))
            conn.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        accept = self.accept or base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        conn.sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        return True
