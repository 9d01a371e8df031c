"""tools/romfs.py: ROMFS images of lib/ that MicroPython's own VfsRom mounts and imports from.

The oracle is the interpreter: the image is mounted with `vfs.VfsRom` in the 64-bit PyPI
micropython (and in board32 when $MICROPYTHON32 has it), the modules must come from /rom/lib,
and a signed dump made from them must equal, byte for byte, the one made from lib/ itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import heapkit as hk
import pytest
import romfs
from harness import ROOT

DUMP = """
import ei_ingest, hashlib, binascii
rec = ei_ingest.Recording((("accX", "g"), ("accY", "g"), ("accZ", "g")), 10, 50)
for i in range(50):
    rec.append((i, -i, i * 7))
class H:
    def __init__(self):
        self.h = hashlib.sha256()
    def write(self, b):
        self.h.update(b)
        return len(b)
out = H()
ei_ingest.dump(rec, out, fmt="cbor", hmac_key="k", device_type="T", iat=1700000000)
print("file", ei_ingest.__file__)
print("sha", binascii.hexlify(out.h.digest()).decode())
"""


def test_varuint_and_header() -> None:
    assert romfs.varuint(0) == b"\x00"
    assert romfs.varuint(127) == b"\x7f"
    assert romfs.varuint(128) == b"\x81\x00"
    assert romfs.varuint(0x14A6B1) == romfs.HEADER == b"\xd2\xcd\x31"
    with pytest.raises(ValueError, match="negative"):
        romfs.varuint(-1)


@pytest.mark.parametrize("size", [0, 1, 2, 125, 126, 127, 128, 300])
def test_image_has_an_even_length(size: int) -> None:
    image = romfs.build_image({"a.bin": bytes(size)})
    assert image.startswith(romfs.HEADER) and len(image) % 2 == 0


def test_bad_trees_are_refused() -> None:
    with pytest.raises(ValueError, match="both a file and a directory"):
        romfs.build_image({"lib": b"x", "lib/a.mpy": b"y"})
    with pytest.raises(ValueError, match="ASCII"):
        romfs.build_image({"lib/é.mpy": b"y"})
    with pytest.raises(ValueError, match="at least one file"):
        romfs.build_image({})


def _mount_and_run(interp: hk.Interp, image: Path, code: str) -> subprocess.CompletedProcess[str]:
    mount = (
        "import vfs, sys\n"
        f"vfs.mount(vfs.VfsRom(open({str(image)!r}, 'rb').read()), '/rom')\n"
        "sys.path[:] = ['/rom/lib']\n"
        "import os\n"
        "print('lib', sorted(os.listdir('/rom/lib')))\n"
        "print('sensors', sorted(os.listdir('/rom/lib/sensors')))\n"
    )
    return subprocess.run(
        [str(interp.binary), "-c", mount + code], capture_output=True, text=True, timeout=60
    )


def _reference(interp: hk.Interp) -> str:
    """The same dump with lib/ from source: the bytes the image's modules must produce."""
    proc = subprocess.run(
        [str(interp.binary), "-c", DUMP], capture_output=True, text=True, timeout=60,
        env={"MICROPYPATH": str(ROOT / "lib")}, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("sha ")[1].strip()


@pytest.mark.parametrize("name", ["unix64", "board32"])
def test_image_mounts_and_lib_imports_from_it(name: str, tmp_path: Path) -> None:
    interp = hk.unix64() if name == "unix64" else hk.board32()
    if interp is None:
        pytest.skip("board32: no 32-bit MicroPython at $MICROPYTHON32; unix64 covers the format")
    image = romfs.write_lib_image(tmp_path / "lib.romfs", interp.march, str(interp.mpy_cross))
    proc = _mount_and_run(interp, image, DUMP)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    expect = sorted(p.with_suffix(".mpy").name for p in (ROOT / "lib").glob("*.py"))
    assert f"lib {sorted(expect + ['sensors'])}" in out
    sensors = sorted(p.with_suffix(".mpy").name for p in (ROOT / "lib" / "sensors").glob("*.py"))
    assert f"sensors {sensors}" in out
    assert "file /rom/lib/ei_ingest.mpy" in out
    assert out.split("sha ")[1].strip() == _reference(interp)


def test_a_damaged_image_is_refused(tmp_path: Path) -> None:
    interp = hk.unix64()
    image = romfs.write_lib_image(tmp_path / "lib.romfs", "x64")
    damaged = tmp_path / "bad.romfs"
    damaged.write_bytes(b"\xd2\xcd\x32" + image.read_bytes()[3:])
    proc = _mount_and_run(interp, damaged, "")
    said = proc.stdout + proc.stderr  # MicroPython prints tracebacks to stdout
    assert proc.returncode != 0 and "OSError" in said and "ENODEV" in said, said


def test_deploy_romfs_commands(tmp_path: Path) -> None:
    """`make deploy ROMFS=1` (tools/deploy.py --romfs): the image is built for the board's
    arch and one chained mpremote call writes it and copies board.py, config.py, ca.der."""
    shutil.copytree(ROOT / "lib", tmp_path / "lib")
    shutil.copytree(ROOT / "boards", tmp_path / "boards")
    config, ca = tmp_path / "config.py", tmp_path / "ca.der"
    cmds = romfs.deploy_commands("pico_w", "/dev/ttyACM0", config, ca, "mpremote", root=tmp_path)
    assert len(cmds) == 1
    words = cmds[0]
    image = tmp_path / "build" / "pico_w" / "lib.romfs"
    assert words[:8] == ["mpremote", "connect", "/dev/ttyACM0", "romfs", "-p", "0", "deploy",
                         str(image)]  # fmt: skip
    assert words[8:] == [
        "+", "cp", str(tmp_path / "boards" / "pico_w" / "board.py"), ":board.py",
        "+", "cp", str(config), ":config.py", "+", "cp", str(ca), ":ca.der",
    ]  # fmt: skip
    assert image.read_bytes().startswith(romfs.HEADER)
    # compiled for the RP2040: a viper module's .mpy header names armv6m (arch code 4)
    mpy = romfs.compile_lib("armv6m", lib=tmp_path / "lib")["lib/ei_cbor.mpy"]
    assert mpy[0] == ord("M") and mpy[2] >> 2 == 4
    assert mpy in image.read_bytes()


def test_deploy_has_the_romfs_switch() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "deploy.py"), "deploy", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and "--romfs" in proc.stdout
