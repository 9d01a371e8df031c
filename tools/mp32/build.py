"""Build the project's 32-bit MicroPython interpreters (board32, board32idf) from source.

    python tools/mp32/build.py --src ~/micropython            # a clone at the release tag
    python tools/mp32/build.py --tarball micropython-v1.28.0-unix.tar.xz
    python tools/mp32/build.py --frozen      # also: lib/ frozen, and lib/ as a ROMFS image

The unix port of MicroPython, static and 32-bit (-m32): 4-byte words and 16-byte GC blocks as
on ESP32 and RP2040, the boards' feature level and error messages. `board32` takes mbedTLS's
buffers from the GC heap as the rp2 port does; `board32idf` from the system heap as ESP32 does.
The variant files are ours (tools/mp32/variants/), copied into the tree's ports/unix/variants.

A clone needs its submodules first: `git clone --branch v1.28.0 <micropython repo>` then
`make -C ports/unix submodules`. Without --src or --tarball the tarball in $MICROPYTHON32/src
is used (the same tree). The build needs gcc with 32-bit support (Debian: gcc-multilib), make
and python3: a few minutes on 2 cores. Binaries go to build/mp32/bin (--out): mpy-cross,
micropython-<variant>, and with --frozen micropython-<variant>-frozen, which freeze lib/, the
sim board's machine/network/ntptime/sim modules and a ROMFS image of lib/ (compiled with the new
mpy-cross, -march=x86, by tools/romfs.py) as the bytes constant ei_romfs_image.IMAGE: code and
image then live outside the GC heap, as in a board's firmware and flash partition.
--optional: when there is no source, say so and exit 0 (`make bench` on a machine without it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VARIANTS = ("board32", "board32idf")
SIM_FROZEN = ("machine.py", "network.py", "ntptime.py", "sim.py")
OUT = ROOT / "build" / "mp32" / "bin"


class BuildError(Exception):
    pass


def default_tarball() -> Path | None:
    raw = os.environ.get("MICROPYTHON32") or "../shared/micropython32"
    kit = Path(raw) if Path(raw).is_absolute() else ROOT / raw
    found = sorted((kit / "src").glob("micropython-*.tar.xz")) if kit.is_dir() else []
    return found[-1] if found else None


def unpack(tarball: Path, into: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1 or not (tops[0] / "ports" / "unix").is_dir():
        raise BuildError(f"{tarball}: not a MicroPython source tree")
    return tops[0]


def image_module(mpy_cross: Path, out: Path) -> Path:
    """ei_romfs_image.py: lib/ as a ROMFS image in one bytes constant (frozen: in .rodata)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import romfs

    data = romfs.build_image(romfs.compile_lib("x86", str(mpy_cross)))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ei_romfs_image.py"
    path.write_text(
        f'"""lib/ as a ROMFS image ({len(data)} bytes), by tools/mp32/build.py."""\n\n'
        f"IMAGE = {data!r}\n"
    )
    return path


def manifest(path: Path, frozen: bool, extra: Path | None) -> Path:
    lines = ['include("$(MPY_DIR)/extmod/asyncio")']
    if frozen:
        lines.append(f'freeze("{ROOT / "lib"}")')
        names = ", ".join(f'"{n}"' for n in SIM_FROZEN)
        lines.append(f'freeze("{ROOT / "boards" / "sim"}", ({names},))')
    if extra is not None:
        lines.append(f'freeze("{extra.parent}", "{extra.name}")')
    path.write_text("\n".join(lines) + "\n")
    return path


def make(args: list[str], log: Path) -> None:
    with log.open("a") as f:
        f.write("$ make " + " ".join(args) + "\n")
        f.flush()
        proc = subprocess.run(["make", *args], stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text().splitlines()[-30:]
        raise BuildError("make failed:\n" + "\n".join(tail) + f"\n(full log: {log})")


def check_compiler() -> None:
    probe = "int main(void) { return 0; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.c").write_text(probe)
        proc = subprocess.run(
            ["gcc", "-m32", "-static", "-o", f"{tmp}/t", f"{tmp}/t.c"], capture_output=True
        )
    if proc.returncode != 0:
        raise BuildError(
            "gcc cannot build static 32-bit programs: install gcc-multilib "
            "(Debian/Ubuntu: apt-get install gcc-multilib make python3)"
        )


