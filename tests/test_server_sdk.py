"""The official Python SDK (edgeimpulse) uploads to the local server like to the cloud.

Over HTTP and HTTPS (the SDK uses requests, so REQUESTS_CA_BUNDLE names the test CA). The SDK
reads the ingestion host from EI_INGESTION_ENDPOINT and the key from EI_API_KEY at
import time, so it runs in a subprocess with both set. It sends multipart to /api/<cat>/files,
data acquisition objects as JSON in a part labelled application/cbor, unsigned (signature null).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from serverproc import ServerProc

SDK_SCRIPT = r"""
import json, sys
import edgeimpulse as ei
from edgeimpulse.data import upload_samples
from edgeimpulse.data.sample_type import (
    DataAcquisition, Payload, Protected, Sample, Sensor,
)

csv_path = sys.argv[1]
samples = [
    Sample(filename="wave.01.csv", data=open(csv_path, "rb"), category="training",
           label="wave", metadata={"site": "lab-3"}),
    Sample(
        filename="shake.01.json",
        data=DataAcquisition(
            protected=Protected(ver="v1", alg="none"),
            payload=Payload(
                device_type="SDK_TEST",
                sensors=[Sensor(name="accX", units="m/s2"), Sensor(name="accY", units="m/s2")],
                values=[[0.5, -1.25], [0.75, -1.5], [1.0, -1.75]],
                interval_ms=20,
            ),
        ),
        category="split",
        label="shake",
    ),
]
response = upload_samples(samples)
print(json.dumps({
    "endpoint": ei.INGESTION_ENDPOINT,
    "successes": [s.sample.filename for s in response.successes],
    "fails": [str(f) for f in response.fails],
}))
"""


SERVER_SCHEMES = ("http", "https")  # conftest.py's server: every test against both


def test_python_sdk_uploads_a_file_and_a_data_acquisition_object(
    server: ServerProc, tmp_path: Path
) -> None:
    csv_path = tmp_path / "wave.01.csv"
    csv_path.write_text("timestamp,accX\n0,0.5\n10,0.7\n")
    env = dict(os.environ, EI_INGESTION_ENDPOINT=server.url, EI_API_KEY=server.api_key)
    if server.tls is not None:
        env["REQUESTS_CA_BUNDLE"] = str(server.tls.ca_pem)  # the SDK uses requests
    proc = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, str(csv_path)],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert report["endpoint"] == server.url
    assert report["fails"] == []
    assert sorted(report["successes"]) == ["shake.01.json", "wave.01.csv"]

    samples = {s["fileName"]: s for s in server.samples()}
    wave = samples["wave.01.csv"]
    assert wave["category"] == "training"
    assert wave["label"] == "wave"
    assert wave["contentType"] == "text/csv"
    assert wave["metadata"] == {"site": "lab-3"}
    assert wave["uploadSource"] == "EDGE_IMPULSE_PYTHON_SDK"
    assert server.raw(wave["id"]) == csv_path.read_bytes()

    shake = samples["shake.01.json"]
    # "split": the server chose training or testing from the file's SHA-256 (about 80/20).
    digest = hashlib.sha256(server.raw(shake["id"])).hexdigest()
    assert shake["category"] == ("training" if int(digest[:8], 16) % 100 < 80 else "testing")
    assert shake["label"] == "shake"
    assert shake["signature"] == "none"
    assert shake["deviceType"] == "SDK_TEST"
    assert shake["rows"] == 3
    assert shake["intervalMs"] == 20
    assert shake["sensors"] == [
        {"name": "accX", "units": "m/s2"},
        {"name": "accY", "units": "m/s2"},
    ]
    document = json.loads(server.raw(shake["id"]))
    assert document["signature"] is None
    assert document["payload"]["values"][2] == [1.0, -1.75]

    seen = [r for r in server.requests_seen() if r["path"].endswith("/files")]
    assert {r["headers"].get("x-disallow-duplicates") for r in seen} == {"1"}
    assert all("x-api-key" not in {k.lower() for k in r["headers"]} for r in seen)
