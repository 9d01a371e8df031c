"""tools/deploy.py: the mpremote commands it would run (--dry-run), the .mpy it builds for each
board's architecture, main.py for MAIN=, the port check, and the one-line device preparation
run in the MicroPython unix port."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import deploy
import pytest
from harness import ROOT, run_micropython

# MicroPython's MP_NATIVE_ARCH_* numbers, stored in bits 2-7 of .mpy header byte 2 (checked
# by compiling a @native function with each -march: x86 1, x64 2, armv6 3, armv6m 4, armv7m 5,
# armv7em 6, armv7emsp 7, armv7emdp 8, xtensa 9, xtensawin 10, rv32imc 11).
ARCH_CODE = {"esp32": 10, "esp32_s3": 10, "esp32_c3": 11, "pico_w": 4, "pico2_w": 7}
SECRETS = ("ei_0123456789abcdef_SECRET", "hmac-SECRET-key", "wifi-SECRET-pw")
CONFIG = f'''WIFI_SSID = "lab"
WIFI_PASSWORD = "{SECRETS[2]}"
API_KEY = "{SECRETS[0]}"
HMAC_KEY = "{SECRETS[1]}"
'''


def _deploy(*args: str, build: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run tools/deploy.py; what deploy and mpy build goes to `build` (a tmp dir), never to
    the repository's build/."""
    if args[0] in ("deploy", "mpy"):
        assert build is not None, "pass build=tmp_path / 'build'"
        args = (*args, "--build-dir", str(build))
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "deploy.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _segments(line: str) -> list[list[str]]:
    argv = shlex.split(line)
    segs: list[list[str]] = [[]]
    for a in argv:
        if a == "+":
            segs.append([])
        else:
            segs[-1].append(a)
    return segs


def _mpremote_accepts(seg: list[str]) -> None:
    """Parse one chained command with mpremote's own argument parsers."""
    from mpremote import main as mp_main

    cmd, rest = seg[0], seg[1:]
    expansion = mp_main._BUILTIN_COMMAND_EXPANSIONS.get(cmd)
    if isinstance(expansion, str):
        cmd, *sub = expansion.split()
        rest = sub + rest
    elif isinstance(expansion, dict):  # e.g. reset: an exec of machine.reset()
        cmd, *sub = expansion["command"]
        rest = sub + rest
    handler = mp_main._COMMANDS[cmd][1]()
    handler.parse_args(rest)


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return tmp_path / "build"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.py"
    path.write_text(CONFIG)
    return path


def _copies(stdout: str, port: str) -> tuple[list[list[str]], dict[str, list[str]]]:
    """The one chained mpremote call's segments (each parsed by mpremote itself) and its
    copies as {destination: sources}."""
    lines = [line for line in stdout.splitlines() if "mpremote" in line]
    assert len(lines) == 1, "everything goes in one chained mpremote call"
    segs = _segments(lines[0])
    assert Path(segs[0][0]).name == "mpremote"
    assert segs[0][1:4] == ["connect", port, "exec"]
    segs[0] = segs[0][3:]
    for seg in segs:
        _mpremote_accepts(seg)
    copies: dict[str, list[str]] = {}
    for seg in segs[1:]:
        assert seg[0] == "cp"
        copies.setdefault(seg[-1], []).extend(seg[1:-1])
    return segs, copies


