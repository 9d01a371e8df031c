"""The official test vectors through the local server, over HTTP and HTTPS.

Both vectors must be listed with a valid signature after /data and /files uploads; the same
bytes with one value changed must be listed as invalid.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import pytest
from harness import VECTORS
from serverproc import ServerProc

CBOR_VECTOR = VECTORS / "docs-example.cbor"
JSON_VECTOR = VECTORS / "docs-example-compact.json"


SERVER_SCHEMES = ("http", "https")  # conftest.py's server: every test against both


def _by_id(server: ServerProc, sample_id: int) -> dict[str, object]:
    return next(s for s in server.samples() if s["id"] == sample_id)


def _changed_value(raw: bytes) -> bytes:
    """Flip one sample value, keeping the length (so only the signature check can notice)."""
    if raw.startswith(b"{"):
        assert raw.count(b"-9.81") == 1
        return raw.replace(b"-9.81", b"-9.71")
    marker = bytes.fromhex("fac11cf5c3")  # float32 -9.81, the first value
    assert raw.count(marker) == 1
    return raw.replace(marker, bytes.fromhex("fac11cf5c4"))


def test_scheme_matches(server: ServerProc) -> None:
    assert server.url.startswith(server.scheme + "://127.0.0.1:")
    if server.scheme == "https":
        assert server.ssl_context is not None


@pytest.mark.parametrize("vector", [CBOR_VECTOR, JSON_VECTOR], ids=["cbor", "json"])
def test_vector_via_data_is_valid(server: ServerProc, vector: Path) -> None:
    raw = vector.read_bytes()
    content_type = "application/cbor" if vector.suffix == ".cbor" else "application/json"
    result = server.post_data(
        "training", raw, file_name=f"idle.{vector.stem}{vector.suffix}", content_type=content_type
    )
    assert result.status == 200, result.text()
    assert result.headers["content-type"].startswith("text/plain")
    stored_name = result.text()
    sample = next(s for s in server.samples() if s["fileName"] == stored_name)
    assert sample["signature"] == "valid"
    assert sample["label"] == "idle"
    assert sample["category"] == "training"
    assert sample["rows"] == 4
    assert sample["deviceType"] == "DISCO-L475VG-IOT01A"
    assert sample["deviceName"] == "ac:87:a3:0a:2d:1b"
    assert sample["intervalMs"] == 10
    assert [s["name"] for s in sample["sensors"]] == ["accX", "accY", "accZ"]
    assert sample["size"] == len(raw)
    assert server.raw(sample["id"]) == raw


@pytest.mark.parametrize("vector", [CBOR_VECTOR, JSON_VECTOR], ids=["cbor", "json"])
def test_vector_via_files_is_valid(server: ServerProc, vector: Path) -> None:
    raw = vector.read_bytes()
    part_type = "application/cbor" if vector.suffix == ".cbor" else "application/json"
    result = server.post_files(
        "testing", [(f"walk.{vector.name}", raw, part_type)], {"x-label": "walking"}
    )
    assert result.status == 200, result.text()
    answer = result.json()
    assert answer["success"] is True
    (entry,) = answer["files"]
    assert entry["success"] is True
    sample = _by_id(server, entry["sampleId"])
    assert sample["fileName"] == entry["fileName"]
    assert sample["signature"] == "valid"
    assert sample["label"] == "walking"
    assert sample["category"] == "testing"
    assert server.raw(entry["sampleId"]) == raw


@pytest.mark.parametrize("vector", [CBOR_VECTOR, JSON_VECTOR], ids=["cbor", "json"])
@pytest.mark.parametrize("endpoint", ["data", "files"])
def test_changed_value_is_listed_invalid(server: ServerProc, vector: Path, endpoint: str) -> None:
    raw = _changed_value(vector.read_bytes())
    if endpoint == "data":
        result = server.post_data("anomaly", raw, file_name=f"tampered{vector.suffix}")
        assert result.status == 200, result.text()
        sample = next(s for s in server.samples() if s["fileName"] == result.text())
    else:
        result = server.post_files("anomaly", [(f"tampered{vector.suffix}", raw, "text/plain")])
        assert result.status == 200, result.text()
        sample = _by_id(server, result.json()["files"][0]["sampleId"])
    assert sample["signature"] == "invalid"
    assert sample["rows"] == 4
    assert server.raw(sample["id"]) == raw


def test_samples_listing_needs_the_api_key(server: ServerProc) -> None:
    assert server.request("GET", "/api/samples", api_key=None).status == 401
    assert server.request("GET", "/api/samples", api_key="ei_wrong").status == 401
    assert server.request("GET", "/api/samples/1/raw", api_key=None).status == 401
    assert server.request("GET", "/api/samples/999999/raw").status == 404


def test_tls_trust(server: ServerProc) -> None:
    """Over HTTPS a client without the test CA is refused; over HTTP TLS is not spoken."""
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5)
    expected = ssl.SSLCertVerificationError if server.scheme == "https" else ssl.SSLError
    with pytest.raises(expected):
        conn.request("GET", "/api/samples")
    conn.close()
