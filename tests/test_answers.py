"""What the uploader makes of answers it did not write: the ingestion API's own words, and the
captive portals, proxies, redirects and odd servers between a board and the API.

A raw server (tests/rawserver.py) answers exactly the bytes each case gives; the upload runs in
the micropython interpreter and in CPython. A success is only what the API answers: anything
else is a retryable UnexpectedAnswer, so no recording is taken for delivered on a proxy's word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from harness import SCENARIOS, run_cpython, run_micropython
from rawserver import RawServer, http

RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}
RECORDING = {"sensors": [["accX", "m/s2"]], "interval_ms": 10, "rows": [[1], [2], [3]]}
FILES_OK = b'{"success":true,"files":[{"success":true,"fileName":"idle.x1.cbor","sampleId":7}]}'
PORTAL = b"<!DOCTYPE html><html><head><title>Hotel Wi-Fi</title></head><body>Log in</body></html>"


def upload(
    runtime: str, tmp_path: Path, port: int, robust: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    spec = {
        "robust": robust,
        "client": dict(
            api_key="ei_k", hmac_key="h", device_type="SIM", host="127.0.0.1", port=port,
            tls=False, timeout=5,
        ),
        "upload": dict(label="idle", **options),
        "recording": RECORDING,
    }  # fmt: skip
    path = tmp_path / f"spec-{runtime}.json"
    path.write_text(json.dumps(spec))
    proc = RUNTIMES[runtime](SCENARIOS / "upload.py", str(path), timeout=60)
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def answered(runtime: str, tmp_path: Path, raw: bytes, **options: Any) -> dict[str, Any]:
    with RawServer([raw]) as server:
        out = upload(runtime, tmp_path, server.port, **options)
    assert len(server.requests) == 1, "one request, never sent twice by the plain Client"
    return out


def json_answer(size: int) -> bytes:
    """FILES_OK padded with a note to exactly `size` bytes."""
    pad = size - len(FILES_OK) - len(b',"note":""')
    return FILES_OK[:-1] + b',"note":"' + b"n" * pad + b'"}'


SUCCESSES = [
    ("files JSON", http(200, FILES_OK, "Content-Type: application/json"), {}, "idle.x1.cbor"),
    ("data name", http(200, b"idle.3lan8ief.cbor", "Content-Type: text/plain"),
     {"endpoint": "data"}, "idle.3lan8ief.cbor"),
    ("data name, no type", http(200, b"idle.a.cbor\n"), {"endpoint": "data"}, "idle.a.cbor"),
    ("long JSON answer (3 KiB)",
     http(200, FILES_OK[:-1] + b',"note":"' + b"n" * 3000 + b'"}',
          "Content-Type: application/json"),
     {}, "idle.x1.cbor"),
    ("JSON answer of 16 KiB, the most read whole", http(200, json_answer(16384)), {},
     "idle.x1.cbor"),
    ("status line without a reason phrase",
     b"HTTP/1.1 200\r\nContent-Length: %d\r\n\r\n" % len(FILES_OK) + FILES_OK, {},
     "idle.x1.cbor"),
    ("'chunked' in another header", http(200, FILES_OK, "X-Mode: chunked"), {},
     "idle.x1.cbor"),
    ("a one-byte name", http(200, b"a", "Content-Type: text/plain"), {"endpoint": "data"},
     "a"),
    ("unasked-for 199 first (any 1xx is interim)",
     b"HTTP/1.1 199 Whatever\r\n\r\n" + http(200, FILES_OK), {}, "idle.x1.cbor"),
    ("unasked-for 100 Continue first",
     b"HTTP/1.1 100 Continue\r\n\r\n" + http(200, FILES_OK), {}, "idle.x1.cbor"),
    ("bare LF line ends",
     b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 7\n\nidle.ab",
     {"endpoint": "data"}, "idle.ab"),
    ("chunked JSON", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"%x\r\n" % len(FILES_OK) + FILES_OK + b"\r\n0\r\n\r\n", {}, "idle.x1.cbor"),
    ("header longer than the read buffer",
     b"HTTP/1.1 200 OK\r\nSet-Cookie: " + b"x" * 3000 + b"\r\n"
     + b"Content-Length: 6\r\n\r\nidle.b",
     {"endpoint": "data"}, "idle.b"),
]  # fmt: skip


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("case,raw,options,name", SUCCESSES, ids=[c[0] for c in SUCCESSES])
def test_what_counts_as_stored(
    runtime: str, tmp_path: Path, case: str, raw: bytes, options: dict[str, Any], name: str
) -> None:
    assert answered(runtime, tmp_path, raw, **options)["stored"] == name


REFUSALS = [
    # (case, answer, options, error class, retryable, refuses_file, words in the text)
    ("captive portal 200 HTML on /files", http(200, PORTAL, "Content-Type: text/html"), {},
     "UnexpectedAnswer", True, False, "Hotel Wi-Fi"),
    ("captive portal 200 HTML on /data", http(200, PORTAL, "Content-Type: text/html"),
     {"endpoint": "data"}, "UnexpectedAnswer", True, False, "DOCTYPE"),
    ("captive portal 200 HTML, no tag first, on /data",
     http(200, b"Log in here", "Content-Type: text/html; charset=utf-8"), {"endpoint": "data"},
     "UnexpectedAnswer", True, False, "Log in here"),
    ("200 without a body", http(200), {"endpoint": "data"}, "UnexpectedAnswer", True, False,
     "does not name"),
    ("200 two-line text", http(200, b"Welcome\nto the proxy"), {"endpoint": "data"},
     "UnexpectedAnswer", True, False, "does not name"),
    ("200 JSON that lists other files",
     http(200, b'{"success":true,"files":[{"fileName":"a"},{"fileName":"b"}]}'), {},
     "UnexpectedAnswer", True, False, "not listed"),
    ("200 JSON without files", http(200, b'{"success":true}'), {}, "UnexpectedAnswer", True,
     False, "not listed"),
    ("200 duplicate at the top level",
     http(200, b'{"success":false,"error":"An item with this hash already exists"}'), {},
     "DuplicateError", False, True, "already exists"),
    ("200 refused in the file entry",
     http(200, b'{"success":true,"files":[{"success":false,"error":"values missing"}]}'), {},
     "InvalidError", False, True, "values missing"),
    ("302 to a login page", http(302, b"", "Location: http://portal.example/login"), {},
     "UnexpectedAnswer", True, False, "http://portal.example/login"),
    ("301 moved", http(301, b"<html>moved</html>", "Location: https://elsewhere/"),
     {"endpoint": "data"}, "UnexpectedAnswer", True, False, "https://elsewhere/"),
    ("401 wrong key", http(401, b"Missing or invalid x-api-key header"), {}, "AuthError", False,
     False, "x-api-key"),
    ("403 forbidden", http(403, b'{"success":false,"error":"No access to project"}'), {},
     "AuthError", False, False, "No access"),
    ("404 not the API", http(404, b"Not Found"), {}, "IngestionError", False, False, "Not Found"),
    ("421 header missing", http(421, b"Missing x-file-name header"), {"endpoint": "data"},
     "MissingHeaderError", False, False, "x-file-name"),
    ("400 from the API", http(400, b'{"success":false,"error":"interval_ms must be > 0"}'), {},
     "InvalidError", False, True, "interval_ms"),
    ("400 duplicate", http(400, b"duplicate: already stored as sample 4"), {"endpoint": "data"},
     "DuplicateError", False, True, "duplicate"),
    ("400 from a proxy, in HTML", http(400, b"<html><body>Bad Request</body></html>",
                                       "Content-Type: text/html"), {},
     "UnexpectedAnswer", True, False, "Bad Request"),
    ("413 too large", http(413, b"request body is over the limit"), {}, "InvalidError", False,
     True, "over the limit"),
    ("408 timeout", http(408, b"Request Timeout"), {}, "IngestionError", True, False, "Timeout"),
    ("429 slow down", http(429, b"Too Many Requests"), {}, "IngestionError", True, False, "Many"),
    ("503", http(503, b"busy"), {}, "ServerError", True, False, "busy"),
    ("204 no content", http(204), {}, "UnexpectedAnswer", True, False, "not an ingestion API"),
    ("not UTF-8", http(400, b"ab\xff\xfe"), {}, "InvalidError", False, True, "ab??"),
    ("99, no interim answer", http(99, b"odd"), {}, "IngestionError", False, False, "odd"),
    ("JSON answer past 16 KiB: cut, so not read as stored", http(200, json_answer(16385)), {},
     "UnexpectedAnswer", True, False, "does not name"),
    ("long text in chunks is cut to its first bytes too",
     b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"12c\r\n" + b"e" * 300 + b"\r\n" + b"12c\r\n" + b"e" * 300 + b"\r\n0\r\n\r\n", {},
     "ServerError", True, False, "e" * 512),
    ("long text is cut to its first bytes", b"HTTP/1.0 500 Oops\r\n\r\n" + b"e" * 10000, {},
     "ServerError", True, False, "e" * 512),
]  # fmt: skip


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize(
    "case,raw,options,kind,retryable,refuses,words", REFUSALS, ids=[c[0] for c in REFUSALS]
)
def test_what_each_answer_means(
    runtime: str, tmp_path: Path, case: str, raw: bytes, options: dict[str, Any], kind: str,
    retryable: bool, refuses: bool, words: str,
) -> None:  # fmt: skip
    out = answered(runtime, tmp_path, raw, **options)
    assert out["error"] == kind, out
    assert (out["retryable"], out["refuses_file"]) == (retryable, refuses), out
    assert words in out["text"], out
    if case.startswith("long text"):
        assert "e" * 513 not in out["text"]


LONG_STATUS = b"HTTP/1.1 " + bytes(range(0x41, 0x41 + 50)) + b" OK"  # no two bytes alike


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_a_header_line_is_read_up_to_200_bytes(runtime: str, tmp_path: Path) -> None:
    """A longer line is cut there (its rest skipped, the answer still read): the Location of a
    redirect comes back as the line's first 200 bytes allow."""
    line = "Location: http://portal.example/" + "p" * 300
    out = answered(runtime, tmp_path, http(302, b"", line))
    assert out["error"] == "UnexpectedAnswer", out
    assert f"redirected to {line[10:200]} (" in out["text"], out


