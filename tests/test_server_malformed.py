"""Table of malformed requests: each gets the right status and text, and stores nothing.

All cases run against one server (with a small --max-body). After every case the server must
still answer, and the index and the data directory must be exactly as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
from serverproc import (
    DEFAULT_API_KEY,
    HttpResult,
    ServerProc,
    encode_multipart,
    sign_cbor,
    sign_json,
)

MAX_BODY = 300_000
HMAC_KEY = "malformed-table-key"


def good_doc(**payload_changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "device_name": "aa:bb:cc:dd:ee:ff",
        "device_type": "TEST_BOARD",
        "interval_ms": 10,
        "sensors": [
            {"name": "accX", "units": "m/s2"},
            {"name": "accY", "units": "m/s2"},
            {"name": "accZ", "units": "m/s2"},
        ],
        "values": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
    }
    payload.update(payload_changes)
    return {
        "protected": {"ver": "v1", "alg": "HS256", "iat": 1700000000},
        "signature": "0" * 64,
        "payload": payload,
    }


def good_json(**payload_changes: object) -> bytes:
    return sign_json(good_doc(**payload_changes), HMAC_KEY)


def with_protected(**changes: object) -> bytes:
    doc: dict[str, Any] = good_doc()
    doc["protected"] = {**doc["protected"], **changes}
    return json.dumps(doc).encode()


def binary_body(sensors: int, sample_bytes: bytes) -> bytes:
    """A binary payload header (values closed by 0xFF) followed by raw samples."""
    head = bytearray(b"\xa3")
    head += cbor2.dumps("protected") + cbor2.dumps({"ver": "v1", "alg": "none"})
    head += cbor2.dumps("signature") + cbor2.dumps("00")
    head += cbor2.dumps("payload") + b"\xa4"
    head += cbor2.dumps("device_type") + cbor2.dumps("TEST_BOARD")
    head += cbor2.dumps("interval_ms") + cbor2.dumps(0.0625)
    head += cbor2.dumps("sensors")
    head += cbor2.dumps([{"name": f"s{i}", "units": "wav"} for i in range(sensors)])
    head += cbor2.dumps("values") + b"\x9f" + cbor2.dumps("Ref-BINARY-i16") + b"\xff"
    return bytes(head) + sample_bytes


@dataclass
class Case:
    """One malformed request and what the server must answer."""

    name: str
    status: int
    text: str
    path: str = "/api/training/data"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    api_key: str | bool | None = True
    file_name: str | None = "sample.json"
    content_type: str = "application/json"

    def send(self, server: ServerProc) -> HttpResult:
        headers = {"Content-Type": self.content_type}
        if self.file_name is not None and self.path.endswith("/data"):
            headers["x-file-name"] = self.file_name
        headers.update(self.headers)
        return server.request("POST", self.path, self.body, headers, api_key=self.api_key)


def files_case(
    name: str, status: int, text: str, parts: list[tuple[str, bytes, str]], part_name: str = "data"
) -> Case:
    body, content_type = encode_multipart(parts)
    if part_name != "data":
        body = body.replace(b'name="data"', f'name="{part_name}"'.encode(), 1)
    return Case(name, status, text, "/api/training/files", body, content_type=content_type)


DUPLICATE_BODY = good_json(device_name="already-stored")
truncated_cbor = sign_cbor(good_doc(), HMAC_KEY)[:-7]
inf_cbor = cbor2.dumps(good_doc(values=[[float("inf"), 2.0, 3.0]]))
assert b"\x83\xf9\x7c\x00" in inf_cbor  # cbor2 writes infinity as a half float

CASES = [
    Case("no api key", 401, "x-api-key", body=good_json(), api_key=None),
    Case("wrong api key", 401, "x-api-key", body=good_json(), api_key="ei_wrong"),
    Case(
        "api key with an extra char",
        401,
        "x-api-key",
        body=good_json(),
        api_key=DEFAULT_API_KEY + "x",
    ),
    Case("no x-file-name on /data", 421, "x-file-name", body=good_json(), file_name=None),
    Case("truncated JSON", 400, "invalid JSON", body=good_json()[:-5]),
    Case("JSON not UTF-8", 400, "not UTF-8", body=b'{"protected":"\xff\xfe"}'),
    Case("JSON array document", 400, "document: expected an object", body=b"[1,2,3]"),
    Case("empty body", 400, "empty body", body=b""),
    Case(
        "truncated CBOR",
        400,
        "CBOR: truncated",
        body=truncated_cbor,
        content_type="application/cbor",
        file_name="s.cbor",
    ),
    Case(
        "CBOR with trailing bytes",
        400,
        "unexpected bytes after the document",
        body=cbor2.dumps(good_doc()) + b"\x00",
        content_type="application/cbor",
    ),
    Case(
        "not JSON nor CBOR map",
        400,
        "not a data acquisition file",
        body=b"\x83\x01\x02\x03",
        content_type="application/octet-stream",
        file_name="s",
    ),
    Case(
        "row of 2 values for 3 sensors",
        400,
        "payload.values[1]: expected 3 values, got 2",
        body=good_json(values=[[1, 2, 3], [1, 2], [1, 2, 3]]),
    ),
    Case(
        "NaN literal in JSON",
        400,
        "payload.values[0][1]: not a finite number",
        body=b'{"protected":{"ver":"v1","alg":"none"},"signature":"00","payload":'
        b'{"device_type":"B","interval_ms":1,"sensors":[{"name":"a","units":"x"},'
        b'{"name":"b","units":"x"}],"values":[[1,NaN]]}}',
    ),
    Case(
        "1e999 in JSON",
        400,
        "payload.values[0]: not a finite number",
        body=b'{"protected":{"ver":"v1","alg":"none"},"signature":"00","payload":'
        b'{"device_type":"B","interval_ms":1,"sensors":[{"name":"a","units":"x"}],'
        b'"values":[1e999]}}',
    ),
    Case(
        "half-float infinity in CBOR",
        400,
        "payload.values[0][0]: not a finite number",
        body=inf_cbor,
        content_type="application/cbor",
    ),
    Case(
        "string in a row",
        400,
        "payload.values[1][2]: expected a number, got string",
        body=good_json(values=[[1, 2, 3], [1, 2, "3"]]),
    ),
    Case(
        "boolean in a row",
        400,
        "payload.values[0][0]: expected a number, got boolean",
        body=good_json(values=[[True, 2, 3]]),
    ),
    Case(
        "integer over 64 bits",
        400,
        "payload.values[0][0]: integer too large",
        body=good_json(values=[[2**70, 1, 1]]),
    ),
    Case(
        "flat values for 3 sensors",
        400,
        "payload.values[0]: expected an array of 3 values",
        body=good_json(values=[1, 2, 3]),
    ),
    Case("no rows", 400, "payload.values: no rows", body=good_json(values=[])),
    Case("protected.ver v2", 400, "protected.ver", body=with_protected(ver="v2")),
    Case("protected.alg RS256", 400, "protected.alg", body=with_protected(alg="RS256")),
    Case(
        "HS256 with a short signature",
        400,
        "signature: HS256 needs 64 hexadecimal",
        body=json.dumps(dict(good_doc(), signature="abc")).encode(),
    ),
    Case(
        "missing signature",
        400,
        "signature: required",
        body=json.dumps({k: v for k, v in good_doc().items() if k != "signature"}).encode(),
    ),
    Case("missing device_type", 400, "payload.device_type", body=good_json(device_type="")),
    Case(
        "interval_ms 0",
        400,
        "payload.interval_ms: must be greater than 0",
        body=good_json(interval_ms=0),
    ),
    Case(
        "interval_ms a string",
        400,
        "payload.interval_ms: expected a number",
        body=good_json(interval_ms="10"),
    ),
    Case("no sensors", 400, "payload.sensors: must list at least one", body=good_json(sensors=[])),
    Case(
        "sensor without a name",
        400,
        "payload.sensors[1].name",
        body=good_json(sensors=[{"name": "a", "units": "x"}, {"units": "x"}]),
    ),
    Case(
        "binary payload, odd byte count",
        400,
        "not a whole number of 2-byte i16 samples",
        body=binary_body(1, b"\x01\x00\x02"),
        content_type="application/octet-stream",
        file_name="audio",
    ),
    Case(
        "binary payload with 2 sensors",
        400,
        "exactly one sensor",
        body=binary_body(2, b"\x01\x00\x02\x00"),
        content_type="application/octet-stream",
    ),
    Case("huge header", 400, "8190", body=good_json(), headers={"x-label": "a" * 20000}),
    Case("body over --max-body", 413, "over the limit", body=b"{" + b" " * MAX_BODY + b"}"),
    Case(
        "traversal in x-file-name",
        400,
        "not a plain file name",
        body=good_json(),
        file_name="../../../etc/passwd.json",
    ),
    Case(
        "URL-encoded traversal",
        400,
        "not a plain file name",
        body=good_json(),
        file_name="..%2F..%2Fescape.json",
    ),
    Case("hidden file name", 400, "starts with '.'", body=good_json(), file_name=".hidden.json"),
    Case(
        "metadata not JSON",
        400,
        "x-metadata: not valid JSON",
        body=good_json(),
        headers={"x-metadata": "{oops"},
    ),
    Case(
        "metadata value not a string",
        400,
        "x-metadata: value of 'n' must be a string",
        body=good_json(),
        headers={"x-metadata": '{"n": 1}'},
    ),
    Case(
        "metadata an array",
        400,
        "x-metadata: expected a JSON object",
        body=good_json(),
        headers={"x-metadata": '["a"]'},
    ),
    Case(
        "duplicate with x-disallow-duplicates",
        400,
        "duplicate",
        body=DUPLICATE_BODY,
        headers={"x-disallow-duplicates": "1"},
    ),
    Case(
        "unknown category",
        404,
        "unknown category 'trainin'",
        path="/api/trainin/data",
        body=good_json(),
    ),
    Case(
        "unsupported extension",
        400,
        "unsupported file type",
        body=b"MZ\x90\x00",
        file_name="tool.exe",
        content_type="application/x-msdownload",
    ),
    Case(
        "wav without RIFF header",
        400,
        "not a .wav file",
        body=b"\x00" * 64,
        file_name="a.wav",
        content_type="audio/wav",
    ),
    Case(
        "/files not multipart",
        400,
        "multipart/form-data",
        path="/api/training/files",
        body=good_json(),
    ),
    files_case(
        "/files traversal in part filename",
        400,
        "not a plain file name",
        [("../up.json", good_json(), "application/json")],
    ),
    files_case(
        "/files part not named data",
        400,
        "every file must be 'data'",
        [("x.json", good_json(), "application/json")],
        part_name="file",
    ),
    files_case(
        "/files one bad file of two stores neither",
        400,
        "second.json: payload.values[0]: expected 3 values",
        [
            ("first.json", good_json(device_name="first"), "application/json"),
            ("second.json", good_json(values=[[1]]), "application/json"),
        ],
    ),
    files_case(
        "/files over 1000 files",
        400,
        "too many files: 1001",
        [(f"f{i}.txt", b"x", "text/plain") for i in range(1001)],
    ),
    files_case(
        "/files png with wrong magic",
        400,
        "not a .png file",
        [("pic.png", b"GIF89a....", "image/png")],
    ),
]
no_parts_body, no_parts_type = b"--b--\r\n", "multipart/form-data; boundary=b"
CASES.append(
    Case(
        "/files with no parts",
        400,
        "no files",
        path="/api/training/files",
        body=no_parts_body,
        content_type=no_parts_type,
    )
)


SERVER_OPTIONS = {"hmac_key": HMAC_KEY, "max_body": MAX_BODY}  # conftest.py's server


@pytest.fixture(scope="module")
def server(server: ServerProc) -> ServerProc:
    """conftest.py's server, holding one file already (the duplicate the tests send again)."""
    stored = server.post_data("training", DUPLICATE_BODY, file_name="dup.json")
    assert stored.status == 200, stored.text()
    return server


def _snapshot(server: ServerProc) -> tuple[list[dict[str, object]], list[str]]:
    return server.samples(), server.stored_files()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_request(server: ServerProc, case: Case) -> None:
    before = _snapshot(server)
    result = case.send(server)
    assert result.status == case.status, result.text()
    assert case.text in result.text(), result.text()
    if case.path.endswith("/files") and "8190" not in case.text:
        assert result.json()["success"] is False
    assert server.alive()
    assert _snapshot(server) == before
    leftovers = [p for p in server.data_dir.rglob(".incoming-*")]
    assert leftovers == []


def test_server_still_stores_after_the_table(server: ServerProc) -> None:
    body = good_json(device_name="after-table", values=[[7, 8, 9]])
    result = server.post_data("training", body, file_name="after.json")
    assert result.status == 200, result.text()
    sample = next(s for s in server.samples() if s["fileName"] == result.text())
    assert sample["signature"] == "valid"
