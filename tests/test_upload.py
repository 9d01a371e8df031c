"""Uploads from the device library to the local ingestion server, a real process on loopback.

Each upload runs as the same scenario script in the micropython unix port and in CPython; the
server (which does not import lib/) is the oracle: it lists each file with its signature
status, and its stored bytes are decoded independently here.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ei_errors
import ei_http
import ei_ingest
import ei_wire
import pytest
from daq import decode, rows, signature_span, signature_valid
from harness import refusing_port
from serverproc import ServerProc, TestCA, make_test_ca
from uploadscenario import ROWS, client_args, client_args_for_port, find, upload


def one_row() -> ei_ingest.Recording:
    rec = ei_ingest.Recording((("accX", "m/s2"),), 10, 3)
    rec.append((1,))
    return rec


UNIQUE = {"mpy": 1700000001, "cpy": 1700000002, "cbor": 1, "json": 2}  # distinct files per case


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, ca: TestCA) -> Iterator[ServerProc]:
    with ServerProc(tmp_path_factory.mktemp("tlsdata"), tls=ca) as s:
        yield s


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("endpoint", ["files", "data"])
@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_upload_http(
    server: ServerProc, runtime: str, endpoint: str, fmt: str, tmp_path: Path
) -> None:
    label = f"idle {runtime}/é"
    iat = 1764150000 + hash((runtime, endpoint, fmt)) % 100000  # distinct files, no duplicates
    out = upload(
        runtime, tmp_path, client_args(server),
        dict(label=label, category="testing", fmt=fmt, endpoint=endpoint,
             metadata={"site": "lab 1", "run": runtime}, iat=iat),
    )  # fmt: skip
    assert "stored" in out, out
    sample = find(server, out["stored"])
    assert sample["label"] == label
    assert sample["category"] == "testing"
    assert sample["signature"] == "valid"
    assert sample["metadata"] == {"site": "lab 1", "run": runtime}
    assert sample["uploadSource"] == "ei_ingest"
    assert sample["deviceType"] == "SIM-BOARD" and sample["deviceName"] == "02:00:00:00:00:01"
    assert sample["rows"] == len(ROWS)
    obj = decode(server.raw(sample["id"]))
    assert rows(obj) == ROWS
    assert obj["protected"]["iat"] == iat
    seen = [r for r in server.requests_seen() if r["outcome"] == 200][-1]
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-disallow-duplicates"] == "1"
    assert headers["x-label"] == "idle%20" + runtime + "%2F%C3%A9"
    if endpoint == "data":
        assert headers["content-type"] == f"application/{fmt}"
        assert out["stored"].startswith("idle")
    else:
        assert headers["content-type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_binary_payload_and_unsigned(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    audio = {
        "sensors": [["audio", "wav"]], "interval_ms": 0.0625, "typecode": "h",
        "rows": [[(i * 7919) % 65536 - 32768] for i in range(4000)],
    }  # fmt: skip
    out = upload(
        runtime, tmp_path, client_args(server, hmac_key=None, device_name=f"mic-{runtime}"),
        dict(label="noise", fmt="binary", endpoint="data", add_date_id=True),
        audio,
    )  # fmt: skip
    sample = find(server, out["stored"])
    assert sample["signature"] == "none" and sample["rows"] == 4000
    assert sample["contentType"] == "application/octet-stream"
    assert rows(decode(server.raw(sample["id"]))) == audio["rows"]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_path_as_given_and_another_hmac_key(
    server: ServerProc, runtime: str, tmp_path: Path
) -> None:
    # What a remote-management request asks for: this path, signed with the request's key.
    args = client_args(server, hmac_key="not-the-servers-key", device_name=f"path-{runtime}")
    out = upload(
        runtime, tmp_path, args,
        dict(label="wave", path="/api/anomaly/data", hmac_key=server.hmac_key, fmt="json"),
    )  # fmt: skip
    sample = find(server, out["stored"])
    assert (sample["category"], sample["label"], sample["signature"]) == (
        "anomaly",
        "wave",
        "valid",
    )
    seen = [r for r in server.requests_seen() if r["outcome"] == 200][-1]
    assert seen["path"] == "/api/anomaly/data"
    bad = upload(runtime, tmp_path, args, dict(path="/api/anomaly/data?x=1"))
    assert bad["error"] == "ValueError" and "path" in bad["text"]
    bad = upload(runtime, tmp_path, args, dict(path="/api/nowhere/files"))
    assert bad["error"] == "ValueError" and "category" in bad["text"]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_no_label_and_filename(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    args = client_args(server, device_name=f"dev-{runtime}")
    out = upload(runtime, tmp_path, args, dict(filename=f"walk.{runtime}.json", fmt="json"))
    assert find(server, out["stored"])["label"] == "walk"
    out = upload(runtime, tmp_path, args, dict(fmt="cbor", endpoint="data"))
    assert find(server, out["stored"])["label"] in (None, "")


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_upload_https(
    tls_server: ServerProc, ca: TestCA, runtime: str, fmt: str, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.der"
    ca_file.write_bytes(ca.ca_der)
    out = upload(
        runtime, tmp_path, client_args(tls_server, tls=True, ca=str(ca_file)),
        dict(label="secure", fmt=fmt, iat=UNIQUE[runtime] + 10 * UNIQUE[fmt]),
    )  # fmt: skip
    assert "stored" in out, out
    sample = find(tls_server, out["stored"])
    assert sample["signature"] == "valid"
    assert rows(decode(tls_server.raw(sample["id"]))) == ROWS


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_https_refuses_wrong_ca_and_wrong_host(
    tls_server: ServerProc, runtime: str, tmp_path: Path
) -> None:
    other = make_test_ca(tmp_path / "other")
    wrong = tmp_path / "wrong.der"
    wrong.write_bytes(other.ca_der)
    before = len(tls_server.samples())
    out = upload(runtime, tmp_path, client_args(tls_server, tls=True, ca=str(wrong)), {})
    assert out["error"] == "TLSError" and not out["retryable"], out
    assert "certificate" in out["text"]
    assert len(tls_server.samples()) == before


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_https_refuses_wrong_host_name(runtime: str, tmp_path: Path) -> None:
    named = make_test_ca(tmp_path / "named", hosts=("127.0.0.1",))  # no "localhost" in the cert
    ca_file = tmp_path / "named.der"
    ca_file.write_bytes(named.ca_der)
    with ServerProc(tmp_path / "d", tls=named) as server:
        args = client_args(server, tls=True, ca=str(ca_file))
        assert "stored" in upload(runtime, tmp_path, args, {}), "the right name works"
        out = upload(runtime, tmp_path, dict(args, host="localhost"), dict(iat=1700000005))
        assert out["error"] == "TLSError" and not out["retryable"], out
        assert len(server.samples()) == 1


def test_https_without_ca_is_refused_before_connecting(tmp_path: Path) -> None:
    out = upload("mpy", tmp_path, client_args_for_port(1, tls=True), {})
    assert out["error"] == "ValueError" and "HTTPS needs a CA certificate" in out["text"]


def test_client_defaults_are_the_official_api_over_https(logs: list[str]) -> None:
    """In CPython: a Client given only its keys talks HTTPS to the official host, and so needs
    a CA (or insecure=True, which warns)."""
    with pytest.raises(ValueError, match="HTTPS needs a CA certificate"):
        ei_http.Client("ei_k", "h", "T")
    c = ei_http.Client("ei_k", "h", "T", insecure=True)
    assert (c.host, c.port, c.tls, c.timeout, c.keep_alive, c.transport, c.upload_source) == (
        "ingestion.edgeimpulse.com", 443, True, 10, True, "socket", "ei_ingest",
    )  # fmt: skip
    assert c._enc.size == 1024  # the staging buffer
    assert any("insecure" in line for line in logs), logs


BAD_CLIENTS = [
    ({"api_key": ""}, "api_key is empty"),
    ({"api_key": "k\n"}, "api_key contains a control character (0x0a)"),
    ({"host": ""}, "host is empty"),
    ({"host": "a\x00"}, "host contains a control character (0x00)"),
    ({"port": 0}, "port must be 1..65535, not 0"),
    ({"port": 65536}, "port must be 1..65535, not 65536"),
    ({"port": "80"}, "port must be 1..65535, not '80'"),
    ({"timeout": 0}, "timeout must be a number of seconds > 0, not 0"),
    ({"timeout": "5"}, "timeout must be a number of seconds > 0, not '5'"),
    ({"transport": "x"}, "transport must be 'socket' or 'requests', not 'x'"),
    ({"upload_source": ""}, "upload_source is empty"),
    ({"stage_size": 63}, "stage_size must be at least 64 bytes"),
]


PLAIN: dict[str, Any] = dict(api_key="ei_k", hmac_key="h", device_type="T", tls=False)


@pytest.mark.parametrize(("bad", "words"), BAD_CLIENTS)
def test_client_names_the_bad_argument(bad: dict[str, Any], words: str) -> None:
    """In CPython: each bad argument is a ValueError that names it."""
    with pytest.raises(ValueError) as err:
        ei_http.Client(**dict(PLAIN, **bad))
    assert str(err.value) == words


def test_client_takes_the_edges() -> None:
    args = PLAIN
    assert [ei_http.Client(**args, port=p).port for p in (1, 65535)] == [1, 65535]
    assert [ei_http.Client(**args, timeout=t).timeout for t in (1, 0.5)] == [1, 0.5]
    assert not ei_http.Client(**args, transport="requests").keep_alive  # requests' own pool


def test_prepare_names_files_and_writes_the_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """In CPython, nothing sent: a signed file is named after its signature's first 12 hex
    digits; an unsigned one after a random number and a count (two in a row never share a
    name); the request head names a port that is not the scheme's."""
    rec = one_row()
    signed = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", port=8080, tls=False)
    assert signed.hmac_key == b"h"
    req = signed.prepare(rec, label="idle", iat=1700000000)
    body = b"".join(bytes(c) for c in req.chunks())
    file = body[len(req.pre) : len(body) - len(req.post)]
    assert signature_valid(file, "h") and len(body) == req.length
    start = (signature_span(file) or (0, 0))[0]
    assert req.filename == f"idle.{file[start : start + 12].decode()}.cbor"
    assert b"\r\nHost: 127.0.0.1:8080\r\n" in req.request_head

    monkeypatch.setattr(ei_http, "_random32", lambda: 0xABCDEF01)
    unsigned = ei_http.Client("ei_k", None, "T", host="127.0.0.1", tls=False)
    assert unsigned.hmac_key is None
    names = [unsigned.prepare(rec, label="idle").filename for _ in range(2)]
    assert names == ["idle.abcdef010001.cbor", "idle.abcdef010002.cbor"]
    assert b"\r\nHost: 127.0.0.1\r\n" in unsigned.prepare(rec).request_head
    assert b"Connection: close" not in unsigned.prepare(rec).request_head  # kept alive
    closing = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", tls=False, keep_alive=False)
    assert b"\r\nConnection: close\r\n" in closing.prepare(rec).request_head
    head = unsigned.prepare(rec, add_date_id=True, disallow_duplicates=False).request_head
    assert b"\r\nx-add-date-id: 1\r\n" in head and b"x-disallow-duplicates" not in head
    for port, host in ((None, b"127.0.0.1"), (80, b"127.0.0.1:80"), (4443, b"127.0.0.1:4443")):
        tls = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", port=port, insecure=True)
        assert b"\r\nHost: %s\r\n" % host in tls.prepare(rec).request_head


