"""The examples end to end on the micropython sim board: sample, then upload to the local
ingestion server (a real process; it does not import lib/, and its stored bytes are decoded
here independently). The examples' config.py is written per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from daq import decode, rows
from harness import run_micropython
from serverproc import ServerProc

G = 9.80665


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    with ServerProc(tmp_path_factory.mktemp("data")) as s:
        yield s


def run_example(server: ServerProc, tmp_path: Path, module: str, label: str, call: str) -> dict:
    (tmp_path / "config.py").write_text(
        f"API_KEY = {server.api_key!r}\nHMAC_KEY = {server.hmac_key!r}\n"
        f"HOST = '127.0.0.1'\nPORT = {server.port}\nTLS = False\nLABEL = {label!r}\n"
        "CATEGORY = 'testing'\nWIFI_SSID = 'lab'\nWIFI_PASSWORD = 'pw'\n"
    )
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "sys.path.append('examples')\n"
        f"import {module}\n"
        f"stored = {module}.{call}\n"
        "print(json.dumps({'stored': stored}))\n"
    )
    proc = run_micropython(code, code=True, timeout=60)
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def find(server: ServerProc, name: str) -> dict:
    matches = [s for s in server.samples() if s["fileName"] == name]
    assert len(matches) == 1, (name, server.samples())
    return matches[0]


def test_motion_example_uploads_physical_units(server: ServerProc, tmp_path: Path) -> None:
    out = run_example(server, tmp_path, "motion", "wave", "main(1)")
    sample = find(server, out["stored"])
    assert sample["label"] == "wave" and sample["category"] == "testing"
    assert sample["signature"] == "valid"
    assert sample["deviceType"] == "SIM" and sample["deviceName"] == "24:0a:c4:5e:1a:01"
    assert sample["rows"] == 100
    obj = decode(server.raw(sample["id"]))
    assert obj["payload"]["interval_ms"] == 10
    assert [s["name"] for s in obj["payload"]["sensors"]] == [
        "accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"
    ]  # fmt: skip
    assert [s["units"] for s in obj["payload"]["sensors"]] == ["m/s2"] * 3 + ["deg/s"] * 3
    for r in rows(obj):
        assert 0.89 * G < r[2] < 1.11 * G  # gravity on Z in m/s2, from raw * 9.80665/16384
        assert abs(r[0]) <= 0.31 * G and abs(r[3]) <= 40.1  # deg/s


def test_analog_example_uploads_volts(server: ServerProc, tmp_path: Path) -> None:
    out = run_example(server, tmp_path, "analog", "pot", "main(1)")
    sample = find(server, out["stored"])
    assert sample["signature"] == "valid" and sample["rows"] == 100
    obj = decode(server.raw(sample["id"]))
    assert obj["payload"]["sensors"] == [{"name": "adc", "units": "V"}]
    volts = [r[0] for r in rows(obj)]
    assert 0.6 < min(volts) < 0.7 and 2.6 < max(volts) < 2.7  # 1.65 V +- 1 V at 1 Hz


def test_audio_example_uploads_binary_int16(server: ServerProc, tmp_path: Path) -> None:
    out = run_example(server, tmp_path, "audio", "yes", "main(1)")
    sample = find(server, out["stored"])
    assert sample["signature"] == "valid" and sample["rows"] == 16000
    obj = decode(server.raw(sample["id"]))
    assert obj["payload"]["sensors"] == [{"name": "audio", "units": "wav"}]
    assert obj["payload"]["interval_ms"] == pytest.approx(1000 / 16000)
    values = [r[0] for r in rows(obj)]
    assert max(values) == 8000 and min(values) == -8000  # the sim's 1 kHz tone
    # the first 128 samples went to the settle read: the recording starts at sample 128
    assert values[:4] == [0, 3061, 5656, 7391]