BROKEN = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n", "bad length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed in the middle"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nidle.", "closed in the middle"),  # 1 short
    (b"HTTP/1.1 200 OK\r\nContent-Le", "closed in the middle"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
    (b"HTTP/1.1\r\n\r\n", "not an HTTP answer"),  # no status
    (
        b"HTTP/1.1 200 OK\r\nContent-Length: " + LONG_STATUS + b"\r\n\r\n",
        f"bad length in the answer: {(b' ' + LONG_STATUS)[:20]!r}",
    ),  # its first 20 bytes
    (b"HTTP/1.1 abc OK\r\n\r\n", "bad HTTP status line"),
    (LONG_STATUS + b"\r\n\r\n", f"bad HTTP status line: {LONG_STATUS[:40]!r}"),  # 40 bytes
    (b"X" + LONG_STATUS + b"\r\n\r\n", f"not an HTTP answer: {(b'X' + LONG_STATUS)[:40]!r}"),
]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize("raw,words", BROKEN)
def test_broken_answers_are_retryable_connection_errors(
    runtime: str, tmp_path: Path, raw: bytes, words: str
) -> None:
    out = answered(runtime, tmp_path, raw)
    assert out["error"] == "ConnectionFailed" and out["retryable"], out
    assert words in out["text"], out


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_binary_goes_to_data_by_default(runtime: str, tmp_path: Path) -> None:
    with RawServer([http(200, b"noise.x.cbor")]) as server:
        out = upload(runtime, tmp_path, server.port, fmt="binary")
    assert out["stored"] == "noise.x.cbor"
    head = server.requests[0][0].decode()
    assert head.startswith("POST /api/training/data HTTP/1.1")
    assert "content-type: application/octet-stream" in head.lower()


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_retry_that_finds_its_file_stored_returns_none(runtime: str, tmp_path: Path) -> None:
    # The first answer is lost (the server closes without one), the retry is a duplicate: the
    # file is stored, under a name only the lost answer knew. None, never the asked-for name.
    lost = b""
    dup = http(400, b"duplicate: a sample with the same content is already stored")
    with RawServer([lost, dup]) as server:
        out = upload(runtime, tmp_path, server.port, robust={"attempts": 3}, filename="a.cbor")
    assert out == {"stored": None, "seconds": out["seconds"]}
    assert len(server.requests) == 2 and server.requests[0][1] == server.requests[1][1]