def test_upload_file_names_and_checks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In CPython, the request captured instead of sent: the file keeps its own name (also
    given without a folder), is unlabelled only with neither a label nor a filename, and a
    missing or empty file is a ValueError before anything is sent."""
    c = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", tls=False)
    monkeypatch.setattr(c, "send", lambda req: req)
    (tmp_path / "walk.x1.cbor").write_bytes(b"\xa0")
    (tmp_path / "empty.cbor").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    cases = [
        ({}, "walk.x1.cbor", True),
        ({"label": "walk"}, "walk.x1.cbor", False),
        ({"filename": "other.cbor"}, "other.cbor", False),
    ]
    for kw, name, no_label in cases:
        for path in ("walk.x1.cbor", str(tmp_path / "walk.x1.cbor")):
            req = c.upload_file(path, "cbor", **kw)
            assert (req.filename, b"x-no-label: 1" in req.request_head) == (name, no_label)
    req = c.upload_file("walk.x1.cbor", "cbor")  # the file grows after it was measured
    (tmp_path / "walk.x1.cbor").write_bytes(b"\xa0\xa0")
    with pytest.raises(ValueError, match=r"body is \d+ bytes, \d+ were announced"):
        req.write(lambda chunk: len(chunk))
    with pytest.raises(ValueError, match=r"file 'nothing\.cbor' cannot be read: "):
        c.upload_file("nothing.cbor", "cbor")
    with pytest.raises(ValueError, match=r"file 'empty\.cbor' is empty"):
        c.upload_file("empty.cbor", "cbor")


def test_client_from_config_and_as_a_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """In CPython: config.py's names with their documented defaults, the board's type and
    name, another class with its own arguments; `with` gives the Client and closes it."""
    board = SimpleNamespace(DEVICE_TYPE="ESP32", device_name=lambda: "aa:bb")
    c = ei_http.client_from_config(SimpleNamespace(API_KEY="ei_k", TLS=False), board)
    assert type(c) is ei_http.Client
    assert (c.hmac_key, c.device_type, c.device_name, c.host, c.port, c.timeout) == (
        None, "ESP32", "aa:bb", "ingestion.edgeimpulse.com", 80, 10,
    )  # fmt: skip
    with pytest.raises(ValueError, match="HTTPS needs a CA"):  # TLS unless config says not
        ei_http.client_from_config(SimpleNamespace(API_KEY="ei_k"), board)

    class Mine(ei_http.Client):
        pass

    full = SimpleNamespace(API_KEY="ei_k", HMAC_KEY="h", DEVICE_NAME="lab", HOST="10.0.0.2",
                           PORT=4810, TLS=False, TIMEOUT=3)  # fmt: skip
    c = ei_http.client_from_config(full, board, cls=Mine, keep_alive=False)
    assert type(c) is Mine
    assert (c.hmac_key, c.device_name, c.host, c.port, c.timeout, c.keep_alive) == (
        b"h", "lab", "10.0.0.2", 4810, 3, False,
    )  # fmt: skip
    closed = []
    monkeypatch.setattr(c._wire, "close", lambda: closed.append(1))
    with c as inside:
        assert inside is c and not closed
    assert closed == [1]


# --- what goes wrong --------------------------------------------------------------------------


def test_a_socket_that_could_not_connect_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """In CPython: a refused connection leaves no socket open (a board has a handful)."""
    made: list[socket.socket] = []
    real = socket.socket

    def tracked(*args: Any) -> socket.socket:
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(ei_wire.socket, "socket", tracked)
    rec = one_row()
    with refusing_port() as port, pytest.raises(ei_errors.ConnectionFailed):
        ei_http.Client("ei_k", None, "T", host="127.0.0.1", port=port, tls=False).upload(rec)
    assert made and [s.fileno() for s in made] == [-1] * len(made), "closed"


def test_socket_errors_in_words() -> None:
    """ei_wire._why: the errno of each port (11 EAGAIN and 110 ETIMEDOUT on unix and rp2, 116
    ETIMEDOUT on esp32's newlib) in the words a user reads."""
    words = {11: "timed out (no answer)", 110: "timed out (no answer)",
             116: "timed out (no answer)", 111: "connection refused", 104: "connection reset",
             32: "connection reset", 117: "117"}  # fmt: skip
    assert {code: ei_wire._why(OSError(code)) for code in words} == words
    assert ei_wire._why(OSError("ssl handshake timed out")) == "timed out (no answer)"
    assert ei_wire._why(OSError()) == "OSError"


FILES_OK = b'{"success":true,"files":[{"success":true,"fileName":"idle.x1.cbor"}]}'


class Silent(io.BytesIO):
    """A peer that never answers: every read times out."""

    def readline(self, size: int | None = -1) -> bytes:
        raise TimeoutError("timed out")


class EarlyAnswer:
    """A socket whose peer stops reading after `room` bytes (the write then fails: the server
    has answered and closed) and whose answer is `answer`."""

    def __init__(self, room: int, answer: bytes | None) -> None:
        self.room = room
        self.answer = answer
        self.closed = False

    def sendall(self, data: bytes) -> None:
        self.room -= len(data)
        if self.room < 0:
            raise BrokenPipeError(32, "Broken pipe")

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.answer) if self.answer is not None else Silent()

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (b"HTTP/1.1 413 Too Large\r\nContent-Length: 8\r\n\r\ntoo big!", "InvalidError",
         "HTTP 413: too big!"),
        (b"HTTP/1.1 401 No\r\nContent-Length: 6\r\n\r\nno key", "AuthError", "no key"),
        (b"", "ConnectionFailed", "connection lost while sending: connection reset"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nx.cb", "ConnectionFailed",
         "server answered 200 before the whole body was sent"),
        (None, "ConnectionFailed", "127.0.0.1:80: timed out (no answer)"),  # all sent, then
        (b"SSH-2.0-OpenSSH\r\n", "ConnectionFailed", "not an HTTP answer"),  # all sent, then
    ],
)  # fmt: skip
def test_an_answer_while_sending_is_read(
    monkeypatch: pytest.MonkeyPatch, answer: bytes | None, error: str, words: str
) -> None:
    """In CPython, on a fake socket: a server that answers early (401, 413) and closes while
    the body is still going out is heard; nothing heard is a lost connection, a 200 before
    the whole body was sent is not believed, and no answer at all times out; the socket is
    closed every time."""
    early = answer is not None and answer[:5] in (b"", b"HTTP/")
    sock = EarlyAnswer(600 if early else 1 << 20, answer)

    def connect(wire: ei_wire.Wire) -> EarlyAnswer:
        wire._in = sock.makefile("rb")
        return sock

    monkeypatch.setattr(ei_wire.Wire, "_connect", connect)
    rec = ei_ingest.Recording((("a", "u"),), 10, 500)
    for i in range(500):
        rec.append((i,))
    client = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", tls=False)
    with pytest.raises(ei_errors.IngestionError) as err:
        client.upload(rec, label="x")
    assert (type(err.value).__name__, words in str(err.value)) == (error, True), err.value
    assert sock.closed and client._wire._sock is None


