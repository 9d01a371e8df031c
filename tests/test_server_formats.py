"""Every form real clients send is accepted, and the headers shape storage as documented.

CBOR with any key order, half/single/double floats, ints, definite or indefinite arrays, flat
single-axis values, binary payloads (i16/u16/f32), JSON inside an application/cbor part, other
file types; labels from x-label / the file name / x-no-label, x-add-date-id, x-metadata.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import struct
from typing import Any

import cbor2
import pytest
from serverproc import ServerProc, sign_cbor, sign_json

KEY = "formats-test-key"


SERVER_OPTIONS = {"hmac_key": KEY}  # conftest.py's server


def doc(
    values: object, sensors: int = 3, alg: str = "HS256", **payload: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "device_type": "FORMAT_TEST",
        "interval_ms": 16.5,
        "sensors": [{"name": f"ax{i}", "units": "m/s2"} for i in range(sensors)],
        "values": values,
    }
    body.update(payload)
    return {"protected": {"ver": "v1", "alg": alg}, "signature": "0" * 64, "payload": body}


def sample_named(server: ServerProc, file_name: str) -> dict[str, Any]:
    return next(s for s in server.samples() if s["fileName"] == file_name)


def upload(
    server: ServerProc, body: bytes, name: str, content_type: str, **headers: str
) -> dict[str, Any]:
    result = server.post_data(
        "training", body, file_name=name, content_type=content_type, headers=headers
    )
    assert result.status == 200, result.text()
    return sample_named(server, result.text())


# --- hand-built CBOR, so every encoding choice is explicit -------------------------------------


def text(value: str) -> bytes:
    return cbor2.dumps(value)


def cbor_row_half_single_double_int() -> bytes:
    """Row of 4 numbers: half 1.5, single 2.25, double 0.1, int -7; an indefinite outer array."""
    return (
        b"\x84"
        + b"\xf9\x3e\x00"
        + b"\xfa"
        + struct.pack(">f", 2.25)
        + b"\xfb"
        + struct.pack(">d", 0.1)
        + b"\x26"
    )


def hand_cbor(signed: bool) -> bytes:
    """Keys in reverse order, payload first, an indefinite map and indefinite values."""
    payload = (
        b"\xbf"  # indefinite map
        + text("values")
        + b"\x9f"
        + cbor_row_half_single_double_int() * 3
        + b"\xff"
        + text("sensors")
        + cbor2.dumps([{"units": "u", "name": f"s{i}"} for i in range(4)])
        + text("interval_ms")
        + b"\xf9\x3c\x00"  # half-float 1.0
        + text("device_type")
        + text("HAND")
        + b"\xff"
    )
    protected = cbor2.dumps({"alg": "HS256" if signed else "none", "ver": "v1"})
    signature = b"\x78\x40" + b"0" * 64 if signed else text("00")
    body = b"\xa3" + text("payload") + payload + text("signature") + signature
    body += text("protected") + protected
    if signed:
        digest = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest().encode()
        body = body.replace(b"0" * 64, digest)
    return body


def test_hand_built_cbor_any_order_all_number_widths(server: ServerProc) -> None:
    body = hand_cbor(signed=True)
    sample = upload(server, body, "hand.cbor", "application/cbor")
    assert sample["signature"] == "valid"
    assert sample["rows"] == 3
    assert sample["intervalMs"] == 1.0
    assert sample["deviceType"] == "HAND"
    assert sample["contentType"] == "application/cbor"
    assert cbor2.loads(server.raw(sample["id"]))["payload"]["values"][0] == [1.5, 2.25, 0.1, -7]


def test_unsigned_cbor_signature_00(server: ServerProc) -> None:
    sample = upload(server, hand_cbor(signed=False), "hand-none.cbor", "application/cbor")
    assert sample["signature"] == "none"


def test_cbor2_definite_float64(server: ServerProc) -> None:
    body = sign_cbor(doc([[1.0, 2.0, 3.0], [4.5, 5.5, 6.5]]), KEY)
    sample = upload(server, body, "cbor2.cbor", "application/cbor")
    assert sample["signature"] == "valid"
    assert sample["rows"] == 2


def test_flat_single_axis_values(server: ServerProc) -> None:
    body = sign_json(doc([1, 2.5, -3, 4e-3], sensors=1), KEY)
    sample = upload(server, body, "flat.json", "application/json")
    assert (sample["rows"], sample["signature"]) == (4, "valid")


def test_python_sdk_style_null_signature_and_nulls(server: ServerProc) -> None:
    document = doc([[1, 2, 3]], alg="none", device_name=None)
    document["signature"] = None
    document["protected"] = {"ver": "v1", "alg": "none", "iat": None}  # type: ignore[index]
    body = json.dumps(document).encode()
    result = server.post_files("testing", [("sdk.json", body, "application/cbor")])
    assert result.status == 200, result.text()
    sample = sample_named(server, "sdk.json")
    assert sample["signature"] == "none"
    assert sample["contentType"] == "application/json"
    assert sample["deviceName"] is None


def test_pretty_json_with_spaces_verifies(server: ServerProc) -> None:
    document = doc([[1, 2, 3], [4, 5, 6]])
    body = json.dumps(document, indent=2).encode()
    digest = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()
    body = body.replace(b"0" * 64, digest.encode())
    sample = upload(server, body, "pretty.json", "application/json")
    assert sample["signature"] == "valid"


def binary_payload(sample_format: str, samples: bytes, signed: bool) -> bytes:
    reference = text(f"Ref-{'BINARY' if signed else 'binary'}-{sample_format}   ")
    head = b"\xa3" + text("protected") + cbor2.dumps({"ver": "v1", "alg": "HS256"})
    head += text("signature") + b"\x78\x40" + b"0" * 64
    head += text("payload") + b"\xa4"
    head += text("device_type") + text("MIC_BOARD") + text("interval_ms") + cbor2.dumps(0.0625)
    head += text("sensors") + cbor2.dumps([{"name": "audio", "units": "wav"}])
    head += text("values") + b"\x9f" + reference + b"\xff"
    body = head + samples
    digest = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest().encode()
    return body.replace(b"0" * 64, digest, 1)


@pytest.mark.parametrize(
    ("sample_format", "samples", "rows"),
    [
        ("i16", struct.pack("<5h", 0, -1, 32767, -32768, 12), 5),
        ("u16", struct.pack("<3H", 0, 65535, 1), 3),
        ("f32", struct.pack("<2f", 0.5, -2.0) + b"\xff\xff\xff\xff", 3),  # a sample may be 0xFF
    ],
)
def test_binary_payload(server: ServerProc, sample_format: str, samples: bytes, rows: int) -> None:
    body = binary_payload(sample_format, samples, signed=sample_format != "u16")
    sample = upload(server, body, f"audio-{sample_format}", "application/octet-stream")
    assert sample["rows"] == rows
    assert sample["signature"] == "valid"
    assert sample["contentType"] == "application/octet-stream"
    assert sample["fileName"] == f"audio-{sample_format}.cbor"
    assert server.raw(sample["id"]).endswith(samples)


def test_binary_payload_tampered_sample_is_invalid(server: ServerProc) -> None:
    body = bytearray(binary_payload("i16", struct.pack("<4h", 1, 2, 3, 4), signed=True))
    body[-1] ^= 0x01
    sample = upload(server, bytes(body), "audio-bad", "application/octet-stream")
    assert sample["signature"] == "invalid"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
AVI = b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 16
PARQUET = b"PAR1" + b"\x00" * 16 + b"PAR1"


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("car.01.png", PNG, "image/png"),
        ("car.02.jpg", JPG, "image/jpeg"),
        ("noise.wav", WAV, "audio/wav"),
        ("clip.mp4", MP4, "video/mp4"),
        ("clip.avi", AVI, "video/x-msvideo"),
        ("table.parquet", PARQUET, "application/vnd.apache.parquet"),
        ("log.txt", "héllo\n".encode(), "text/plain"),
        ("rows.csv", b"a,b\n1,2\n", "text/csv"),
    ],
)
def test_other_file_types_are_stored_as_files(
    server: ServerProc, name: str, data: bytes, content_type: str
) -> None:
    result = server.post_files("training", [(name, data, "application/octet-stream")])
    assert result.status == 200, result.text()
    entry = result.json()["files"][0]
    sample = sample_named(server, entry["fileName"])
    assert sample["contentType"] == content_type
    assert sample["rows"] is None and sample["signature"] == "none"
    assert server.raw(entry["sampleId"]) == data


def test_many_files_in_one_request(server: ServerProc) -> None:
    files = [
        (f"batch{i}.json", sign_json(doc([[i, i, i]]), KEY), "application/json") for i in range(20)
    ]
    result = server.post_files("validation", files, {"x-label": "batch"})
    assert result.status == 200, result.text()
    entries = result.json()["files"]
    assert [e["fileName"] for e in entries] == [f"batch{i}.json" for i in range(20)]
    ids = {e["sampleId"] for e in entries}
    listed = [s for s in server.samples() if s["id"] in ids]
    assert {s["label"] for s in listed} == {"batch"}
    assert {s["category"] for s in listed} == {"validation"}
    assert all(s["signature"] == "valid" for s in listed)


def test_labels_date_id_metadata_and_source(server: ServerProc) -> None:
    body = sign_json(doc([[1, 1, 1]], device_name="label-test"), KEY)
    inferred = upload(server, body, "idle.01.json", "application/json")
    assert inferred["label"] == "idle"
    explicit = upload(
        server,
        sign_json(doc([[2, 2, 2]]), KEY),
        "x.json",
        "application/json",
        **{"x-label": "caf%C3%A9%20bar"},
    )
    assert explicit["label"] == "café bar"
    unlabeled = upload(
        server,
        sign_json(doc([[3, 3, 3]]), KEY),
        "idle.json",
        "application/json",
        **{"x-no-label": "1", "x-label": "ignored"},
    )
    assert unlabeled["label"] is None
    result = server.post_data(
        "testing",
        sign_json(doc([[4, 4, 4]]), KEY),
        file_name="walk%2001.json",
        headers={
            "x-add-date-id": "1",
            "x-metadata": '{"room": "B2"}',
            "x-upload-source": "EDGE_IMPULSE_CLI_FORWARDER",
        },
    )
    assert result.status == 200, result.text()
    stored_name = result.text()
    prefix, unique, ext = stored_name.split(".")
    assert (prefix, ext, len(unique)) == ("walk 01", "json", 8)
    dated = sample_named(server, stored_name)
    assert dated["label"] == "walk 01"
    assert dated["metadata"] == {"room": "B2"}
    assert dated["uploadSource"] == "EDGE_IMPULSE_CLI_FORWARDER"
    assert (server.data_dir / "testing" / "walk 01" / stored_name).is_file()
    assert (server.data_dir / "training" / "_unlabeled" / unlabeled["fileName"]).is_file()


def test_same_name_twice_gets_a_unique_stored_name(server: ServerProc) -> None:
    first = server.post_data("anomaly", sign_json(doc([[5, 5, 5]]), KEY), file_name="same.json")
    second = server.post_data("anomaly", sign_json(doc([[6, 6, 6]]), KEY), file_name="same.json")
    assert first.status == second.status == 200
    assert first.text() == "same.json"
    assert second.text() != "same.json" and second.text().startswith("same.")


def test_label_cannot_escape_the_data_dir(server: ServerProc) -> None:
    sample = upload(
        server,
        sign_json(doc([[7, 7, 7]]), KEY),
        "esc.json",
        "application/json",
        **{"x-label": "../../outside"},
    )
    assert sample["label"] == "../../outside"
    stored = [p for p in server.stored_files() if p.endswith("/esc.json")]
    assert len(stored) == 1
    path = (server.data_dir / stored[0]).resolve()
    assert path.is_relative_to(server.data_dir / "training")


def test_duplicates_allowed_without_the_header(server: ServerProc) -> None:
    body = sign_json(doc([[8, 8, 8]], device_name="dup-ok"), KEY)
    assert server.post_data("training", body, file_name="d1.json").status == 200
    assert server.post_data("training", body, file_name="d2.json").status == 200
    again = server.post_data(
        "training", body, file_name="d3.json", headers={"x-disallow-duplicates": "1"}
    )
    assert again.status == 400 and "duplicate" in again.text()


def test_non_ascii_headers_utf8_or_latin1(server: ServerProc) -> None:
    """http.client (under the Python SDK) sends str headers as Latin-1; UTF-8 also works."""
    latin = server.post_data(
        "training",
        sign_json(doc([[9, 9, 9]]), KEY),
        file_name="l.json",
        headers={"x-label": "café", "x-upload-source": "naïve"},
    )
    assert latin.status == 200, latin.text()
    sample = sample_named(server, "l.json")
    assert (sample["label"], sample["uploadSource"]) == ("café", "naïve")
    raw_utf8 = "grün".encode().decode("latin-1")  # sent byte for byte as UTF-8
    utf8 = server.post_data(
        "training",
        sign_json(doc([[10, 10, 10]]), KEY),
        file_name="u.json",
        headers={"x-label": raw_utf8},
    )
    assert utf8.status == 200, utf8.text()
    assert sample_named(server, "u.json")["label"] == "grün"


def test_chunked_transfer_encoding(server: ServerProc) -> None:
    """A body without Content-Length (chunked) is read to its end and stored."""
    body = sign_json(doc([[11, 11, 11], [12, 12, 12]]), KEY)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/training/data",
            body=iter([body[:50], body[50:]]),
            headers={
                "x-api-key": server.api_key,
                "x-file-name": "chunked.json",
                "Content-Type": "application/json",
            },
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"chunked.json")
    finally:
        conn.close()
    sample = sample_named(server, "chunked.json")
    assert (sample["rows"], sample["signature"], sample["size"]) == (2, "valid", len(body))


@pytest.mark.parametrize(
    "category", ["training", "testing", "anomaly", "validation", "post-processing", "split"]
)
@pytest.mark.parametrize("endpoint", ["data", "files"])
def test_every_category(server: ServerProc, category: str, endpoint: str) -> None:
    name = f"cat-{category}-{endpoint}.json"
    body = sign_json(doc([[1, 2, 3]], device_name=name), KEY)
    if endpoint == "data":
        result = server.post_data(category, body, file_name=name)
    else:
        result = server.post_files(category, [(name, body, "application/json")])
    assert result.status == 200, result.text()
    sample = sample_named(server, name)
    stored = category
    if category == "split":  # the server picks training or testing by the file's SHA-256
        stored = (
            "training" if int(hashlib.sha256(body).hexdigest()[:8], 16) % 100 < 80 else "testing"
        )
    assert (sample["category"], sample["signature"]) == (stored, "valid")
    assert sample["label"] == f"cat-{category}-{endpoint}"
    assert (server.data_dir / stored / str(sample["label"]) / name).is_file()
