"""Heap regressions: the key heap figures, bisected in the real interpreters, against the one
table in tests/heap_limits.py (a stated margin on top).

The 64-bit PyPI interpreter is always measured (it carries CI, which has no 32-bit builds);
board32 and board32idf (tools/bench/heapkit.py, $MICROPYTHON32) are measured when present and
skipped with the reason otherwise. lib/ and the jobs are compiled to .mpy under tmp_path;
uploads go to the local ingestion server (a real process on a free loopback port).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import heapkit as hk
import pytest
from heap_limits import GROWTH_SLACK, LIMITS, MARGIN
from serverproc import ServerProc, TestCA, make_test_ca

HOST = "127.0.0.1"
BENCH_KEY = "bench-hmac-key"  # the HMAC key of tools/bench/bench_heap.py
BENCH_API_KEY = "ei_bench_key"  # as tools/bench/common.py: same lengths, same figures


def _interp(name: str, tmp: Path) -> hk.Interp:
    found = hk.unix64() if name == "unix64" else hk.board32(name)
    if found is None:
        where = os.environ.get("MICROPYTHON32") or hk.MP32_DEFAULT
        pytest.skip(f"{name}: no 32-bit MicroPython in {where} ($MICROPYTHON32): 64-bit only")
    interp = dataclasses.replace(found, root=tmp)
    if not interp.build.exists():
        hk.compile_all(interp)
    return interp


@pytest.fixture(scope="module")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("heap-build")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("heap-ca"))


SERVER_OPTIONS = {"api_key": BENCH_API_KEY, "hmac_key": BENCH_KEY}  # conftest.py's server


def _check(interp: hk.Interp, job: str, measured: hk.Measure) -> None:
    limit = LIMITS[interp.name][job]
    allowed = int(limit * (1 + MARGIN))
    print(
        f"heap {interp.name} {job}: {measured.heapsize} bytes (table: {limit}, allowed {allowed})"
    )
    assert measured.heapsize <= allowed, (
        f"{interp.name} {job} needs {measured.heapsize} bytes of heap, more than {limit} + "
        f"{MARGIN:.0%} (tests/heap_limits.py)"
    )


def _cases(job: str) -> list[str]:
    return [name for name, jobs in LIMITS.items() if job in jobs]


@pytest.mark.parametrize("name", _cases("dump"))
def test_dump_heap(name: str, build_root: Path) -> None:
    interp = _interp(name, build_root)
    _check(interp, "dump", hk.smallest_heap(interp, hk.job("dump", 1000, "cbor")))


@pytest.mark.parametrize("name", _cases("upload"))
def test_http_upload_heap(name: str, build_root: Path, server: ServerProc) -> None:
    interp = _interp(name, build_root)
    code = hk.job("upload", 1000, "cbor", HOST, server.port, server.api_key)
    measured = hk.smallest_heap(interp, code)
    _check(interp, "upload", measured)
    stored = [s for s in server.samples() if s["label"] == "bench"]
    assert stored and stored[-1]["rows"] == 1000 and stored[-1]["signature"] == "valid"


@pytest.mark.parametrize("name", _cases("upload_https"))
def test_https_upload_heap(name: str, build_root: Path, ca: TestCA, tmp_path: Path) -> None:
    interp = _interp(name, build_root)
    ca_file = tmp_path / "ca.der"
    ca_file.write_bytes(ca.ca_der)
    with ServerProc(tmp_path / "data", api_key=BENCH_API_KEY, hmac_key=BENCH_KEY, tls=ca) as server:
        assert server.scheme == "https"
        code = hk.job("upload", 1000, "cbor", HOST, server.port, server.api_key, str(ca_file))
        _check(interp, "upload_https", hk.smallest_heap(interp, code))
        assert server.samples()[-1]["signature"] == "valid"


@pytest.mark.parametrize("name", ["unix64", "board32"])
def test_growth_is_the_buffer_alone(name: str, build_root: Path) -> None:
    """From 1,000 to 100,000 rows a dump needs the buffer's 6 bytes a row more, nothing else."""
    interp = _interp(name, build_root)
    small = hk.smallest_heap(interp, hk.job("dump", 1000, "cbor"))
    large = hk.smallest_heap(interp, hk.job("dump", 100_000, "cbor"), hi=8 << 20)
    beyond = (large.usable - small.usable) - 99_000 * 6
    print(f"heap {name} growth: {beyond} bytes beyond the buffer over 99,000 rows")
    assert beyond <= GROWTH_SLACK, f"{name}: {beyond} bytes beyond the buffer over 99,000 rows"


def test_bisection_finds_the_edge(build_root: Path) -> None:
    """Negative control for the instrument: at the figure the job passes, 16 bytes less it
    fails with MemoryError, and a job that allocates 8 KiB more needs about 8 KiB more."""
    interp = _interp("unix64", build_root)
    code = hk.job("dump", 1000, "cbor")
    m = hk.smallest_heap(interp, code)
    path = hk.default_path(interp)
    assert hk.succeeds(hk.run(interp, m.heapsize, code, path))
    short = hk.run(interp, m.heapsize - hk.STEP, code, path)
    assert not hk.succeeds(short) and b"MemoryError" in short.stdout + short.stderr
    more = hk.smallest_heap(interp, "_keep = bytearray(8192)\n" + code)
    assert 8192 - 512 <= more.heapsize - m.heapsize <= 8192 + 512