def test_an_answer_read_until_the_close_closes_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Content-Length (and not chunked): the answer ends at the close, so the connection is
    not kept, even on HTTP/1.1."""
    sock = EarlyAnswer(1 << 20, b"HTTP/1.1 200 OK\r\n\r\n" + FILES_OK)

    def connect(wire: ei_wire.Wire) -> EarlyAnswer:
        wire._in = sock.makefile("rb")
        return sock

    monkeypatch.setattr(ei_wire.Wire, "_connect", connect)
    client = ei_http.Client("ei_k", "h", "T", host="127.0.0.1", tls=False)
    assert client.upload(one_row(), label="idle") == "idle.x1.cbor"
    assert sock.closed and client._wire._sock is None


def test_a_host_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """In CPython, the resolver made to fail (no DNS is needed): a retryable ConnectionFailed
    that names the host."""

    def no_such_name(*args: object) -> None:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(ei_wire.socket, "getaddrinfo", no_such_name)
    rec = one_row()
    client = ei_http.Client("ei_k", None, "T", host="ingest.example", tls=False)
    with pytest.raises(ei_errors.ConnectionFailed, match="cannot resolve ingest.example") as err:
        client.upload(rec, label="x")
    assert err.value.retryable


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize(
    "fault,error,status,retryable",
    [
        ({"status": 500}, "ServerError", 500, True),
        ({"status": 503}, "ServerError", 503, True),
        ({"status": 421}, "MissingHeaderError", 421, False),
        ({"close_after_bytes": 300}, "ConnectionFailed", 0, True),
    ],
)
def test_fault_modes(
    server: ServerProc, runtime: str, fault: dict[str, Any], error: str, status: int,
    retryable: bool, tmp_path: Path,
) -> None:  # fmt: skip
    server.set_fault(count=1, **fault)
    try:
        out = upload(runtime, tmp_path, client_args(server), dict(label="fault", iat=None))
    finally:
        server.clear_faults()
    assert out["error"] == error, out
    assert out["status"] == status and out["retryable"] is retryable
    if status:
        assert out["text"], "the server's text is carried"


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_stalled_server_times_out(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    server.set_fault(stall_seconds=8, count=1)
    try:
        out = upload(runtime, tmp_path, client_args(server, timeout=2), dict(label="stall"))
    finally:
        server.clear_faults()
    assert out["error"] == "ConnectionFailed" and out["retryable"], out
    assert "timed out" in out["text"]
    # The client gave up at its 2 s timeout, long before the stalled answer (8 s) would come:
    # a loaded machine adds seconds to the first bound, it cannot add six to the second.
    assert 1.9 <= out["seconds"] < 8


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_refused_connection_is_retryable(runtime: str, tmp_path: Path) -> None:

    with refusing_port() as port:
        out = upload(runtime, tmp_path, client_args_for_port(port), {})
    assert out["error"] == "ConnectionFailed" and out["retryable"], out
    assert "refused" in out["text"]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_server_refusals(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    out = upload(runtime, tmp_path, client_args(server, api_key="ei_wrong"), {})
    assert (out["error"], out["status"], out["retryable"]) == ("AuthError", 401, False), out
    assert out["text"]
    # The same file twice with x-disallow-duplicates: the second is refused as a duplicate.
    args = client_args(server)
    first = upload(runtime, tmp_path, args, dict(label="dup", iat=UNIQUE[runtime]))
    assert "stored" in first
    again = upload(runtime, tmp_path, args, dict(label="dup", iat=UNIQUE[runtime]))
    assert (again["error"], again["status"]) == ("DuplicateError", 400), again
    # A file the server cannot accept: signed with the wrong key, on a strict server.
    with ServerProc(tmp_path / "strict", require_valid_signature=True) as strict:
        out = upload(runtime, tmp_path, client_args(strict, hmac_key="not-the-key"), {})
        assert (out["error"], out["status"]) == ("InvalidError", 400), out
        assert "signature" in out["text"]
        assert strict.samples() == []


def test_requests_transport_streams(server: ServerProc, tmp_path: Path) -> None:
    out = upload(
        "mpy", tmp_path, client_args(server, transport="requests"),
        dict(label="via requests", fmt="json", endpoint="data"),
    )  # fmt: skip
    assert "stored" in out, out
    sample = find(server, out["stored"])
    assert sample["signature"] == "valid"
    assert rows(decode(server.raw(sample["id"]))) == ROWS
    seen = [r for r in server.requests_seen() if r["outcome"] == 200][-1]
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert "transfer-encoding" not in headers, "our Content-Length, not chunked"
    assert int(headers["content-length"]) == seen["bodySize"]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_upload_file_from_flash(server: ServerProc, runtime: str, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"stored.{fmt}"
    args = client_args(server, device_name=f"flash-{runtime}")
    out = upload(runtime, tmp_path, args, dict(fmt=fmt, label="flash"), via_file=str(path))
    assert "stored" in out, out
    sample = find(server, out["stored"])
    assert sample["signature"] == "valid" and sample["label"] == "flash"
    assert server.raw(sample["id"]) == path.read_bytes()


class FakeResponse:
    """What micropython-lib's requests.post returns: status_code, content, headers, close()."""

    def __init__(self, status: int, content: bytes, headers: dict[str, Any] | None) -> None:
        self.status_code = status
        self.content = content
        self.headers = headers
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeRequests:
    """A `requests` module for ei_requests (installed in sys.modules): it records each post,
    keeping every chunk of the body as it was handed over, and gives a set answer."""

    def __init__(self, answer: FakeResponse | OSError) -> None:
        self.answer = answer
        self.posts: list[dict[str, Any]] = []

    def post(self, url: str, data: Any, headers: dict[str, str], timeout: float) -> FakeResponse:
        chunks = list(data)  # all of them first: a chunk that was a view of the stage changes
        self.posts.append(dict(url=url, chunks=chunks, headers=headers, timeout=timeout))
        if isinstance(self.answer, OSError):
            raise self.answer
        return self.answer


