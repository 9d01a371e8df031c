"""The network's cost (issue 19): no 40 ms Nagle stalls, one connection for many uploads and for
a whole spool flush, a dropped kept connection replaced once; both runtimes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from faultproxy import FaultProxy
from harness import SCENARIOS, run_cpython, run_micropython
from rawserver import RawServer, SinkServer, http
from serverproc import ServerProc

RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}


def many(runtime: str, tmp_path: Path, port: int, **spec: Any) -> dict[str, Any]:
    client = dict(api_key="ei_k", hmac_key="h", device_type="SIM", host="127.0.0.1", port=port,
                  tls=False, timeout=10)  # fmt: skip
    client.update(spec.pop("client", {}))
    path = tmp_path / f"many-{runtime}.json"
    path.write_text(json.dumps({"client": client, **spec}))
    proc = RUNTIMES[runtime](SCENARIOS / "upload_many.py", str(path), timeout=120)
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def stalls(ms: list[float]) -> int:
    """Uploads that took 30 ms more than the fastest: a delayed ACK costs 40 ms (Linux)."""
    return sum(1 for t in ms if t > min(ms) + 30)


def test_no_nagle_stalls(tmp_path: Path) -> None:
    # 30 uploads of 10,000 rows each to a sink that answers at once. The control leaves
    # Nagle's algorithm on: its last small segment waits for the server's delayed ACK (40 ms),
    # in about half of the uploads. With TCP_NODELAY none does. A loaded machine adds noise of
    # a few ms to either; the stall is a protocol timer, far above it.
    with SinkServer() as sink:
        control = many("mpy", tmp_path, sink.port, count=30, rows=10000, nagle=True)
        ours = many("mpy", tmp_path, sink.port, count=30, rows=10000)
    assert len(control["stored"]) == len(ours["stored"]) == 30, (control, ours)
    assert stalls(control["ms"]) >= 6, f"the control shows no stall: {sorted(control['ms'])}"
    assert stalls(ours["ms"]) <= 2, f"stalls with TCP_NODELAY: {sorted(ours['ms'])}"


def test_the_socket_has_no_delay_on_cpython(monkeypatch: pytest.MonkeyPatch) -> None:
    import ei_wire

    seen: list[int] = []
    real = ei_wire.Wire._connect

    def connect(self: Any) -> Any:
        sock = real(self)
        seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return sock

    monkeypatch.setattr(ei_wire.Wire, "_connect", connect)
    with SinkServer() as sink:
        import ei_ingest

        rec = ei_ingest.Recording((("a", "u"),), 10, 3)
        rec.append((1,))
        client = ei_ingest.Client("ei_k", None, "SIM", host="127.0.0.1", port=sink.port, tls=False)
        client.upload(rec, label="x", endpoint="data")
        client.close()
    assert seen and all(seen), seen


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("keep_alive,connections", [(True, 1), (False, 8)])
def test_one_connection_for_many_uploads(
    runtime: str, tmp_path: Path, keep_alive: bool, connections: int
) -> None:
    with SinkServer() as sink:
        out = many(runtime, tmp_path, sink.port, count=8, client={"keep_alive": keep_alive})
        assert out["stored"] == ["sample.sink.cbor"] * 8 and out["errors"] == [], out
        assert (sink.connections, sink.requests) == (connections, 8)


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize(
    "header,connections", [("Connection: keep-alive", 1), ("Connection: Close", 4)]
)
def test_the_servers_connection_header_is_heeded(
    runtime: str, tmp_path: Path, header: str, connections: int
) -> None:
    """A server that says keep-alive keeps the connection; one that says close (in any case)
    gets a new connection for each upload, and no stale-connection retry."""
    with SinkServer(header) as sink:
        out = many(runtime, tmp_path, sink.port, count=4)
        assert out["stored"] == ["sample.sink.cbor"] * 4 and out["errors"] == [], out
        assert (sink.connections, sink.requests) == (connections, 4)


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_a_kept_connection_closed_after_the_request_is_replaced(
    runtime: str, tmp_path: Path
) -> None:
    """The server reads the second request on the kept connection, then closes without a
    word: nothing of the answer came, so the connection was stale, and the upload goes again
    on a new one (a duplicate from it would mean the first try arrived)."""
    with SinkServer(hang_up_after=1) as sink:
        out = many(runtime, tmp_path, sink.port, count=3)
        assert out["stored"] == ["sample.sink.cbor"] * 3 and out["errors"] == [], out
        assert (sink.connections, sink.requests, sink.unanswered) == (2, 3, 1)


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_a_connection_closed_in_the_middle_of_the_answer_is_not_retried(
    runtime: str, tmp_path: Path
) -> None:
    """Part of the answer came, then the close: the request arrived, so it is not sent again
    on a new connection (that could store it twice); the upload fails, retryable."""
    with SinkServer(hang_up_after=1, last_words=b"HTTP/1.1 200 OK\r\n") as sink:
        out = many(runtime, tmp_path, sink.port, count=3)
        assert out["stored"] == ["sample.sink.cbor"] * 2, out  # the first and the third
        assert out["errors"] == [["ConnectionFailed", "connection closed in the middle of the "
                                  "answer"]], out  # fmt: skip
        assert (sink.connections, sink.requests, sink.unanswered) == (2, 2, 1)


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_an_empty_answer_keeps_the_connection(runtime: str, tmp_path: Path) -> None:
    """Content-Length: 0 ends an answer as well as any other length (no name in it: each
    upload fails, but on the one connection)."""
    with SinkServer(body=b"") as sink:
        out = many(runtime, tmp_path, sink.port, count=3)
        assert len(out["errors"]) == 3 and sink.connections == 1, out


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_a_flush_keeps_one_connection_to_the_real_server(runtime: str, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data") as server, FaultProxy(server.port) as proxy:
        out = many(
            runtime, tmp_path, proxy.port, count=12, spool=str(tmp_path / "spool"),
            client={"api_key": server.api_key, "hmac_key": server.hmac_key},
        )  # fmt: skip
        assert out["stored"] == [12] and out["left"] == 0, out
        assert proxy.counts["pass"] == 1, proxy.counts
        assert len(server.samples()) == 12


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_a_kept_connection_the_server_closed_is_replaced_once(runtime: str, tmp_path: Path) -> None:
    # The raw server answers, then closes without saying so (no Connection: close): the next
    # upload finds its kept connection dead and goes again on a new one, once.
    ok = http(200, b"kept.cbor")
    with RawServer([ok, ok, ok]) as raw:
        out = many(runtime, tmp_path, raw.port, count=3, client={"hmac_key": None})
    assert out["stored"] == ["kept.cbor"] * 3 and out["errors"] == [], out
    assert len(raw.requests) == 3, "each upload arrived once"
    dup = http(400, b"duplicate: already stored")
    with RawServer([ok, dup]) as raw:
        out = many(runtime, tmp_path, raw.port, count=2, client={"hmac_key": None})
    # The second went twice as far as the client can tell: a duplicate means it arrived.
    assert out["stored"] == ["kept.cbor", None] and out["errors"] == [], out