@pytest.mark.parametrize("board", sorted(deploy.BOARDS))
def test_dry_run_names_every_file(board: str, config: Path, build: Path) -> None:
    port = "/dev/ttyUSB0" if board == "esp32" else "/dev/ttyACM0"
    proc = _deploy(
        "deploy", "--board", board, "--port", port, "--dry-run", "--config", str(config),
        build=build,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for secret in SECRETS:
        assert secret not in out
    segs, copies = _copies(proc.stdout, port)
    for sources in copies.values():
        for src in sources:
            assert (ROOT / src).is_file() or Path(src).is_file(), src
    want_lib = {p.with_suffix(".mpy").as_posix() for p in deploy.lib_sources()}
    got_lib = set()
    for dest, sources in copies.items():
        if dest.startswith(":lib/"):
            sub = dest[len(":lib/") :]
            for src in sources:
                assert src.startswith(f"{build}/{board}/lib/"), src
                assert src[len(f"{build}/{board}/lib/") :] == sub + Path(src).name
                got_lib.add(sub + Path(src).name)
    assert got_lib == want_lib
    assert "sensors/mpu6050.mpy" in got_lib and "ei_net.mpy" in got_lib
    assert copies[":board.py"] == [f"boards/{board}/board.py"]
    assert copies[":config.py"] == [str(config)]
    assert copies[":ca.der"] == [f"{build}/ca.der"]
    # Every example and the helper they share, at the root: `import motion` works on the board.
    assert copies[":"] == [f"examples/{p.name}" for p in sorted((ROOT / "examples").glob("*.py"))]
    assert "examples/uplink.py" in copies[":"] and "examples/collect.py" in copies[":"]
    assert ":main.py" not in copies  # only with --main
    # The prepared device code removes .py twins that would shadow the .mpy files.
    assert "ei_net.py" in segs[0][1] and '"sensors"' in segs[0][1]
    assert "main.py" not in segs[0][1]  # an existing main.py is left alone


@pytest.mark.parametrize("example", deploy.example_names())
def test_main_installs_a_boot_runner_for_every_example(
    example: str, config: Path, build: Path
) -> None:
    proc = _deploy(
        "deploy", "--board", "pico_w", "--port", "/dev/ttyACM0", "--dry-run", "--no-ca",
        "--config", str(config), "--main", example, build=build,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    segs, copies = _copies(proc.stdout, "/dev/ttyACM0")
    assert segs[-1] == ["cp", f"{build}/pico_w/main.py", ":main.py"], "main.py goes last"
    text = (build / "pico_w" / "main.py").read_text()
    assert f'EXAMPLE = "{example}"  # set by tools/deploy.py' in text
    # Only that line differs from the template.
    template = (ROOT / "boards" / "main.py").read_text()
    assert text.replace(f'EXAMPLE = "{example}"', 'EXAMPLE = "motion"') == template
    assert f"examples/{example}.py" in copies[":"]
    assert f"main.py runs {example}.main() at every boot" in proc.stderr


def test_main_refuses_what_is_not_an_example(config: Path, build: Path) -> None:
    for bad in ("nope", "uplink"):  # uplink.py is a helper: no main()
        proc = _deploy(
            "deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run", "--no-ca",
            "--config", str(config), "--main", bad, build=build,
        )  # fmt: skip
        assert proc.returncode == 2 and "mpremote" not in proc.stdout
        assert f"no example {bad!r}" in proc.stderr
        assert "analog, audio, collect, forwarder, motion" in proc.stderr


def test_main_none_removes_main_py(config: Path, build: Path) -> None:
    proc = _deploy(
        "deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run", "--no-ca",
        "--config", str(config), "--main", "none", build=build,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    segs, copies = _copies(proc.stdout, "/dev/ttyUSB0")
    assert ":main.py" not in copies
    assert 'os.remove("/main.py")' in segs[0][1]


@pytest.mark.parametrize("board", sorted(deploy.BOARDS))
def test_mpy_headers_carry_the_board_arch(board: str, tmp_path: Path) -> None:
    """Plain bytecode .mpy files have arch 0 (they run on any port); a module with native code
    carries the architecture mpy-cross was told, so compile one beside lib/ to see it."""
    shutil.copytree(ROOT / "lib", tmp_path / "lib")
    (tmp_path / "lib" / "zz_native.py").write_text(
        "import micropython\n\n\n@micropython.native\ndef f(x):\n    return x + 1\n"
    )
    built = deploy.compile_lib(board, root=tmp_path)
    assert len(built) == len(deploy.lib_sources()) + 1
    out = tmp_path / "build" / board / "lib"
    for rel in built:
        head = (out / rel).read_bytes()[:4]
        assert head[0:1] == b"M" and head[1] == 6, rel
        arch = head[2] >> 2
        source = (tmp_path / "lib" / rel.with_suffix(".py")).read_text()
        if "@micropython.native" in source or "@micropython.viper" in source:
            assert arch == ARCH_CODE[board], rel
        else:
            assert arch == 0, rel  # bytecode only: loads on any port


def test_mpy_command_compiles_lib(build: Path) -> None:
    proc = _deploy("mpy", "--board", "pico2_w", build=build)
    assert proc.returncode == 0, proc.stderr
    assert "for pico2_w (armv7emsp)" in proc.stdout
    for rel in deploy.lib_sources():
        mpy = build / "pico2_w" / "lib" / rel.with_suffix(".mpy")
        assert mpy.read_bytes()[:2] == b"M\x06"


def test_refuses_without_config(tmp_path: Path, build: Path) -> None:
    proc = _deploy(
        "deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run",
        "--config", str(tmp_path / "config.py"), build=build,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "config.example.py" in proc.stderr and "config.py" in proc.stderr
    assert "mpremote" not in proc.stdout


def test_run_dry_run(tmp_path: Path) -> None:
    (tmp_path / "motion.py").write_text("def main():\n    print('hi')\n")
    (tmp_path / "helper.py").write_text("x = 1\n")
    proc = _deploy(
        "run", "--board", "esp32", "--port", "/dev/ttyUSB0", "--example", "motion",
        "--examples-dir", str(tmp_path), "--dry-run",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    argv = shlex.split(line)
    assert argv[1:] == ["connect", "/dev/ttyUSB0", "run", str(tmp_path / "motion.py")]
    _mpremote_accepts(argv[3:])
    for name in ("nope", "helper"):
        missing = _deploy(
            "run", "--board", "esp32", "--port", "/dev/ttyUSB0", "--example", name,
            "--examples-dir", str(tmp_path), "--dry-run",
        )  # fmt: skip
        assert missing.returncode == 2 and "have motion" in missing.stderr


def test_run_forwarder_says_how_the_data_forwarder_gets_the_port() -> None:
    proc = _deploy(
        "run", "--board", "esp32", "--port", "/dev/ttyUSB0", "--example", "forwarder", "--dry-run"
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "make deploy MAIN=forwarder" in proc.stderr and "edge-impulse-data-forwarder" in proc.stderr
    )
    quiet = _deploy(
        "run", "--board", "esp32", "--port", "/dev/ttyUSB0", "--example", "motion", "--dry-run"
    )
    assert "forwarder" not in quiet.stderr


def test_reset_dry_run() -> None:
    proc = _deploy("reset", "--board", "pico2_w", "--port", "auto", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    argv = shlex.split(line)
    assert argv[1:] == ["connect", "auto", "reset"]
    _mpremote_accepts(argv[3:])


def test_device_preparation_removes_main_py_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import motion\n")
    mpys = [Path("ei_net.mpy")]
    run_micropython(deploy._prepare_code(mpys, base=str(tmp_path)), code=True)
    assert (tmp_path / "main.py").exists()
    for _ in range(2):  # and again when it is already gone
        run_micropython(deploy._prepare_code(mpys, base=str(tmp_path), remove_main=True), code=True)
        assert not (tmp_path / "main.py").exists()


def test_device_preparation_code_runs_in_micropython(tmp_path: Path) -> None:
    mpys = [Path("ei_net.mpy"), Path("ei_ingest.mpy"), Path("sensors/mpu6050.mpy")]
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "ei_net.py").write_text("stale = 1\n")
    (tmp_path / "lib" / "ei_net.mpy").write_bytes(b"M")
    (tmp_path / "lib" / "user_module.py").write_text("x = 1\n")
    code = deploy._prepare_code(mpys, base=str(tmp_path))
    assert "\n" not in code
    for _ in range(2):  # idempotent: a second deploy finds everything in place
        run_micropython(code, code=True)
        assert not (tmp_path / "lib" / "ei_net.py").exists()
        assert (tmp_path / "lib" / "ei_net.mpy").exists()
        assert (tmp_path / "lib" / "user_module.py").exists()
        assert (tmp_path / "lib" / "sensors").is_dir()


def test_config_warnings_name_settings_not_values(tmp_path: Path, build: Path) -> None:
    example = (ROOT / "config.example.py").read_text()
    cfg = tmp_path / "config.py"
    cfg.write_text(example.replace('"your-network"', '"lab"'))
    proc = _deploy(
        "deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run", "--no-ca",
        "--config", str(cfg), build=build,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "WIFI_PASSWORD still has the value from config.example.py" in proc.stderr
    assert "API_KEY still has the value" in proc.stderr
    assert "WIFI_SSID" not in proc.stderr
    assert "your-wifi-password" not in proc.stderr + proc.stdout
    assert ":ca.der" not in proc.stdout  # --no-ca

    cfg.write_text(CONFIG + 'LABEL = "idle"\n')
    assert deploy.check_config(cfg) == []
    cfg.write_text(f'API_KEY = "{SECRETS[0]}"\nWIFI_SSID = (\n')
    with pytest.raises(deploy.DeployError) as err:
        deploy.check_config(cfg)
    assert "syntax error on line" in str(err.value) and SECRETS[0] not in str(err.value)
