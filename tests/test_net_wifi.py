"""ei_net Wi-Fi, status codes and clock, run in the MicroPython unix port and CPython with the
simulated network (boards/sim/network.py) and ntptime (boards/sim/ntptime.py)."""

from __future__ import annotations

import functools
import json
import subprocess
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakeclock import run_cpython_fake, run_micropython_fake
from harness import SCENARIOS

SECRET = "pw-SECRET-123"


def _checked(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    text = proc.stdout.decode() + proc.stderr.decode()
    assert SECRET not in text, "the Wi-Fi password was printed"
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


# Every scenario runs on the fake clock (tests/fakeclock.py): the sim's link timing, ei_net's
# deadlines and the elapsed times printed all follow sleeps, not the machine's load.
def _mp(
    clock_dir: Path, script: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    return _checked(run_micropython_fake(clock_dir, SCENARIOS / script, *args, env=env))


def _cp(
    clock_dir: Path, script: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    assert env is None
    return _checked(run_cpython_fake(clock_dir, SCENARIOS / script, *args))


RUNTIMES: dict[str, Callable[..., dict[str, Any]]] = {"micropython": _mp, "cpython": _cp}
PORTS = ["rp2", "esp32"]


@pytest.fixture(scope="module")
def clock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fakeclock")


@pytest.fixture(params=sorted(RUNTIMES))
def run(request: pytest.FixtureRequest, clock_dir: Path) -> Callable[..., dict[str, Any]]:
    return functools.partial(RUNTIMES[request.param], clock_dir)


@pytest.mark.parametrize("port", PORTS)
def test_connect_ok_returns_ip(run: Callable[..., dict[str, Any]], port: str) -> None:
    out = run("net_wifi.py", "ok", port, "2000", "2")
    assert out["ok"] is True
    assert out["ip"] == "192.168.4.2"
    assert out["connected"] is True
    assert out["connects"] == 1
    assert out["port"] == port


@pytest.mark.parametrize("port", PORTS)
def test_wrong_password_is_named_and_not_retried(
    run: Callable[..., dict[str, Any]], port: str
) -> None:
    out = run("net_wifi.py", "wrong_password", port, "2000", "3")
    assert out["ok"] is False
    assert out["cause"] == "wrong_password"
    assert "wrong Wi-Fi password" in out["msg"] and "lab-ssid" in out["msg"]
    assert out["status"] == {"rp2": -3, "esp32": 202}[port]
    assert out["connects"] == 1, "a wrong password must not be retried"
    assert out["elapsed_ms"] < 1500, "a failure status must end the wait before the deadline"
    assert out["is_oserror"] is True
    assert out["connected"] is False


def test_esp32_handshake_timeout_reads_as_wrong_password(
    run: Callable[..., dict[str, Any]],
) -> None:
    out = run("net_wifi.py", "handshake_timeout", "esp32", "2000", "2")
    assert (out["cause"], out["status"], out["connects"]) == ("wrong_password", 204, 1)


@pytest.mark.parametrize("port", PORTS)
def test_no_access_point_is_retried_then_named(
    run: Callable[..., dict[str, Any]], port: str
) -> None:
    out = run("net_wifi.py", "no_ap", port, "2000", "2")
    assert out["ok"] is False
    assert out["cause"] == "no_ap"
    assert "no Wi-Fi access point" in out["msg"] and "lab-ssid" in out["msg"]
    assert out["connects"] == 3
    assert out["elapsed_ms"] < 1500


def test_no_access_point_then_found_on_retry(run: Callable[..., dict[str, Any]]) -> None:
    out = run("net_wifi.py", "flaky:2", "esp32", "2000", "2")
    assert out["ok"] is True and out["connects"] == 3
    assert any("retry 2 after no_ap" in line for line in out["logs"])


@pytest.mark.parametrize("port", PORTS)
def test_slow_connect_within_deadline(run: Callable[..., dict[str, Any]], port: str) -> None:
    out = run("net_wifi.py", "slow:400", port, "3000", "0")
    assert out["ok"] is True
    assert out["connects"] == 1
    # Fake clock: up at 400 ms, seen by the poll at 400 (polls every 100 ms).
    assert out["elapsed_ms"] == 400


@pytest.mark.parametrize("port", PORTS)
def test_timeout_when_slower_than_deadline(run: Callable[..., dict[str, Any]], port: str) -> None:
    out = run("net_wifi.py", "slow:5000", port, "300", "1")
    assert out["ok"] is False
    assert out["cause"] == "timeout"
    assert "timed out" in out["msg"] and "lab-ssid" in out["msg"]
    assert out["connects"] == 2
    # Fake clock: two attempts of 300 ms each and the 100 ms pause between them.
    assert out["elapsed_ms"] == 300 + 100 + 300


def test_missing_constants_fall_back_to_isconnected_and_deadline(
    run: Callable[..., dict[str, Any]],
) -> None:
    ok = run("net_wifi.py", "slow:200", "bare", "2000", "0")
    assert ok["ok"] is True and ok["ip"] == "192.168.4.2"
    bad = run("net_wifi.py", "wrong_password", "bare", "300", "0")
    assert bad["ok"] is False and bad["cause"] == "timeout"


def test_behaviour_from_environment(clock_dir: Path) -> None:
    env = {"EI_SIM_WIFI": "no_ap", "EI_SIM_WIFI_PORT": "esp32"}
    out = _mp(clock_dir, "net_wifi.py", "env", "-", "1000", "0", env=env)
    assert (out["cause"], out["status"], out["port"]) == ("no_ap", 201, "esp32")


@pytest.mark.parametrize("port", PORTS)
def test_drop_after_n_checks_then_reconnect(run: Callable[..., dict[str, Any]], port: str) -> None:
    out = run("net_drop.py", "3", port)
    assert out["ip"] == "192.168.4.2"
    # connect() itself checks once; the drop comes after 3 checks that said True in total.
    first_false = out["seen"].index(False)
    assert all(out["seen"][:first_false]) and not any(out["seen"][first_false:])
    assert 1 <= first_false <= 3
    assert out["dropped_status"] == {"rp2": 0, "esp32": 200}[port]
    assert out["ip2"] == "192.168.4.2" and out["connected_after"] is True
    assert out["connects"] == 2
    assert out["after_disconnect"] == [False, False]


ESP32_EXPECTED = {
    "STAT_GOT_IP": "connected",
    "STAT_IDLE": "connecting",
    "STAT_CONNECTING": "connecting",
    "STAT_WRONG_PASSWORD": "wrong_password",
    "STAT_HANDSHAKE_TIMEOUT": "wrong_password",
    "STAT_NO_AP_FOUND": "no_ap",
    "STAT_BEACON_TIMEOUT": "no_ap",
    "STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY": "no_ap",
    "STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD": "no_ap",
    "STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD": "no_ap",
    "STAT_ASSOC_FAIL": "connect_fail",
    "STAT_CONNECT_FAIL": "connect_fail",
}
RP2_EXPECTED = {
    "STAT_GOT_IP": "connected",
    "STAT_IDLE": "connecting",
    "STAT_CONNECTING": "connecting",
    "STAT_WRONG_PASSWORD": "wrong_password",
    "STAT_NO_AP_FOUND": "no_ap",
    "STAT_CONNECT_FAIL": "connect_fail",
}


def test_status_codes_esp32(run: Callable[..., dict[str, Any]]) -> None:
    out = run("net_status.py", "esp32")
    assert out["named"] == ESP32_EXPECTED
    raw = out["raw"]
    assert (raw["1010"], raw["202"], raw["201"], raw["200"]) == (
        "connected",
        "wrong_password",
        "no_ap",
        "no_ap",
    )
    # Pico W numbers mean nothing on an ESP32.
    assert {raw[c] for c in ("-3", "-2", "-1", "0", "1", "2", "3")} == {"connecting"}
    assert out["mac"] == "02:e1:5a:00:00:01"


def test_status_codes_rp2(run: Callable[..., dict[str, Any]]) -> None:
    out = run("net_status.py", "rp2")
    assert out["named"] == RP2_EXPECTED
    raw = out["raw"]
    assert (raw["3"], raw["-3"], raw["-2"], raw["-1"]) == (
        "connected",
        "wrong_password",
        "no_ap",
        "connect_fail",
    )
    # 2 is the Pico W's "joined, no IP yet": no constant, so still connecting.
    assert raw["2"] == "connecting"
    assert {raw[c] for c in ("200", "201", "202", "1010")} == {"connecting"}


def test_status_codes_match_the_board_stubs() -> None:
    """The sim's numbers are the real ports' numbers, as the pinned board stubs declare them."""
    import re

    from harness import ROOT

    for port, stub in (("esp32", "esp32"), ("rp2", "rp2")):
        text = (ROOT / ".venv" / "stubs" / stub / "network.pyi").read_text()
        stub_codes = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"^(STAT_\w+): Final\[int\] = (-?\d+)", text, re.M)
        }
        import importlib.util

        spec = importlib.util.spec_from_file_location("sim_network", ROOT / "boards/sim/network.py")
        assert spec and spec.loader
        sim = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sim)
        sim.sim("ok", port)
        sim_codes = {k: getattr(sim, k) for k in dir(sim) if k.startswith("STAT_")}
        assert sim_codes == stub_codes, port


