"""Start the local ingestion server (tools/ingest_server.py) as a child process, for scripts.

    with LocalServer(data_dir) as server:   # a free 127.0.0.1 port, stopped on exit
        server.port, server.api_key, server.hmac_key, server.samples()
        server.remote_port                  # its remote management websocket (another port)

Used by `make demo` and the benchmarks; the tests have their own richer helper
(tests/serverproc.py).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


class LocalServer:
    def __init__(
        self,
        data_dir: Path,
        api_key: str | None = None,
        hmac_key: str | None = None,
        extra_args: Sequence[str] = (),
    ):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)  # e.g. --tls-cert/--tls-key for HTTPS
        self.api_key = api_key or "ei_local_" + secrets.token_hex(16)
        self.hmac_key = hmac_key or secrets.token_hex(16)
        self.port = 0
        self.remote_port = 0  # the remote management websocket's (ws://127.0.0.1:<port>)
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalServer:
        cmd = [
            sys.executable, str(ROOT / "tools" / "ingest_server.py"), "--host", "127.0.0.1",
            "--port", "0", "--data-dir", str(self.data_dir), "--api-key", self.api_key,
            "--hmac-key", self.hmac_key, *self.extra_args,
        ]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self._proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline().decode()
            ws = re.search(r"remote management listening on wss?://\S+:(\d+)", line)
            if ws:  # printed before the ingestion port's line
                self.remote_port = int(ws.group(1))
            m = re.search(r"listening on https?://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                # Keep reading its log: a full pipe would block the server mid-request after a
                # few hundred uploads (the heap benchmark makes thousands).
                threading.Thread(target=self._drain, args=(self._proc.stdout,), daemon=True).start()
                return self
            if not line and self._proc.poll() is not None:
                break
        self.__exit__(None, None, None)
        raise RuntimeError("the local ingestion server did not start")

    @staticmethod
    def _drain(stream: IO[bytes]) -> None:
        try:
            for _ in stream:
                pass
        except (OSError, ValueError):  # closed by __exit__
            pass

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def samples(self) -> list[dict[str, Any]]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/samples", headers={"x-api-key": self.api_key}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return list(json.loads(resp.read())["samples"])