def requests_client(monkeypatch: pytest.MonkeyPatch, answer: FakeResponse | OSError) -> Any:
    import sys

    import ei_http
    import spool_common

    fake = FakeRequests(answer)
    monkeypatch.setitem(sys.modules, "requests", fake)
    client = ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", device_name="req", host="127.0.0.1",
        port=8099, tls=False, timeout=7, stage_size=64, transport="requests",
    )  # fmt: skip
    return client, fake


def test_requests_transport_hands_over_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """In CPython with a recording `requests`: the URL, our headers but Host and Connection
    (requests writes its own), the timeout, the body as separate copies of the stage, and the
    answer's headers read whatever their case and type; the response is closed."""
    import spool_common

    answer = FakeResponse(200, b"req.json\n", {"Content-Type": "text/plain", "X-Other": b"1"})
    client, fake = requests_client(monkeypatch, answer)
    rec = spool_common.recording(21)
    assert client.upload(rec, label="via fake", fmt="json", endpoint="data") == "req.json"
    (post,) = fake.posts
    assert post["url"] == "http://127.0.0.1:8099/api/training/data" and post["timeout"] == 7
    headers = post["headers"]
    assert "Host" not in headers and "Connection" not in headers
    assert headers["x-api-key"] == spool_common.API_KEY and headers["x-label"] == "via%20fake"
    assert headers["Content-Type"] == "application/json"
    body = b"".join(post["chunks"])
    assert len(post["chunks"]) > 2 and all(type(c) is bytes for c in post["chunks"])
    assert int(headers["Content-Length"]) == len(body)
    assert rows(decode(body)) == [list(spool_common.row(21, j)) for j in range(20)]
    assert answer.closed