def test_every_error_class_says_what_to_do() -> None:
    """In CPython: each class's flags (what a caller decides on), status and words."""
    import ei_errors as E

    table = [  # (error, retryable, refuses_file, duplicate, str)
        (E.IngestionError(404, "Not Found"), False, False, False, "HTTP 404: Not Found"),
        (E.AuthError(401, "no key"), False, False, False, "HTTP 401: no key"),
        (E.InvalidError(400, "bad"), False, True, False, "HTTP 400: bad"),
        (E.MissingHeaderError(421, "x-file-name"), False, False, False, "HTTP 421: x-file-name"),
        (E.UnexpectedAnswer(302, "moved"), True, False, False, "HTTP 302: moved"),
        (E.ServerError(503, "busy"), True, False, False, "HTTP 503: busy"),
        (E.ConnectionFailed("refused"), True, False, False, "refused"),
        (E.TLSError("wrong CA"), False, False, False, "wrong CA"),
        (E.DuplicateError(400, "duplicate"), False, True, True, "HTTP 400: duplicate"),
    ]
    for err, retryable, refuses, duplicate, words in table:
        assert isinstance(err, E.IngestionError)
        assert (err.retryable, err.refuses_file, err.duplicate, str(err)) == (
            retryable, refuses, duplicate, words,
        ), type(err).__name__  # fmt: skip
    assert (E.ConnectionFailed("x").status, E.ConnectionFailed("x").text) == (0, "x")
    assert (E.TLSError("z").status, E.TLSError("z").text) == (0, "z")
    assert (E.ServerError(500, "y").status, E.ServerError(500, "y").text) == (500, "y")


