"""A TCP fault proxy for tests: sits between a client and the ingestion server and breaks
connections on purpose, one decision per accepted connection.

    with FaultProxy(server.port, modes={"pass": 5, "reset": 2, "truncate": 2}, seed=1) as proxy:
        client connects to 127.0.0.1:proxy.port
        proxy.counts -> {"pass": n, "reset": n, ...}

Modes (what happens to one connection):
  ``pass``      forward both ways untouched.
  ``refuse``    accept, then close at once (the client's request goes nowhere).
  ``reset``     forward the request up to a random byte offset (0 .. ``reset_max``), then reset
                both sides (SO_LINGER 0, then close: an RST, not a FIN). When the request is
                shorter than the offset, the server answers first and the client is reset
                instead of getting that answer: the request arrived, the answer is lost.
  ``stall``     accept and read nothing back: no byte is forwarded, nothing is answered, until
                the client gives up (closes) or ``stall_seconds`` pass.
  ``truncate``  forward the whole request, then only the first 0 .. ``truncate_max`` bytes of
                the answer, then close: the server stored the file, the client never learns.

``modes`` is a dict of weights (a random choice per connection, from ``seed``); ``queue(*modes)``
forces the next connections' modes in order, ahead of the weights. Binds 127.0.0.1 on a free port;
``stop()`` (or leaving the ``with``) closes the listener and every open connection and joins the
threads.
"""

from __future__ import annotations

import random
import select
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from types import TracebackType

MODES = ("pass", "refuse", "reset", "stall", "truncate")
_RST = struct.pack("ii", 1, 0)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    except OSError:
        pass
    sock.close()


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        modes: Mapping[str, float] | None = None,
        *,
        seed: int = 0,
        reset_max: int = 2000,
        truncate_max: int = 120,
        stall_seconds: float = 5.0,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.modes: dict[str, float] = {}
        self.set_modes(modes or {"pass": 1})
        self.rng = random.Random(seed)
        self.reset_max = reset_max
        self.truncate_max = truncate_max
        self.stall_seconds = stall_seconds
        self.counts: Counter[str] = Counter()
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    # --- control -------------------------------------------------------------------------------

    def set_modes(self, modes: Mapping[str, float]) -> None:
        unknown = set(modes) - set(MODES)
        if unknown or not modes or sum(modes.values()) <= 0:
            raise ValueError(f"modes: weights for {MODES}, got {modes!r}")
        self.modes = dict(modes)

    def queue(self, *modes: str) -> None:
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self._queue.extend(modes)

    def _next_mode(self) -> tuple[str, int]:
        with self._lock:
            if self._queue:
                mode = self._queue.popleft()
            else:
                names = list(self.modes)
                mode = self.rng.choices(names, [self.modes[n] for n in names])[0]
            self.counts[mode] += 1
            limit = self.reset_max if mode == "reset" else self.truncate_max
            return mode, self.rng.randrange(0, limit + 1)

    def start(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._acceptor.join(timeout=5)
        with self._lock:
            socks = list(self._open)
        for sock in socks:
            try:
                sock.close()
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(timeout=5)
        alive = [t for t in self._threads if t.is_alive()]
        if alive:
            raise RuntimeError(f"fault proxy: {len(alive)} connection threads did not stop")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- connections ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.1)
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return
            mode, offset = self._next_mode()
            thread = threading.Thread(target=self._serve, args=(client, mode, offset), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def _serve(self, client: socket.socket, mode: str, offset: int) -> None:
        self._track(client, True)
        upstream: socket.socket | None = None
        try:
            if mode == "refuse":
                client.close()
                return
            if mode == "stall":
                self._stall(client)
                return
            upstream = socket.create_connection(self.upstream, timeout=10)
            self._track(upstream, True)
            self._forward(client, upstream, mode, offset)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self._track(sock, False)
                    try:
                        sock.close()
                    except OSError:
                        pass

    def _stall(self, client: socket.socket) -> None:
        deadline = time.monotonic() + self.stall_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            ready, _, _ = select.select([client], [], [], 0.05)
            if ready and not client.recv(65536):
                return  # the client gave up

    def _forward(self, client: socket.socket, upstream: socket.socket, mode: str, cut: int) -> None:
        sent_up = 0  # request bytes forwarded
        sent_down = 0  # answer bytes forwarded
        if mode == "reset" and cut == 0:
            _reset(upstream)
            _reset(client)
            return
        while not self._stop.is_set():
            ready, _, _ = select.select([client, upstream], [], [], 0.05)
            if client in ready:
                data = client.recv(65536)
                if not data:
                    upstream.shutdown(socket.SHUT_WR)
                    return self._drain(upstream, client, mode, cut, sent_down)
                if mode == "reset" and sent_up + len(data) >= cut:
                    upstream.sendall(data[: cut - sent_up])
                    _reset(upstream)
                    _reset(client)
                    return
                upstream.sendall(data)
                sent_up += len(data)
            if upstream in ready:
                data = upstream.recv(65536)
                if mode == "reset":
                    # The whole request went through before the cut: lose the answer.
                    _reset(client)
                    _reset(upstream)
                    return
                if not data:
                    return
                if mode == "truncate":
                    keep = max(0, cut - sent_down)
                    if keep < len(data):
                        client.sendall(data[:keep])
                        return
                client.sendall(data)
                sent_down += len(data)

    def _drain(
        self,
        upstream: socket.socket,
        client: socket.socket,
        mode: str,
        cut: int,
        sent_down: int,
    ) -> None:
        """The client finished sending (half-close): pass the rest of the answer, as the mode
        says."""
        while not self._stop.is_set():
            ready, _, _ = select.select([upstream], [], [], 0.05)
            if not ready:
                continue
            data = upstream.recv(65536)
            if not data or mode == "reset":
                return
            if mode == "truncate" and sent_down + len(data) > cut:
                client.sendall(data[: max(0, cut - sent_down)])
                return
            client.sendall(data)
            sent_down += len(data)
