"""config.example.py: documents every setting, imports on both runtimes; config.py stays
out of git."""

from __future__ import annotations

import ast
import subprocess

from harness import ROOT, run_micropython

EXAMPLE = ROOT / "config.example.py"
SETTINGS = {
    "WIFI_SSID": str,
    "WIFI_PASSWORD": str,
    "API_KEY": str,
    "HMAC_KEY": str,
    "HOST": str,
    "PORT": type(None),
    "TLS": bool,
    "CA": str,
    "TIMEOUT": int,
    "DEVICE_NAME": type(None),
    "LABEL": str,
    "CATEGORY": str,
    "FORMAT": str,
    "INTERVAL_MS": int,
    "ROWS": int,
    "AUDIO_RATE": int,
    "AUDIO_ROWS": int,
    "AUDIO_FORMAT": str,
    "SPOOL_DIR": str,
    "SPOOL_BYTES": int,
    "UPLOAD_ATTEMPTS": int,
    "UPLOAD_TOTAL_MS": int,
    "FLUSH_MS": int,
    "REMOTE_URL": type(None),
    "REMOTE_ROWS": int,
}


def test_every_setting_is_present_and_commented() -> None:
    text = EXAMPLE.read_text()
    tree = ast.parse(text)
    values = {
        t.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and not isinstance(node.value, ast.Name)
    }
    for name, kind in SETTINGS.items():
        assert isinstance(values.get(name), kind), name
    assert values["API_KEY"].startswith("ei_")
    assert values["FORMAT"] in ("cbor", "json")
    assert values["AUDIO_FORMAT"] in ("binary", "cbor", "json")
    assert values["CATEGORY"] in ("training", "testing", "anomaly", "split")
    assert "Dashboard > Keys" in text and "make server" in text and "4810" in text
    # No setting that this test (and so the list above) does not know about.
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("=")[0].strip()
            assert name in SETTINGS or name in ("WIFI_TIMEOUT_MS", "WIFI_RETRIES", "NTP_HOST")


def test_imports_in_micropython() -> None:
    code = f"exec(open({str(EXAMPLE)!r}).read())\nprint(HOST, PORT, TLS, CA, FORMAT, ROWS)"
    out = run_micropython(code, code=True).stdout.decode().strip()
    assert out == "ingestion.edgeimpulse.com None True /ca.der cbor 200"


def test_config_py_is_git_ignored_and_example_is_not() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "config.py"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0
    example = subprocess.run(
        ["git", "check-ignore", "-q", "config.example.py"], cwd=ROOT, check=False
    ).returncode
    assert example == 1
