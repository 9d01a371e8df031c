"""Put ei_ingest on a board, run an example on it, and keep the mip package files in step.

    python tools/deploy.py mpy --board esp32|pico_w
    python tools/deploy.py deploy --board esp32 --port /dev/ttyUSB0 [--dry-run]
    python tools/deploy.py run --board esp32 --port /dev/ttyUSB0 --example motion [--dry-run]
    python tools/deploy.py packages [--check]

`mpy` compiles every lib/**/*.py with mpy-cross for the board's architecture (esp32:
xtensawin, pico_w: armv6m) into build/<board>/lib/. The .mpy files (format v6.3) load on
firmware 1.23 or newer; plain bytecode runs on any port, the -march matters for modules with
@micropython.native/@viper code.

`deploy` compiles, builds the CA file (tools/make_ca_bundle.py, build/ca.der), and copies with
ONE chained `mpremote` call: the .mpy files to /lib (lib/sensors/ stays a package dir,
/lib/sensors), boards/<board>/board.py to /board.py, config.py to /config.py, the CA file to
/ca.der. Before copying it removes /lib/<name>.py twins of the modules it installs (say from an
earlier `mip install`): MicroPython imports a .py before a .mpy of the same name.
It refuses to start without config.py (copy config.example.py) and warns, naming the setting
but never its value, about a required setting that is missing or still the example's.
--dry-run prints the mpremote command(s), one per line, shell-quoted, and runs nothing but the
local compile and CA steps; nothing from config.py is ever printed.

`run` runs examples/<example>.py on the board (`mpremote connect <port> run <file>`).

`packages` writes package.json (the core library: lib/ei_*.py except ei_sensors.py) and
package-sensors.json (lib/ei_sensors.py and lib/sensors/) for mip:
    mpremote mip install github:<owner>/<repo>
    mpremote mip install github:<owner>/<repo>/package-sensors.json
With --check it only says whether the files are up to date (exit 1 if not); with --tracked it
lists only the lib/ files git tracks (what a fresh clone has), ignoring work in progress.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
BOARDS = {"esp32": "xtensawin", "pico_w": "armv6m"}
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


def lib_sources(lib: Path = LIB) -> list[Path]:
    """Every .py under lib/, sorted, as paths relative to lib/."""
    return sorted(p.relative_to(lib) for p in lib.rglob("*.py") if "__pycache__" not in p.parts)


def compile_lib(board: str, root: Path = ROOT) -> list[Path]:
    """mpy-cross every lib/ module for the board; return the .mpy paths (relative to lib out)."""
    arch = BOARDS[board]
    out_dir = root / "build" / board / "lib"
    mpy_cross = _tool("mpy-cross")
    built = []
    for rel in lib_sources(root / "lib"):
        out = out_dir / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [mpy_cross, f"-march={arch}", "-o", str(out), str(root / "lib" / rel)]
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


def _prepare_code(mpys: Sequence[Path], base: str = "") -> str:
    """One line of MicroPython: make /lib and its package dirs, drop .py twins of our modules.

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
    return ";".join(lines)


def deploy_commands(
    board: str, port: str, mpys: Sequence[Path], config: Path, ca: Path | None, root: Path = ROOT
) -> list[list[str]]:
    """The mpremote invocation(s) that install everything on the board (one, chained)."""
    build_lib = root / "build" / board / "lib"
    cmd = [_tool("mpremote"), "connect", port, "exec", _prepare_code(mpys)]
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
    return [cmd]


def run_commands(port: str, example: Path) -> list[list[str]]:
    return [[_tool("mpremote"), "connect", port, "run", _rel(example)]]


def _execute(cmds: list[list[str]], dry_run: bool) -> int:
    for cmd in cmds:
        if dry_run:
            print(shlex.join(cmd))
            continue
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            return rc
    return 0


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
    return sorted(Path(p).relative_to("lib") for p in out if p.endswith(".py"))


def package_files(sources: Sequence[Path] | None = None) -> dict[Path, dict[str, object]]:
    """The two mip package.json documents for `sources` (default: what is in lib/ now)."""
    core: list[list[str]] = []
    sensors: list[list[str]] = []
    for rel in lib_sources() if sources is None else sources:
        entry = [rel.as_posix(), f"lib/{rel.as_posix()}"]
        if rel.parts[0] == "sensors" or rel.name == "ei_sensors.py":
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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("mpy", "deploy", "run"):
        s = sub.add_parser(name)
        s.add_argument("--board", required=True, choices=sorted(BOARDS))
        if name != "mpy":
            s.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
            s.add_argument("--dry-run", action="store_true", help="print mpremote commands only")
    dep = sub.choices["deploy"]
    dep.add_argument("--config", type=Path, default=ROOT / "config.py")
    dep.add_argument("--ca-roots", default=None, help="CN substrings (see make_ca_bundle.py)")
    dep.add_argument("--ca-out", type=Path, default=ROOT / "build" / "ca.der")
    dep.add_argument("--no-ca", action="store_true", help="plain HTTP only: skip the CA file")
    dep.add_argument("--romfs", action="store_true", help="lib/ as a ROMFS image (tools/romfs.py)")
    run = sub.choices["run"]
    run.add_argument("--example", required=True, help="name in examples/, e.g. motion")
    run.add_argument("--examples-dir", type=Path, default=ROOT / "examples")
    pk = sub.add_parser("packages")
    pk.add_argument("--check", action="store_true")
    pk.add_argument("--tracked", action="store_true", help="only files git tracks in lib/")
    args = p.parse_args(argv)

    try:
        if args.command == "packages":
            return packages(args.check, args.tracked)
        if args.command == "mpy":
            built = compile_lib(args.board)
            print(f"compiled {len(built)} modules for {args.board} ({BOARDS[args.board]})")
            return 0
        if args.command == "run":
            example = args.examples_dir / f"{args.example}.py"
            if not example.is_file():
                have = sorted(e.stem for e in args.examples_dir.glob("*.py"))
                raise DeployError(
                    f"no example {args.example!r} in {_rel(args.examples_dir)}: "
                    f"have {', '.join(have) or 'none'}"
                )
            return _execute(run_commands(args.port, example), args.dry_run)
        for warning in check_config(args.config):
            print(f"deploy: warning: {warning}", file=sys.stderr)
        mpys = compile_lib(args.board)
        ca = None
        if not args.no_ca:
            sys.path.insert(0, str(ROOT / "tools"))
            import make_ca_bundle

            roots = args.ca_roots.split(",") if args.ca_roots else make_ca_bundle.DEFAULT_ROOTS
            try:
                make_ca_bundle.build(args.ca_out, roots)
            except ValueError as e:
                raise DeployError(f"CA file: {e}") from e
            ca = args.ca_out
        if args.romfs:
            sys.path.insert(0, str(ROOT / "tools"))
            import romfs

            cmds = romfs.deploy_commands(args.board, args.port, args.config, ca, _tool("mpremote"))
            return _execute(cmds, args.dry_run)
        return _execute(deploy_commands(args.board, args.port, mpys, args.config, ca), args.dry_run)
    except DeployError as e:
        print(f"deploy: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