def build(src: Path, out: Path, variants: list[str], frozen: bool) -> None:
    jobs = str(os.cpu_count() or 2)
    log = out / "build.log"
    out.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    env_note = "GIT_CEILING_DIRECTORIES"  # keep makeversionhdr.py out of our git repository
    os.environ.setdefault(env_note, str(src.parent))
    for v in VARIANTS:
        dest = src / "ports" / "unix" / "variants" / v
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(HERE / "variants" / v, dest)
    lib_readme = src / "lib" / "micropython-lib" / "README.md"
    if not lib_readme.exists():  # the freeze step only checks that the submodule is there
        lib_readme.parent.mkdir(parents=True, exist_ok=True)
        lib_readme.write_text("micropython-lib is not needed by this build's manifests.\n")
    m32 = ["CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32 -static"]
    print("building mpy-cross (32-bit, static)")
    make(["-C", str(src / "mpy-cross"), f"-j{jobs}", *m32], log)
    shutil.copy2(src / "mpy-cross" / "build" / "mpy-cross", out / "mpy-cross")
    extra = image_module(out / "mpy-cross", src / "ei_frozen") if frozen else None
    for v in variants:
        name = f"micropython-{v}" + ("-frozen" if frozen else "")
        bdir = f"build-{v}" + ("-frozen" if frozen else "")
        man = manifest(src / f"manifest-{v}.py", frozen, extra)
        print(f"building {name}")
        make(
            ["-C", str(src / "ports" / "unix"), f"-j{jobs}", f"VARIANT={v}", f"BUILD={bdir}",
             "LDFLAGS_EXTRA=-static", f"FROZEN_MANIFEST={man}"],
            log,
        )  # fmt: skip
        shutil.copy2(src / "ports" / "unix" / bdir / "micropython", out / name)
        check = subprocess.run(
            [str(out / name), "-c", "import sys; print(sys.maxsize == 2**31 - 1)"],
            capture_output=True, text=True,
        )  # fmt: skip
        if check.stdout.strip() != "True":
            raise BuildError(f"{out / name} is not a working 32-bit build: {check.stderr}")
    print(f"binaries in {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--src", type=Path, help="a MicroPython source tree (clone at the tag)")
    where.add_argument("--tarball", type=Path, help="a .tar.xz of such a tree")
    p.add_argument("--variant", choices=VARIANTS, action="append", help="default: both")
    p.add_argument("--frozen", action="store_true", help="freeze lib/, the sim board, a ROMFS")
    p.add_argument("--optional", action="store_true", help="no source: say so, exit 0")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--keep", action="store_true", help="keep the unpacked tree (tarball)")
    args = p.parse_args(argv)
    variants = args.variant or list(VARIANTS)
    tmp = None
    try:
        if args.src is not None:
            if not (args.src / "ports" / "unix").is_dir():
                raise BuildError(f"{args.src} is not a MicroPython source tree")
            src = args.src.resolve()
        else:
            tarball = args.tarball or default_tarball()
            if tarball is None or not tarball.is_file():
                if args.optional:
                    print(
                        "mp32: no MicroPython source (--src, --tarball or $MICROPYTHON32/src): "
                        "the frozen and ROMFS figures are skipped"
                    )
                    return 0
                raise BuildError(
                    "no source: pass --src <micropython clone at the release tag> or --tarball "
                    "(or set MICROPYTHON32 to a folder with src/micropython-*.tar.xz)"
                )
            tmp = Path(tempfile.mkdtemp(prefix="mp32-"))
            print(f"unpacking {tarball}")
            src = unpack(tarball, tmp)
        check_compiler()
        build(src, args.out.resolve(), variants, args.frozen)
    except BuildError as e:
        print(f"build: {e}", file=sys.stderr)
        return 1
    finally:
        if tmp is not None:
            if args.keep:
                print(f"source tree kept: {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