LONG_PAGE = "".join(chr(0x30 + n % 75) for n in range(120))  # no two neighbours alike
FILES_TWO = '{"success":true,"files":[{"success":false,"error":"bad units","fileName":"a.cbor"},'
FOR_ANSWER = [
    # (status, text, content type, location, filename): (class, str(error))
    ((400, "{not json", b"", b"", "a"), ("InvalidError", "HTTP 400: {not json")),
    ((400, '{"success":false,"error":""}', b"", b"", "a"),
     ("InvalidError", 'HTTP 400: {"success":false,"error":""}')),
    ((400, '{"error":5}', b"", b"", "a"), ("InvalidError", 'HTTP 400: {"error":5}')),
    ((400, "Bad Request page", b"text/HTML; charset=utf-8", b"", "a"),
     ("UnexpectedAnswer", "HTTP 400: not an ingestion API answer: 'Bad Request page'")),
    ((400, "<p>no</p>", b"text/plain", b"", "a"),
     ("UnexpectedAnswer", "HTTP 400: not an ingestion API answer: '<p>no</p>'")),
    ((201, "made", b"", b"", "a"),
     ("UnexpectedAnswer", "HTTP 201: not an ingestion API answer: 'made'")),
    ((299, "", b"", b"", "a"), ("UnexpectedAnswer", "HTTP 299: not an ingestion API answer: ''")),
    ((300, "", b"", b"http://x/", "a"),
     ("UnexpectedAnswer", "HTTP 300: redirected to http://x/ (a captive portal or proxy?): ''")),
    ((302, LONG_PAGE, b"", b"http://portal/", "a"),  # the first 80 characters, no more
     ("UnexpectedAnswer", "HTTP 302: redirected to http://portal/ (a captive portal or proxy?): "
      + repr(LONG_PAGE[:80]))),
    ((399, "go", b"", b"", "a"),
     ("UnexpectedAnswer", "HTTP 399: redirected to nowhere (a captive portal or proxy?): 'go'")),
    ((200, FILES_TWO + '{"fileName":"b.cbor"}]}', b"", b"", "a.cbor"),
     ("InvalidError", "HTTP 400: bad units")),
    ((200, FILES_TWO + '{"fileName":"b.cbor"}]}', b"", b"", "b.cbor"),
     ("UnexpectedAnswer", "HTTP 200: this file is not listed in the answer: "
      + repr((FILES_TWO + '{"fileName":"b.cbor"}]}')[:80]))),
    ((200, '{"success":true,"error":"note","files":[]}', b"", b"", "a"),  # an error beside
     ("UnexpectedAnswer", "HTTP 200: this file is not listed in the answer: "  # success: not one
      + repr('{"success":true,"error":"note","files":[]}'))),
    ((200, '{"success":true,"files":[{"success":false}]}', b"", b"", "c"),
     ("InvalidError", 'HTTP 400: {"success":true,"files":[{"success":false}]}')),
    ((200, '{"success":false,"error":"Already Exists"}', b"", b"", "a"),
     ("DuplicateError", "HTTP 200: Already Exists")),
    ((200, "two\nlines", b"", b"", "a"),
     ("UnexpectedAnswer", "HTTP 200: the answer does not name the stored file: 'two\\nlines'")),
    ((400, "a DUPLICATE file", b"", b"", "a"), ("DuplicateError", "HTTP 400: a DUPLICATE file")),
    ((413, "too big", b"", b"", "a"), ("InvalidError", "HTTP 413: too big")),
    ((401, "who", b"", b"", "a"), ("AuthError", "HTTP 401: who")),
    ((402, "pay", b"", b"", "a"), ("IngestionError", "HTTP 402: pay")),
    ((403, "no", b"", b"", "a"), ("AuthError", "HTTP 403: no")),
    ((421, "x-label", b"", b"", "a"), ("MissingHeaderError", "HTTP 421: x-label")),
    ((499, "gone", b"", b"", "a"), ("IngestionError", "HTTP 499: gone")),
    ((500, "oops", b"", b"", "a"), ("ServerError", "HTTP 500: oops")),
    ((599, "oops", b"", b"", "a"), ("ServerError", "HTTP 599: oops")),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "expected"), FOR_ANSWER)
