"""A server that answers exactly the bytes a test gives: captive portals, proxies, redirects,
odd line ends, interim answers, or the ingestion API's own words.

    with RawServer([b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"]) as raw:
        client connects to 127.0.0.1:raw.port
        raw.requests -> [(head bytes, body bytes)]

Each accepted connection takes the next answer from the list (the last one repeats); the server
reads the request head and its Content-Length body first, then writes the answer and closes.
Binds 127.0.0.1 on a port the OS picks; `stop()` (or leaving the `with`) closes everything.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class RawServer:
    def __init__(self, answers: list[bytes]) -> None:
        if not answers:
            raise ValueError("RawServer needs at least one answer")
        self.answers = list(answers)
        self.requests: list[tuple[bytes, bytes]] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        served = 0
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    self.requests.append(_read_request(conn))
                    answer = self.answers[min(served, len(self.answers) - 1)]
                    served += 1
                    conn.sendall(answer)
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self._listener.close()

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def http(status: int, body: bytes = b"", *headers: str, reason: str = "X") -> bytes:
    """An HTTP/1.1 answer with a Content-Length (and the given extra header lines)."""
    lines = [f"HTTP/1.1 {status} {reason}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class SinkServer:
    """An HTTP/1.1 sink on loopback: reads each request (head, then its Content-Length body)
    and answers 200 with a file name at once, keeping the connection open, as a plain server
    does (no quick ACK: a client that leaves Nagle's algorithm on waits for the delayed ACK).
    `connections` counts the connections accepted, `requests` the requests answered; `headers`
    are added to each answer; with `hang_up_after=n` the first connection's request after n
    answers is read and the connection closed without a word, or after `last_words`
    (`unanswered` counts it); `body` is each answer's body."""

    def __init__(
        self,
        *headers: str,
        hang_up_after: int | None = None,
        last_words: bytes = b"",
        body: bytes = b"sample.sink.cbor",
    ) -> None:
        self.headers = headers  # more header lines for each answer
        self.body = body
        self.hang_up_after = hang_up_after  # answers on the first connection, then one unheard
        self.last_words = last_words  # what it sends before hanging up
        self.connections = 0
        self.requests = 0
        self.unanswered = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(
                target=self._serve, args=(conn, self.connections == 1), daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, first: bool) -> None:
        conn.settimeout(0.5)
        answered = 0
        with conn:
            while not self._stop.is_set():
                try:
                    head, body = _read_request(conn)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not head:
                    return
                if first and answered == self.hang_up_after:  # read it, close, say nothing
                    self.unanswered += 1
                    conn.sendall(self.last_words)
                    return
                answered += 1
                self.requests += 1
                conn.sendall(http(200, self.body, *self.headers))

    def __enter__(self) -> SinkServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