def test_requests_transport_reads_the_answers_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A portal's page that does not start with '<' is known by its content type; a redirect
    names where it goes (headers as str or bytes, any case); each response is closed."""
    import ei_errors
    import spool_common

    portal = FakeResponse(200, b"Accept the terms", {"content-TYPE": b"text/html"})
    client, _ = requests_client(monkeypatch, portal)
    with pytest.raises(ei_errors.UnexpectedAnswer, match="does not name the stored file"):
        client.upload(spool_common.recording(22), fmt="json", endpoint="data")
    assert portal.closed
    moved = FakeResponse(302, b"", {"Location": "http://portal.example/login"})
    client, _ = requests_client(monkeypatch, moved)
    with pytest.raises(ei_errors.UnexpectedAnswer, match="redirected to http://portal.example"):
        client.upload(spool_common.recording(23))
    assert moved.closed
    bare = FakeResponse(200, b"bare.json", None)  # no headers at all: stored by its name
    client, _ = requests_client(monkeypatch, bare)
    assert client.upload(spool_common.recording(24), endpoint="data") == "bare.json"


def test_requests_transport_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import ei_errors
    import ei_http
    import spool_common

    client, _ = requests_client(monkeypatch, OSError("connection refused"))
    with pytest.raises(ei_errors.ConnectionFailed) as err:
        client.upload(spool_common.recording(25))
    assert str(err.value).endswith("http://127.0.0.1:8099: connection refused"), str(err.value)
    args = (spool_common.API_KEY, None, "SIM")
    with pytest.raises(ValueError, match="'requests' cannot check certificates"):
        ei_http.Client(*args, host="127.0.0.1", tls=True, transport="requests")
    insecure = ei_http.Client(*args, tls=True, insecure=True, transport="requests")
    assert insecure._wire.url == "https://ingestion.edgeimpulse.com:443"
