"""tools/deploy.py checks the serial port before mpremote runs: with no board there, it says
what to do (`mpremote devs`, PORT=auto) instead of mpremote's "failed to access ... (it may be
in use by another program)"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import deploy
import pytest
from harness import ROOT

MISSING = "/dev/ttyEI_NO_SUCH_PORT"
USB = [("/dev/ttyACM0", "E6614C311B8D2A35", True)]
NOT_USB = [("/dev/ttyS0", None, False)]


def _deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "deploy.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_missing_device_names_it_and_says_what_to_do() -> None:
    with pytest.raises(deploy.DeployError) as err:
        deploy.check_port(MISSING, USB)
    text = str(err.value)
    assert f"no board at {MISSING}" in text
    assert "`mpremote devs`" in text and "PORT=auto" in text and "/dev/ttyACM0" in text


def test_present_devices_pass(tmp_path: Path) -> None:
    deploy.check_port("/dev/ttyACM0", USB)  # listed by the host
    deploy.check_port("port:/dev/ttyACM0", USB)  # mpremote's explicit form
    device = tmp_path / "ttyUSB9"  # not listed, but the path exists (say a udev symlink)
    device.touch()
    deploy.check_port(str(device), [])
    deploy.check_port("COM3", [("COM3", None, True)])  # Windows: no path, only the list
    deploy.check_port("rfc2217://192.168.1.20:2217", [])  # a network port: not ours to look at


def test_auto_needs_a_usb_board() -> None:
    deploy.check_port("auto", USB)
    for ports in ([], NOT_USB):  # a built-in UART is not a board on USB
        with pytest.raises(deploy.DeployError) as err:
            deploy.check_port("auto", ports)
        assert "no board found on USB" in str(err.value) and "`mpremote devs`" in str(err.value)


def test_serial_number() -> None:
    deploy.check_port("id:E6614C311B8D2A35", USB)
    with pytest.raises(deploy.DeployError, match="no board with serial number 'XYZ'"):
        deploy.check_port("id:XYZ", USB)


def test_host_port_list_is_read() -> None:
    ports = deploy._serial_ports()  # whatever this host has, in the shape check_port takes
    assert all(isinstance(d, str) and isinstance(usb, bool) for d, _sn, usb in ports)


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--board", "esp32", "--example", "motion"],
        ["reset", "--board", "pico_w"],
        ["deploy", "--board", "esp32_c3", "--no-ca", "--config", str(ROOT / "config.example.py")],
    ],
)
def test_commands_stop_before_mpremote(command: list[str]) -> None:
    proc = _deploy(*command, "--port", MISSING)
    assert proc.returncode == 2, proc.stderr
    assert f"deploy: no board at {MISSING}" in proc.stderr and "PORT=auto" in proc.stderr
    assert "failed to access" not in proc.stderr  # mpremote never ran
    assert proc.stdout == ""


def test_dry_run_needs_no_board() -> None:
    proc = _deploy("run", "--board", "esp32", "--example", "motion", "--port", MISSING, "--dry-run")
    assert proc.returncode == 0 and MISSING in proc.stdout
