"""The upload examples end to end on the micropython sim board: join Wi-Fi, set the clock,
sample, upload to the local ingestion server (a real process that does not import lib/; its
stored bytes are decoded here independently), print the stored name, and honour config.py.
The config.py is written per test."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from daq import decode, rows
from harness import run_micropython
from serverproc import ServerProc

G = 9.80665
UPLOADERS = ["motion", "analog", "audio"]
SECRET = "wifi-SECRET-pw"


def write_config(server: ServerProc, folder: Path, **settings: Any) -> None:
    base = {
        "API_KEY": server.api_key, "HMAC_KEY": server.hmac_key, "HOST": "127.0.0.1",
        "PORT": server.port, "TLS": False, "WIFI_SSID": "lab", "WIFI_PASSWORD": SECRET,
    }  # fmt: skip
    base.update(settings)
    folder.joinpath("config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in base.items()))


def run_example(
    tmp_path: Path, module: str, call: str = "main()", env: dict[str, str] | None = None,
    check: bool = True,
) -> tuple[dict[str, Any], list[str], int]:  # fmt: skip
    """Run examples/<module>.py's `call`; (its JSON report, the lines it printed, exit code).

    The report holds what it returned, the NTP host it used and the client's timeout (seen by
    wrapping ei_http.Client.__init__)."""
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "sys.path.append('examples')\n"
        "import ei_http, ntptime\n"
        "made = []\n"
        "_init = ei_http.Client.__init__\n"
        "def _spy(self, *a, **k):\n"
        "    _init(self, *a, **k)\n"
        "    made.append(self.timeout)\n"
        "ei_http.Client.__init__ = _spy\n"
        f"import {module}\n"
        f"stored = {module}.{call}\n"
        "print(json.dumps({'stored': stored, 'ntp': ntptime.host, 'timeouts': made}))\n"
    )
    proc = run_micropython(code, code=True, timeout=60, env=env, check=check)
    lines = proc.stdout.decode().strip().splitlines() + proc.stderr.decode().splitlines()
    report = json.loads(lines[-1]) if proc.returncode == 0 else {}
    return report, lines, proc.returncode


def find(server: ServerProc, name: str) -> dict[str, Any]:
    matches = [s for s in server.samples() if s["fileName"] == name]
    assert len(matches) == 1, (name, server.samples())
    return matches[0]


def test_motion_honours_config_and_uploads_physical_units(
    server: ServerProc, tmp_path: Path
) -> None:
    write_config(
        server, tmp_path, ROWS=60, INTERVAL_MS=20, LABEL="wave", CATEGORY="testing",
        FORMAT="json", NTP_HOST="ntp.lab", TIMEOUT=7,
    )  # fmt: skip
    out, lines, _ = run_example(tmp_path, "motion")
    assert SECRET not in "\n".join(lines)
    sample = find(server, out["stored"])
    assert f"uploaded as {out['stored']}" in lines[-2] and lines[-2].startswith("motion: 60 rows")
    assert (sample["label"], sample["category"]) == ("wave", "testing")
    assert sample["contentType"] == "application/json" and sample["signature"] == "valid"
    assert sample["deviceType"] == "SIM" and sample["deviceName"] == "24:0a:c4:5e:1a:01"
    assert (sample["rows"], sample["intervalMs"]) == (60, 20)
    assert out["ntp"] == "ntp.lab" and out["timeouts"] == [7]
    obj = decode(server.raw(sample["id"]))
    assert abs(obj["protected"]["iat"] - time.time()) < 3600  # the clock was set (NTP)
    assert [s["name"] for s in obj["payload"]["sensors"]] == [
        "accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"
    ]  # fmt: skip
    assert [s["units"] for s in obj["payload"]["sensors"]] == ["m/s2"] * 3 + ["deg/s"] * 3
    for r in rows(obj):
        assert 0.89 * G < r[2] < 1.11 * G  # gravity on Z in m/s2, from raw * 9.80665/16384
        assert abs(r[0]) <= 0.31 * G and abs(r[3]) <= 40.1  # deg/s


def test_analog_honours_config_and_uploads_volts(server: ServerProc, tmp_path: Path) -> None:
    write_config(server, tmp_path, ROWS=100, INTERVAL_MS=10, LABEL="pot", CATEGORY="anomaly")
    out, lines, _ = run_example(tmp_path, "analog")
    sample = find(server, out["stored"])
    assert lines[-2].startswith("analog: 100 rows") and lines[-2].endswith(out["stored"])
    assert (sample["label"], sample["category"]) == ("pot", "anomaly")
    assert sample["contentType"] == "application/cbor"  # FORMAT's default
    assert sample["signature"] == "valid" and (sample["rows"], sample["intervalMs"]) == (100, 10)
    assert out["timeouts"] == [10]  # TIMEOUT's default
    obj = decode(server.raw(sample["id"]))
    assert obj["payload"]["sensors"] == [{"name": "adc", "units": "V"}]
    volts = [r[0] for r in rows(obj)]
    assert 0.6 < min(volts) < 0.7 and 2.6 < max(volts) < 2.7  # 1.65 V +- 1 V at 1 Hz


def test_audio_honours_its_settings_and_uploads_binary_int16(
    server: ServerProc, tmp_path: Path
) -> None:
    # ROWS / INTERVAL_MS / FORMAT describe motion; audio has AUDIO_ROWS / AUDIO_RATE /
    # AUDIO_FORMAT, so one config.py serves every example.
    write_config(
        server, tmp_path, ROWS=60, INTERVAL_MS=20, FORMAT="json", LABEL="yes",
        CATEGORY="testing", AUDIO_ROWS=4000, AUDIO_RATE=8000,
    )  # fmt: skip
    out, lines, _ = run_example(tmp_path, "audio")
    sample = find(server, out["stored"])
    assert lines[-2] == f"audio: 4000 samples at 8000 Hz uploaded as {out['stored']}"
    assert sample["signature"] == "valid" and sample["rows"] == 4000
    assert (sample["label"], sample["category"]) == ("yes", "testing")
    obj = decode(server.raw(sample["id"]))
    assert "binary_offset" in obj["payload"]  # AUDIO_FORMAT's default: raw int16
    assert obj["payload"]["sensors"] == [{"name": "audio", "units": "wav"}]
    assert obj["payload"]["interval_ms"] == pytest.approx(1000 / 8000)
    values = [r[0] for r in rows(obj)]
    assert max(values) == 8000 and min(values) == -8000  # the sim's 1 kHz tone
    # the first 128 samples went to the settle read: the recording starts at sample 128
    assert values[:4] == [0, 5656, 8000, 5656]


@pytest.mark.parametrize("module", UPLOADERS)
def test_every_uploader_joins_wifi_first(server: ServerProc, tmp_path: Path, module: str) -> None:
    """With no access point the example stops at ei_net.connect() with the Wi-Fi's cause. One
    that skipped the join would fail later and differently: the sim's sockets refuse to
    connect without Wi-Fi (tests/test_net_sockets.py)."""
    write_config(server, tmp_path, LABEL="never", ROWS=5, AUDIO_ROWS=800)
    before = len(server.samples())
    _, lines, rc = run_example(tmp_path, module, env={"EI_SIM_WIFI": "no_ap"}, check=False)
    text = "\n".join(lines)
    assert rc == 1 and "WifiError" in text and "no Wi-Fi access point found named 'lab'" in text
    assert SECRET not in text  # never the password
    assert len(server.samples()) == before


def test_upload_goes_on_without_the_clock(server: ServerProc, tmp_path: Path) -> None:
    write_config(server, tmp_path, LABEL="noclock", ROWS=10)
    out, _, _ = run_example(tmp_path, "motion", env={"EI_SIM_NTP": "fail"})
    obj = decode(server.raw(find(server, out["stored"])["id"]))
    assert "iat" not in obj["protected"]  # NTP failed: no date rather than a wrong one
