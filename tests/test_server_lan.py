"""Issue 20, server side: the local server bound to a LAN address (0.0.0.0).

The server really listens on every interface; the tests connect through 127.0.0.1 and send
forged X-Forwarded-For / Forwarded / X-Real-IP headers claiming loopback, which must change
nothing: on a LAN bind every route wants the key (or a login), whoever seems to ask.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import pty
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uploadscenario
from cryptography import x509
from harness import ROOT, read_terminal
from samplefiles import small_json
from serverproc import SERVER_SCRIPT, HttpResult, ServerProc, make_test_ca

FORGED = {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1", "X-Real-IP": "127.0.0.1"}
API_KEY_SHAPE = re.compile(r"^ei_[0-9a-f]{64}$")


def run_server_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER_SCRIPT), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)  # fmt: skip


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    base = tmp_path_factory.mktemp("lan")
    with ServerProc(base / "data", api_key=None, host="0.0.0.0", enable_faults=False) as proc:
        body = small_json(proc.hmac_key)
        stored = proc.post_data("training", body, file_name="idle.01.json")
        assert stored.status == 200, stored.text()
        yield proc


def test_development_keys_are_refused_off_loopback(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    api = run_server_cli("--host", "0.0.0.0", "--api-key", "ei_local_dev_key", "--data-dir", data)
    assert api.returncode == 2
    assert "refusing to listen on 0.0.0.0 with the development API key" in api.stderr
    hmac_only = run_server_cli("--host", "192.0.2.1", "--api-key", "ei_mine_123456",
                               "--hmac-key", "local_dev_hmac_key", "--data-dir", data)  # fmt: skip
    assert hmac_only.returncode == 2 and "development HMAC key" in hmac_only.stderr
    faults = run_server_cli("--host", "0.0.0.0", "--enable-faults", "--data-dir", data)
    assert faults.returncode == 2 and "loopback only" in faults.stderr
    assert not (tmp_path / "data").exists(), "refused before anything was written"


def test_keys_are_made_once_kept_private_and_never_logged(lan: ServerProc) -> None:
    path = lan.data_dir / "keys.json"
    keys = json.loads(path.read_text())
    assert API_KEY_SHAPE.match(keys["api_key"]) and re.fullmatch(r"[0-9a-f]{32}", keys["hmac_key"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    log = lan.log_text()
    assert f"new keys written to {path} (not shown: this output is not a terminal)" in log
    assert keys["api_key"] not in log and keys["hmac_key"] not in log


def test_lan_addresses_are_printed_for_config_py(lan: ServerProc) -> None:
    hints = re.findall(r'for a board, config.py: HOST = "([^"]+)"  PORT = (\d+)  TLS = False',
                       lan.log_text())  # fmt: skip
    if not hints:
        assert "no LAN address found" in lan.log_text()
    for host, port in hints:
        address = ipaddress.ip_address(host)
        assert not address.is_loopback and int(port) == lan.port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))  # only this computer's own addresses can be bound


ROUTES = [
    ("GET", "/"),
    ("GET", "/samples/1"),
    ("GET", "/static/page.js"),
    ("GET", "/static/page.css"),
    ("GET", "/page/api/session"),
    ("GET", "/page/api/summary"),
    ("GET", "/page/api/version"),
    ("GET", "/page/api/samples/1"),
    ("GET", "/page/api/samples/1/raw"),
    ("GET", "/page/api/samples/1/csv"),
    ("GET", "/page/api/export.zip"),
    ("POST", "/page/api/samples/1/delete"),
    ("GET", "/page/api/devices"),
    ("POST", "/page/api/devices/x/start-sampling"),
    ("GET", "/page/api/sampling/1"),
    ("POST", "/logout"),
    ("GET", "/api/samples"),
    ("GET", "/api/samples/1/raw"),
    ("GET", "/api/export"),
    ("POST", "/api/training/data"),
    ("POST", "/api/training/files"),
    ("GET", "/no/such/route"),
    ("GET", "/_faults/log"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_wants_the_key(lan: ServerProc, method: str, path: str) -> None:
    body = small_json(None) if path.startswith("/api/training") else b""
    headers = dict(FORGED, **({"x-file-name": "x.json"} if path.endswith("/data") else {}))
    refused = lan.request(method, path, body, headers, api_key=False)
    assert refused.status == 401, refused.text()
    assert b"idle.01" not in refused.body and b"temp" not in refused.body
    wrong = lan.request(method, path, body, headers, api_key="ei_" + "0" * 64)
    assert wrong.status == 401
    if method == "GET" and not path.startswith(("/no/", "/_faults")):
        allowed = lan.request(method, path, headers=FORGED)
        # no sampling request 1 exists: with the key, the route itself answers that
        expected = 404 if path.startswith("/page/api/sampling/") else 200
        assert allowed.status == expected, (path, allowed.text())
        if expected == 404:
            assert allowed.json()["error"] == "no sampling request 1"


def test_the_login_form_is_the_one_open_door(lan: ServerProc) -> None:
    form = lan.request("GET", "/login", api_key=False)
    assert form.status == 200 and b'name="api_key"' in form.body
    assert b"idle.01" not in form.body
    page = lan.request("GET", "/samples/1", api_key=False)
    assert page.status == 401 and b'name="next" value="/samples/1"' in page.body


def login(server: ServerProc, key: str, headers: dict[str, str] | None = None) -> HttpResult:
    body = f"api_key={key}&next=/".encode()
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return server.request("POST", "/login", body, all_headers, api_key=False)


def session_cookie(result: HttpResult) -> str:
    cookie = result.headers["set-cookie"]
    return cookie.split(";")[0]


def test_login_sets_a_strict_http_only_cookie_and_actions_need_csrf(lan: ServerProc) -> None:
    wrong = login(lan, "ei_not_it")
    assert wrong.status == 401 and b"not this server&#x27;s API key" in wrong.body
    assert "set-cookie" not in wrong.headers
    cross = login(lan, lan.api_key, {"Origin": "http://evil.example"})
    assert cross.status == 403 and "set-cookie" not in cross.headers
    ok = login(lan, lan.api_key)
    assert ok.status == 303 and ok.headers["location"] == "/"
    flags = [part.strip().lower() for part in ok.headers["set-cookie"].split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags, "plain HTTP here; see the TLS test"
    cookie = {"Cookie": session_cookie(ok)}
    assert lan.request("GET", "/page/api/summary", headers=cookie, api_key=False).status == 200
    assert lan.request("GET", "/api/samples", headers=cookie, api_key=False).status == 401
    extra = lan.post_data("testing", small_json(None), file_name="gone.json")
    assert extra.status == 200
    (gone,) = [s for s in lan.samples() if s["fileName"] == "gone.json"]
    delete = f"/page/api/samples/{gone['id']}/delete"
    assert lan.request("POST", delete, headers=cookie, api_key=False).status == 403
    token = lan.request("GET", "/page/api/session", headers=cookie, api_key=False).json()["csrf"]
    with_token = dict(cookie, **{"x-csrf-token": token})
    assert lan.request("POST", delete, headers=with_token, api_key=False).status == 200
    assert "gone.json" not in [s["fileName"] for s in lan.samples()]
    assert lan.request("POST", "/logout", headers=with_token, api_key=False).status == 200
    assert lan.request("GET", "/page/api/summary", headers=cookie, api_key=False).status == 401


def test_starting_a_sample_from_the_page_needs_login_and_csrf(lan: ServerProc) -> None:
    path = "/page/api/devices/nobody/start-sampling"
    body = json.dumps({"label": "a", "lengthMs": 10, "category": "testing", "intervalMs": 10})
    json_type = {"Content-Type": "application/json"}
    cookie = dict(json_type, Cookie=session_cookie(login(lan, lan.api_key)))
    no_token = lan.request("POST", path, body.encode(), cookie, api_key=False)
    assert no_token.status == 403 and "x-csrf-token" in no_token.json()["error"]
    token = lan.request("GET", "/page/api/session", headers=cookie, api_key=False).json()["csrf"]
    assert lan.request("GET", "/page/api/session", headers=cookie, api_key=False).json()["remote"]
    with_token = dict(cookie, **{"x-csrf-token": token})
    reached = lan.request("POST", path, body.encode(), with_token, api_key=False)
    assert reached.status == 404 and reached.json()["error"] == "device 'nobody' is not connected"
    forged = dict(json_type, **FORGED, **{"x-csrf-token": token})
    assert lan.request("POST", path, body.encode(), forged, api_key=False).status == 401
    devices = lan.request("GET", "/page/api/devices", headers=cookie, api_key=False)
    assert devices.status == 200 and devices.json() == {"success": True, "devices": []}
    assert lan.api_key not in devices.text() and str(lan.hmac_key) not in devices.text()


def test_refusals_are_logged_without_keys(lan: ServerProc) -> None:
    lan.request("GET", "/api/export", api_key="ei_guessed_key_1234")
    log = lan.log_text()
    assert "refused 401 GET /api/export from 127.0.0.1: Missing or invalid x-api-key header" in log
    assert "refused 401 GET / from 127.0.0.1: login required" in log
    assert "ei_guessed_key_1234" not in log and lan.api_key not in log


def test_new_keys_are_shown_once_on_a_terminal(tmp_path: Path) -> None:
    def start_on_a_pty() -> str:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(
                sys.executable,
                [
                    sys.executable,
                    str(SERVER_SCRIPT),
                    "--host",
                    "0.0.0.0",
                    "--port",
                    "0",
                    "--data-dir",
                    str(tmp_path / "data"),
                ],
            )
        output = b""
        deadline = time.monotonic() + 30
        while b"listening on" not in output and time.monotonic() < deadline:
            try:
                output += os.read(fd, 4096)
            except OSError:
                break
        os.kill(pid, signal.SIGTERM)
        output += read_terminal(fd)
        os.waitpid(pid, 0)
        return output.decode("utf-8", "replace")

    first = start_on_a_pty()
    keys = json.loads((tmp_path / "data" / "keys.json").read_text())
    assert f'API_KEY = "{keys["api_key"]}"' in first
    assert f'HMAC_KEY = "{keys["hmac_key"]}"' in first
    assert first.count(keys["api_key"]) == 1 and first.count(keys["hmac_key"]) == 1
    second = start_on_a_pty()
    assert "listening on" in second and "(not shown)" in second
    assert keys["api_key"] not in second and keys["hmac_key"] not in second
    assert json.loads((tmp_path / "data" / "keys.json").read_text()) == keys


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    base = tmp_path_factory.mktemp("tlslan")
    with ServerProc(base / "data", api_key=None, host="0.0.0.0", enable_faults=False,
                    tls_self_signed=True) as proc:  # fmt: skip
        yield proc


def make_local_der(data_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_ca_bundle.py"), "--local", str(data_dir),
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_self_signed_certificate_covers_this_computer(tls_lan: ServerProc) -> None:
    tls_dir = tls_lan.data_dir / "tls"
    log = tls_lan.log_text()
    assert f"TLS: made {tls_dir / 'server.pem'} for localhost, 127.0.0.1, ::1" in log
    cert = x509.load_pem_x509_certificate((tls_dir / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    hinted = set(re.findall(r'HOST = "([^"]+)"', log))
    assert {"127.0.0.1", "::1"} | hinted <= ips
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((tls_dir / key).stat().st_mode) == 0o600
    assert 'TLS = True  CA = "/ca.der" (make ca LOCAL=1)' in log or "no LAN address" in log
    assert tls_lan.request("GET", "/api/samples").status == 200  # trusting ca.pem only
    with pytest.raises(ssl.SSLCertVerificationError):
        ssl.create_default_context().wrap_socket(
            socket.create_connection(("127.0.0.1", tls_lan.port), timeout=10),
            server_hostname="127.0.0.1",
        )


def test_login_cookie_is_secure_under_tls(tls_lan: ServerProc) -> None:
    ok = login(tls_lan, tls_lan.api_key)
    flags = [part.strip().lower() for part in ok.headers["set-cookie"].split(";")]
    assert ok.status == 303 and "secure" in flags and "httponly" in flags


def test_make_ca_local_writes_the_der_the_board_needs(tls_lan: ServerProc, tmp_path: Path) -> None:
    out = tmp_path / "board" / "ca.der"
    result = make_local_der(tls_lan.data_dir, out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (tls_lan.data_dir / "tls" / "ca.der").read_bytes()
    ca = x509.load_der_x509_certificate(out.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server = x509.load_pem_x509_certificate((tls_lan.data_dir / "tls" / "server.pem").read_bytes())
    server.verify_directly_issued_by(ca)
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    tls_lan.restart()
    assert "TLS: reused" in tls_lan.log_text()
    assert hashlib.sha256((tls_lan.data_dir / "tls" / "ca.der").read_bytes()).hexdigest() == before
    fresh = make_local_der(tmp_path / "new-data", tmp_path / "fresh.der")
    assert fresh.returncode == 0 and (tmp_path / "new-data" / "tls" / "ca.key").exists()


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_board_uploads_over_tls_with_the_generated_der(
    tls_lan: ServerProc, runtime: str, tmp_path: Path
) -> None:
    der = tmp_path / "ca.der"
    assert make_local_der(tls_lan.data_dir, der).returncode == 0
    args = uploadscenario.client_args(tls_lan, tls=True, ca=str(der), device_name=f"lan-{runtime}")
    out = uploadscenario.upload(
        runtime, tmp_path, args, dict(label="lan", iat=1764000000 + len(runtime))
    )
    assert "stored" in out, out
    (sample,) = [s for s in tls_lan.samples() if s["fileName"] == out["stored"]]
    assert sample["signature"] == "valid" and sample["deviceName"] == f"lan-{runtime}"
    other = make_test_ca(tmp_path / "other")
    wrong = tmp_path / "other.der"
    wrong.write_bytes(other.ca_der)
    before = len(tls_lan.samples())
    refused = uploadscenario.upload(
        runtime, tmp_path, dict(args, ca=str(wrong)), dict(label="lan", iat=1764000007)
    )
    assert refused["error"] == "TLSError" and not refused["retryable"], refused
    assert len(tls_lan.samples()) == before


# --- keys in outputs ---------------------------------------------------------------------------


def test_keys_appear_in_no_output_and_no_file(tmp_path: Path) -> None:
    """A whole session with recognisable keys; then every output and file is searched."""
    api_key, hmac_key = "ei_RECOGNISABLE_api_key_7f3a9c", "RECOGNISABLE_hmac_key_55e1"
    target_key = "ei_RECOGNISABLE_target_key_0b2d"
    outputs: list[bytes] = []
    with (
        ServerProc(tmp_path / "data", api_key=api_key, hmac_key=hmac_key, host="0.0.0.0",
                   enable_faults=False, tls_self_signed=True) as server,
        ServerProc(tmp_path / "target", api_key=target_key, hmac_key=hmac_key) as target,
    ):  # fmt: skip
        for body, key in ((small_json(hmac_key), True), (small_json(None), "ei_wrong_guess")):
            outputs.append(server.post_data("training", body, "a.json", api_key=key).body)
        outputs.append(login(server, "ei_wrong_guess").body)
        cookie = {"Cookie": session_cookie(login(server, api_key))}
        for path in ("/", "/samples/1", "/static/page.js", "/page/api/summary",
                     "/page/api/samples/1", "/page/api/samples/1/csv", "/page/api/session",
                     "/page/api/export.zip", "/page/api/devices", "/nope"):  # fmt: skip
            outputs.append(server.request("GET", path, headers=cookie, api_key=False).body)
        outputs.append(server.request("GET", "/api/samples", api_key="ei_wrong_guess").body)
        env = dict(os.environ, EI_INGESTION_ENDPOINT=target.url, EI_API_KEY=target_key,
                   EI_HMAC_KEY=hmac_key)  # fmt: skip
        for args in (["export", str(tmp_path / "export")], ["push", "--resign"]):
            cli = subprocess.run(
                [sys.executable, str(ROOT / "tools" / "dataset.py"), *args, "--data-dir",
                 str(server.data_dir)], cwd=ROOT, env=env, capture_output=True, timeout=120,
            )  # fmt: skip
            assert cli.returncode == 0, cli.stderr
            outputs += [cli.stdout, cli.stderr]
        der = make_local_der(server.data_dir, tmp_path / "ca.der")
        outputs += [der.stdout.encode(), der.stderr.encode()]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".server.log") for p in files) and len(files) > 10
    for key in (api_key, hmac_key, target_key):
        needle = key.encode()
        assert not any(needle in out for out in outputs), key
        found = [str(p) for p in files if needle in p.read_bytes()]
        assert found == [], (key, found)