def test_for_answer_at_every_edge(answer: tuple[Any, ...], expected: tuple[str, str]) -> None:
    """ei_errors.for_answer directly, in CPython: the edges of each status range, content types
    in any case, JSON that is not the API's, a refusal in one of several file entries."""
    import ei_errors

    status, text, ctype, location, filename = answer
    err = ei_errors.for_answer(status, text, ctype, location, "files", filename)
    assert (type(err).__name__, str(err)) == expected
    assert err.status == (400 if expected[1].startswith("HTTP 400") else status)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(407, False), (408, True), (409, False), (428, False), (429, True), (430, False)],
)
def test_only_408_and_429_of_the_other_4xx_are_retryable(status: int, retryable: bool) -> None:
    import ei_errors

    err = ei_errors.for_answer(status, "x", b"", b"", "files", "a")
    assert type(err) is ei_errors.IngestionError and err.retryable is retryable


def _files(*entries: str) -> bytes:
    return b'{"success":true,"files":[%s]}' % ",".join(entries).encode()


OUTCOMES = [
    # (status, body, endpoint, our file name): the stored name, or the error class and words
    (200, b"a", "data", "x.cbor", "a"),  # a one-character name
    (200, b"n" * 255, "data", "x.cbor", "n" * 255),  # the longest name
    (200, b"n" * 256, "data", "x.cbor", ("UnexpectedAnswer", "does not name the stored file")),
    (200, b"idle sample.cbor", "data", "x.cbor", "idle sample.cbor"),  # a space is printable
    (200, b"idle\x1fsample", "data", "x.cbor", ("UnexpectedAnswer", "does not name")),
    (200, _files('{"fileName":""}'), "files", "x.cbor", "x.cbor"),  # no name given: ours
    (200, _files('{"fileName":5}'), "files", "x.cbor", "x.cbor"),
    (200, _files('{"fileName":"s.cbor"}'), "files", "x.cbor", "s.cbor"),
    (400, b"a b\x1f~\x7f\xff", "files", "x.cbor", ("InvalidError", "HTTP 400: a b?~??")),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "endpoint", "filename", "expected"), OUTCOMES)
def test_outcome_at_every_edge(
    status: int, body: bytes, endpoint: str, filename: str, expected: str | tuple[str, str]
) -> None:
    """ei_http.outcome directly, in CPython: the edges of what counts as a stored name."""
    from types import SimpleNamespace

    import ei_errors
    import ei_http

    req = SimpleNamespace(endpoint=endpoint, filename=filename)
    if isinstance(expected, str):
        assert ei_http.outcome(status, bytearray(body), req) == expected
        return
    with pytest.raises(ei_errors.IngestionError) as err:
        ei_http.outcome(status, bytearray(body), req)
    assert type(err.value).__name__ == expected[0] and expected[1] in str(err.value)
