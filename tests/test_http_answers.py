"""How the uploader reads answers it did not write: long headers, chunked bodies, bad lengths,
bytes that are not UTF-8, early closes. A real socket pair carries each crafted answer."""

from __future__ import annotations

import socket
import threading

import ei_http
import pytest
from ei_errors import ConnectionFailed


def answer(raw: bytes) -> tuple[int, str]:
    client = ei_http.Client("ei_k", None, "T", host="127.0.0.1", port=80, tls=False)
    ours, theirs = socket.socketpair()
    sender = threading.Thread(target=lambda: (theirs.sendall(raw), theirs.close()))
    sender.start()
    try:
        ours.settimeout(5)
        return client._answer(ours)
    finally:
        sender.join()
        ours.close()


def test_content_length_body() -> None:
    assert answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nidle.json") == (200, "idle.json")


def test_header_longer_than_the_read_buffer_is_skipped() -> None:
    long = b"Set-Cookie: " + b"x" * 3000 + b"\r\n"
    raw = b"HTTP/1.1 200 OK\r\n" + long + b"Content-Length: 5\r\n" + long + b"\r\nhello"
    assert answer(raw) == (200, "hello")


def test_chunked_body_with_extensions_and_trailers() -> None:
    raw = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nbad r\r\n7\r\now 3: x\r\n0\r\nTrailer: y\r\n\r\n"
    )
    assert answer(raw) == (400, "bad row 3: x")


def test_body_until_close_and_long_bodies_are_cut() -> None:
    status, text = answer(b"HTTP/1.0 500 Oops\r\n\r\n" + b"e" * 10000)
    assert status == 500 and text == "e" * 2048


def test_bytes_that_are_not_utf8_do_not_break_the_error() -> None:
    assert answer(b"HTTP/1.1 400 X\r\nContent-Length: 4\r\n\r\nab\xff\xfe") == (400, "ab??")


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n", "bad length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed in the middle"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "closed in the middle"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "bad HTTP status line"),
    ],
)
def test_broken_answers_are_retryable_connection_errors(raw: bytes, message: str) -> None:
    with pytest.raises(ConnectionFailed) as e:
        answer(raw)
    assert message in str(e.value) and e.value.retryable