def test_classify_without_any_constant() -> None:
    import ei_net

    bare = types.SimpleNamespace()
    assert {ei_net.classify(c, bare) for c in (-3, 0, 3, 202, 1010)} == {"connecting"}
    only_got_ip = types.SimpleNamespace(STAT_GOT_IP=3)
    assert ei_net.classify(3, only_got_ip) == "connected"


def test_empty_ssid_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import SIM

    monkeypatch.syspath_prepend(str(SIM))
    import ei_net

    for bad in ("", None):
        with pytest.raises(ValueError, match="WIFI_SSID"):
            ei_net.connect(bad, SECRET)


@pytest.mark.parametrize("port", PORTS)
def test_drop_after_time_then_reconnect(run: Callable[..., dict[str, Any]], port: str) -> None:
    out = run("net_drop_ms.py", "300", port)
    assert out["ip"] == "192.168.4.2" and out["before"] is True
    assert out["after"] is False
    assert out["status"] == {"rp2": 0, "esp32": 200}[port]
    assert out["ip2"] == "192.168.4.2" and out["connected_again"] is True


def test_connect_refused_by_the_driver_is_retried(run: Callable[..., dict[str, Any]]) -> None:
    ok = run("net_wifi.py", "busy:1", "esp32", "2000", "1")
    assert ok["ok"] is True and ok["connects"] == 2
    assert any("connect() refused" in line for line in ok["logs"])
    bad = run("net_wifi.py", "busy:5", "esp32", "2000", "1")
    assert (bad["ok"], bad["cause"], bad["connects"]) == (False, "connect_fail", 2)
