"""Every lib/ module can be frozen into firmware: MicroPython's tools/mpy-tool.py turns each .mpy
into C, and no constant may be a float C cannot spell (mpy-cross folds `math.inf` into a float
constant, which stock mpy-tool writes as `(mp_float_t)inf`, and the firmware build fails).

mpy-tool.py comes from the MicroPython source tarball in $MICROPYTHON32/src (the test skips
without it). Its copy there writes non-finite floats as __builtin_inf()/__builtin_nan("") so it
can freeze them anyway: exactly those are what stock mpy-tool cannot, so this test looks for
them. The full build with lib/ frozen is a bench step (`make heap-frozen`, minutes).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import heapkit as hk
import pytest

NON_FINITE = ("__builtin_inf", "__builtin_nan", "(mp_float_t)inf", "(mp_float_t)nan")
QSTR_HEADER = "QCFG(BYTES_IN_LEN, (1))\nQCFG(BYTES_IN_HASH, (2))\nQ()\n"


@pytest.fixture(scope="module")
def mpy_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kit = hk.micropython32_dir()
    tarballs = sorted((kit / "src").glob("micropython-*.tar.xz")) if kit else []
    if not tarballs:
        pytest.skip("no MicroPython source tarball in $MICROPYTHON32/src: mpy-tool.py missing")
    out = tmp_path_factory.mktemp("mpsrc")
    with tarfile.open(tarballs[-1]) as tar:
        wanted = [
            m
            for m in tar.getmembers()
            if m.name.endswith(("/tools/mpy-tool.py", "/py/makeqstrdata.py"))
        ]
        tar.extractall(out, members=wanted, filter="data")
    return next(out.rglob("tools/mpy-tool.py"))


def _frozen_c(mpy_tool: Path, sources: list[Path], tmp: Path) -> str:
    (tmp / "q.h").write_text(QSTR_HEADER)
    mpys = []
    for src in sources:
        out = tmp / (src.stem + ".mpy")
        hk.mpy_cross(hk.unix64().mpy_cross, "x86", src, out)
        mpys.append(str(out))
    proc = subprocess.run(
        [sys.executable, str(mpy_tool), "-f", "-q", str(tmp / "q.h"), "-mlongint-impl=mpz",
         *mpys],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_lib_has_no_constant_c_cannot_spell(mpy_tool: Path, tmp_path: Path) -> None:
    text = _frozen_c(mpy_tool, hk.lib_sources(), tmp_path)
    assert "mp_frozen_names" in text  # the tool did freeze them
    bad = [line for line in text.splitlines() if any(word in line for word in NON_FINITE)]
    assert not bad, "\n".join(bad)


def test_the_check_sees_math_inf(mpy_tool: Path, tmp_path: Path) -> None:
    """Negative control: the expression lib/ used to have."""
    src = tmp_path / "uses_inf.py"
    src.write_text("import math\n\ndef f(v):\n    return v == math.inf or v == -math.inf\n")
    text = _frozen_c(mpy_tool, [src], tmp_path)
    assert any(word in text for word in NON_FINITE)
