"""Concurrency, restart durability, start-up flags and signature policies of the server."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import ROOT, VECTORS
from serverproc import SERVER_SCRIPT, ServerProc, sign_json

API_KEY = "ei_lifecycle_secret_api_key_123"
HMAC_KEY = "lifecycle_secret_hmac_key_456"


def doc(index: int) -> dict[str, object]:
    return {
        "protected": {"ver": "v1", "alg": "HS256"},
        "signature": "0" * 64,
        "payload": {
            "device_type": "CONCURRENT",
            "device_name": f"dev-{index}",
            "interval_ms": 10,
            "sensors": [{"name": "x", "units": "m/s2"}],
            "values": [[index], [index + 0.5]],
        },
    }


def test_fifty_concurrent_uploads_are_each_stored_once(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", api_key=API_KEY, hmac_key=HMAC_KEY) as server:
        bodies = [sign_json(doc(i), HMAC_KEY) for i in range(50)]

        def send(index: int) -> tuple[int, str]:
            if index % 2:
                result = server.post_files(
                    "training",
                    [(f"c{index}.json", bodies[index], "application/json")],
                    {"x-disallow-duplicates": "1"},
                )
                return result.status, result.json()["files"][0]["fileName"]
            result = server.post_data(
                "training",
                bodies[index],
                file_name="same-name.json",
                headers={"x-disallow-duplicates": "1"},
            )
            return result.status, result.text()

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(send, range(50)))
        assert [status for status, _ in answers] == [200] * 50
        names = [name for _, name in answers]
        assert len(set(names)) == 50  # same-name uploads got unique stored names
        samples = server.samples()
        assert len(samples) == 50
        assert sorted(s["deviceName"] for s in samples) == sorted(f"dev-{i}" for i in range(50))
        assert {s["signature"] for s in samples} == {"valid"}
        assert len(server.stored_files()) == 50
        for sample in samples:
            index = int(str(sample["deviceName"]).removeprefix("dev-"))
            assert server.raw(sample["id"]) == bodies[index]


def test_restart_keeps_everything(tmp_path: Path) -> None:
    vector = (VECTORS / "docs-example.cbor").read_bytes()
    with ServerProc(tmp_path / "data") as server:
        assert server.post_data("training", vector, file_name="v.cbor").status == 200
        assert server.post_files("testing", [("t.txt", b"hello", "text/plain")]).status == 200
        before = server.samples()
        files_before = server.stored_files()
        port = server.port
        server.restart()
        assert server.port == port
        assert server.samples() == before
        assert server.stored_files() == files_before
        assert server.raw(before[0]["id"]) == vector
        again = server.post_data(
            "training", vector, file_name="v.cbor", headers={"x-disallow-duplicates": "1"}
        )
        assert again.status == 400 and "duplicate" in again.text()
        third = server.post_files("testing", [("u.txt", b"world", "text/plain")])
        assert third.json()["files"][0]["sampleId"] == before[-1]["id"] + 1
    with ServerProc(tmp_path / "data", enable_faults=False) as fresh:
        assert [s["id"] for s in fresh.samples()] == [1, 2, 3]


def test_killed_server_loses_no_answered_upload(tmp_path: Path) -> None:
    """Every upload answered 200 survives SIGKILL: files and index rows are synced first."""
    with ServerProc(tmp_path / "data") as server:
        bodies = [sign_json(doc(i), HMAC_KEY) for i in range(10)]
        for i, body in enumerate(bodies):
            assert server.post_data("training", body, file_name=f"k{i}.json").status == 200
        before = server.samples()
        assert server.proc is not None
        server.proc.kill()  # no clean shutdown
        server.proc.wait(timeout=5)
        server.proc = None
        server.start()
        assert server.samples() == before
        assert [server.raw(s["id"]) for s in before] == bodies


def test_storage_failure_is_a_500_that_stores_nothing(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data") as server:
        blocker = server.data_dir / "training" / "blocked"
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_bytes(b"a file where the label directory should be")
        # The first file is written before the second fails: it must be removed again.
        files = [
            ("good.json", sign_json(doc(1), HMAC_KEY), "application/json"),
            ("blocked.txt", b"x", "text/plain"),
        ]
        result = server.post_files("training", files)
        assert result.status == 500
        assert result.json()["success"] is False
        assert "internal error" in result.json()["error"]
        assert server.samples() == []
        assert server.stored_files() == ["training/blocked"]
        assert server.post_files("training", files[:1]).status == 200  # still serving
    assert "Traceback" in server.log_text()


def test_leftover_temp_files_are_removed_at_start(tmp_path: Path) -> None:
    leftover = tmp_path / "data" / "training" / "idle" / ".incoming-crashed"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"partial")
    with ServerProc(tmp_path / "data") as server:
        assert not leftover.exists()
        assert server.samples() == []


def test_without_hmac_key_signed_files_are_unverified(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", hmac_key=None) as server:
        vector = (VECTORS / "docs-example-compact.json").read_bytes()
        assert server.post_data("training", vector, file_name="v.json").status == 200
        (sample,) = server.samples()
        assert sample["signature"] == "unverified"


def test_require_valid_signature(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", require_valid_signature=True) as server:
        vector = (VECTORS / "docs-example-compact.json").read_bytes()
        bad = vector.replace(b"-9.81", b"-9.71")
        refused = server.post_data("training", bad, file_name="bad.json")
        assert refused.status == 400
        assert "signature" in refused.text() and "does not match" in refused.text()
        assert server.stored_files() == [] and server.samples() == []
        assert server.post_data("training", vector, file_name="ok.json").status == 200
        unsigned = sign_json(dict(doc(1), protected={"ver": "v1", "alg": "none"}), None)
        assert server.post_data("training", unsigned, file_name="none.json").status == 200
        assert [s["signature"] for s in server.samples()] == ["valid", "none"]


def test_listening_line_port_zero_and_no_keys_printed(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", api_key=API_KEY, hmac_key=HMAC_KEY) as server:
        assert server.port > 0
        vector = (VECTORS / "docs-example-compact.json").read_bytes()
        assert server.post_data("training", vector, file_name="v.json").status == 200
        assert server.request("GET", "/api/samples", api_key="ei_wrong").status == 401
        assert server.request("POST", "/_faults", b"{}", api_key=False).status == 400
    log = server.log_text()
    assert f"ingest_server listening on http://127.0.0.1:{server.port} data=" in log
    assert "stored sample 1: training/v/v.json" in log
    assert API_KEY not in log and HMAC_KEY not in log


def test_fault_endpoints_are_404_unless_enabled(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", enable_faults=False) as server:
        assert server.request("POST", "/_faults", b'{"status": 500}').status == 404
        assert server.request("GET", "/_faults/log").status == 404
        assert server.request("DELETE", "/_faults").status == 404


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SERVER_SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_explains_unverified_and_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--api-key",
        "--hmac-key",
        "--max-body",
        "--tls-cert",
        "--tls-key",
        "--require-valid-signature",
        "--enable-faults",
        "--tls-self-signed",
    ):
        assert flag in result.stdout
    assert "unverified" in result.stdout
    for limit in ("up to 8190 bytes", "at most 100 header lines", "at most 1010 parts",
                  "login form 4096", "budget of 10"):  # fmt: skip
        assert limit in " ".join(result.stdout.split()), limit


def test_cli_refuses_bad_configurations(tmp_path: Path) -> None:
    empty = run_cli("--data-dir", str(tmp_path), "--api-key", "")
    assert empty.returncode == 2 and "--api-key must not be empty" in empty.stderr
    require = run_cli("--api-key", "k", "--require-valid-signature")
    assert require.returncode == 2 and "needs --hmac-key" in require.stderr
    half_tls = run_cli("--api-key", "k", "--tls-cert", "c.pem")
    assert half_tls.returncode == 2 and "go together" in half_tls.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "a") as server:
        clash = run_cli(
            "--api-key", "k", "--data-dir", str(tmp_path / "b"), "--port", str(server.port)
        )
    assert clash.returncode == 1
    assert "cannot start" in clash.stderr


def test_ipv6_loopback(tmp_path: Path) -> None:
    with ServerProc(tmp_path / "data", host="::1") as server:
        assert server.url == f"http://[::1]:{server.port}"
        assert server.post_files("training", [("v6.txt", b"hi", "text/plain")]).status == 200
        assert [s["fileName"] for s in server.samples()] == ["v6.txt"]
