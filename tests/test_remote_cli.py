"""examples/remote.py on the sim board and tools/remote.py (the CLI) against the local server,
all real processes: the CLI asks, the example samples and uploads, the CLI reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import MICROPYPATH, ROOT, micropython_path, run_micropython
from remoteproc import DEVICE, GUARD_S, RemoteServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteServer]:
    with RemoteServer(tmp_path_factory.mktemp("data")) as s:
        yield s


@pytest.fixture(scope="module")
def example(server: RemoteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """examples/remote.py running on the sim board, with a config.py like a user's."""
    cfg = tmp_path_factory.mktemp("device")
    (cfg / "config.py").write_text(
        f"WIFI_SSID = 'lab'\nWIFI_PASSWORD = 'pw'\nAPI_KEY = {server.api_key!r}\n"
        f"HMAC_KEY = 'the-board-key'\nHOST = '127.0.0.1'\nPORT = {server.port}\nTLS = False\n"
        f"REMOTE_URL = {server.ws_url!r}\nREMOTE_ROWS = 600\nNTP_HOST = '127.0.0.1'\n"
    )
    out = cfg / "example.out"
    env = dict(os.environ, MICROPYPATH=f"{cfg}:{MICROPYPATH}")
    with open(out, "wb") as f:
        proc = subprocess.Popen(
            [micropython_path(), str(ROOT / "examples" / "remote.py")], cwd=ROOT, env=env,
            stdout=f, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        server.wait_connected(DEVICE)
        yield out
    finally:
        proc.kill()
        proc.wait(10)


def cli(server: RemoteServer, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, EI_API_KEY=key or server.api_key)
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "remote.py"), "--server", server.url, *args],
        env=env, capture_output=True, text=True, timeout=GUARD_S,
    )  # fmt: skip


def test_cli_lists_the_example_board(server: RemoteServer, example: Path) -> None:
    proc = cli(server, "devices")
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith(DEVICE)][0]
    assert "SIM  connected" in line and "Accelerometer (" in line and "100" in line
    assert server.api_key not in proc.stdout + proc.stderr
    announced = example.read_text()
    assert f"remote: {DEVICE} offers Accelerometer at " in announced and "600 rows" in announced


def test_cli_starts_a_sample_and_waits_until_it_is_stored(
    server: RemoteServer, example: Path
) -> None:
    proc = cli(server, "sample", "--device", DEVICE, "--label", "cli", "--length-ms", "500",
               "--frequency", "50", "--category", "testing")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("sampling request ") and lines[-1].startswith("stored as cli.")
    assert "25 rows, signature valid" in lines[-1]  # the request's hmacKey, not the board's
    request_id = lines[0].split()[2]
    status = cli(server, "status", request_id)
    assert json.loads(status.stdout)["state"] == "finished"
    stored = [s for s in server.samples() if s["label"] == "cli"]
    assert len(stored) == 1 and stored[0]["category"] == "testing"


def test_cli_reports_a_refusal(server: RemoteServer, example: Path) -> None:
    proc = cli(server, "sample", "--device", DEVICE, "--label", "x", "--length-ms", "100",
               "--sensor", "Gyroscope")  # fmt: skip
    assert proc.returncode == 1
    assert "failed: unknown sensor 'Gyroscope': this device has Accelerometer" in proc.stderr


def test_cli_errors(server: RemoteServer, example: Path) -> None:
    wrong = cli(server, "devices", key="ei_wrong_key")
    assert (
        wrong.returncode == 3 and "HTTP 401" in wrong.stderr and "ei_wrong_key" not in wrong.stderr
    )
    nobody = cli(server, "sample", "--device", "nobody", "--label", "x", "--length-ms", "100")
    assert nobody.returncode == 3 and "HTTP 404: device 'nobody' is not connected" in nobody.stderr
    bad = cli(server, "sample", "--device", DEVICE, "--label", "x", "--length-ms", "100",
              "--frequency", "0")  # fmt: skip
    assert bad.returncode == 2 and "--frequency must be > 0" in bad.stderr
    assert server.device(DEVICE)["remote_mgmt_connected"] is True  # type: ignore[index]


def test_remote_url_from_the_config() -> None:
    code = (
        "import sys\nsys.path.append('examples')\nimport remote\n"
        "class C:\n    pass\n"
        "def url(**kw):\n    c = C()\n    for k in kw:\n        setattr(c, k, kw[k])\n"
        "    return remote.remote_url(c)\n"
        "print(url())\n"
        "print(url(TLS=False))\n"
        "print(url(HOST='ingestion.example.org', TLS=True))\n"
        "print(url(HOST='192.168.1.20', TLS=False))\n"
        "print(url(HOST='192.168.1.20', TLS=True, REMOTE_URL='ws://10.0.0.1:9'))\n"
    )
    proc = run_micropython(code, code=True)
    assert proc.stdout.decode().split() == [
        "wss://remote-mgmt.edgeimpulse.com", "ws://remote-mgmt.edgeimpulse.com",
        "wss://remote-mgmt.example.org", "ws://192.168.1.20:4802", "ws://10.0.0.1:9",
    ]  # fmt: skip
