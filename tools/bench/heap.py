"""Heap benchmark: the smallest `-X heapsize` at which the micropython interpreter still does a job.

lib/ and the workloads are compiled to .mpy first (a board imports .mpy, so the compiler's own
peak is not counted). Bisection over the heap size is exactly repeatable. Results go to the
"heap" section of BENCHMARKS.md and to stdout.

usage: python tools/bench/heap.py [--rows 1000 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, ServerRun, micropython, mpy_cross, update_section  # noqa: E402

BUILD = ROOT / "build" / "bench-mpy"


def compile_for_host() -> Path:
    """lib/ and the workloads as .mpy for this host's interpreter (bytecode plus x64 native)."""
    if BUILD.exists():
        shutil.rmtree(BUILD)
    sources = list((ROOT / "lib").rglob("*.py")) + sorted(Path(__file__).parent.glob("bench_*.py"))
    for src in sources:
        rel = src.relative_to(ROOT / "lib") if src.is_relative_to(ROOT / "lib") else Path(src.name)
        out = BUILD / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([mpy_cross(), "-march=x64", "-o", str(out), str(src)], check=True)
    return BUILD


def runs_with(heap: int, code: str, words: bool = False) -> bool:
    size = f"{heap // 1024}wK" if words else str(heap)
    env = dict(os.environ, MICROPYPATH=f"{BUILD}:boards/sim:.frozen")
    proc = subprocess.run(
        [micropython(), "-X", f"heapsize={size}", "-c", code],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    return proc.returncode == 0 and proc.stdout.strip().endswith(b"ok")


def smallest_heap(code: str, lo: int = 1024, hi: int = 4 * 1024 * 1024, step: int = 16) -> int:
    if not runs_with(hi, code):
        raise RuntimeError(f"fails even with {hi} bytes of heap: {code}")
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if runs_with(mid, code):
            hi = mid
        else:
            lo = mid
    return hi


def smallest_heap_words(code: str, lo: int = 1, hi: int = 8192) -> int:
    """The same bisection in -X heapsize=NwK units: a 32-bit board's heap of N KiB (rounded
    up to the KiB)."""
    if not runs_with(hi * 1024, code, words=True):
        raise RuntimeError(f"fails even with {hi}wK: {code}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if runs_with(mid * 1024, code, words=True):
            hi = mid
        else:
            lo = mid
    return hi


def job(name: str, rows: int = 0, fmt: str = "cbor", port: int = 0, api_key: str = "") -> str:
    return (
        f"import bench_heap; bench_heap.run({name!r}, {rows}, {fmt!r}, '127.0.0.1', {port}, "
        f"{api_key!r})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    parser.add_argument("--naive-rows", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    compile_for_host()
    results: dict[str, int] = {}
    results["empty"] = smallest_heap(job("empty"))
    results["bare"] = smallest_heap("print('ok')")
    results["import"] = smallest_heap(job("import"))
    modules = ["ei_errors", "ei_ingest", "ei_cbor", "ei_json", "ei_float", "ei_http", "ei_tls"]
    for mod in modules:
        results[f"import {mod}"] = smallest_heap(f"import {mod}\nprint('ok')")
    with ServerRun() as server:
        for fmt in ("cbor", "json"):
            for rows in args.rows:
                results[f"dump {fmt} {rows}"] = smallest_heap(job("dump", rows, fmt))
                results[f"upload {fmt} {rows}"] = smallest_heap(
                    job("upload", rows, fmt, server.port, server.api_key)
                )
                results[f"dump-client {fmt} {rows}"] = smallest_heap(
                    job("dump-client", rows, fmt, server.port, server.api_key)
                )
                results[f"upload32 {fmt} {rows}"] = smallest_heap_words(
                    job("upload", rows, fmt, server.port, server.api_key)
                )
                print(fmt, rows, results[f"dump {fmt} {rows}"], results[f"upload {fmt} {rows}"])
        for rows in args.naive_rows:
            code = (
                f"import bench_naive; bench_naive.run({rows}, '127.0.0.1', {server.port}, "
                f"{server.api_key!r})"
            )
            try:
                results[f"naive {rows}"] = smallest_heap(code, hi=16 * 1024 * 1024)
                results[f"naive32 {rows}"] = smallest_heap_words(code)
            except RuntimeError:
                results[f"naive {rows}"] = results[f"naive32 {rows}"] = -1
    lines = [
        "Smallest `-X heapsize` (bytes, 16-byte resolution) at which the micropython unix port "
        "(64-bit) still completes the job; lib/ compiled to .mpy. Rows are 3-axis int16 "
        "(6 bytes each in the buffer); files signed HS256; uploads go over HTTP to the local "
        "server on loopback.",
        "",
        f"- interpreter running the (empty) benchmark job: {results['empty']:,} bytes",
        f"- `import ei_ingest`: {results['import']:,} bytes",
        "",
        "| job | format | "
        + " | ".join(f"{r:,} rows" for r in args.rows)
        + " | growth per extra row |",
        "|---|---|" + "---|" * len(args.rows) + "---|",
    ]
    for what in ("dump", "upload"):
        for fmt in ("cbor", "json"):
            vals = [results[f"{what} {fmt} {r}"] for r in args.rows]
            per_row = (vals[-1] - vals[0]) / (args.rows[-1] - args.rows[0]) if len(vals) > 1 else 0
            cells = " | ".join(f"{v:,}" for v in vals)
            lines.append(f"| {what} | {fmt} | {cells} | {per_row:.2f} bytes |")
    lines += [
        "",
        "The naive way (rows as lists, `json.dumps` twice, `requests.post`) on the same rows, "
        "next to ei_ingest's upload (JSON):",
        "",
        "| rows | naive upload | ei_ingest upload (JSON) | ei_ingest upload (CBOR) |",
        "|---|---|---|---|",
    ]
    for r in args.naive_rows:
        naive = results[f"naive {r}"]
        cell = f"{naive:,}" if naive > 0 else "does not fit 16 MB"
        lines.append(
            f"| {r:,} | {cell} | {results.get(f'upload json {r}', 0):,} | "
            f"{results.get(f'upload cbor {r}', 0):,} |"
        )
    lines += [
        "",
        "Which recording lengths fit a 32-bit board: the same uploads with `-X heapsize=NwK`, "
        "which emulates the footprint of a 32-bit port's N KiB heap (an ESP32 without PSRAM "
        "has about 110 KiB of Python heap, a Pico W about 160 KiB, before TLS):",
        "",
        "| rows | upload JSON | upload CBOR | naive upload |",
        "|---|---|---|---|",
    ]
    for r in args.rows:
        n32 = results.get(f"naive32 {r}")
        naive_cell = "-" if n32 is None else (f"{n32} KiB" if n32 > 0 else "does not fit")
        lines.append(
            f"| {r:,} | {results[f'upload32 json {r}']} KiB | {results[f'upload32 cbor {r}']} KiB "
            f"| {naive_cell} |"
        )
    lines += [
        "",
        "What uploading costs beyond dump(): *all* is upload minus dump (the uploader's code, "
        "~2x smaller as .mpy on a 32-bit board, plus its buffers and the request in flight); "
        "*while sending* is upload minus a dump made with the Client already loaded and "
        "constructed (socket, request head, answer).",
        "",
        "| format | rows | all | while sending |",
        "|---|---|---|---|",
    ]
    for fmt in ("cbor", "json"):
        for r in args.rows:
            up = results[f"upload {fmt} {r}"]
            extra = up - results[f"dump {fmt} {r}"]
            sending = up - results[f"dump-client {fmt} {r}"]
            lines.append(f"| {fmt} | {r:,} | {extra:,} | {sending:,} |")
    lines += [
        "",
        "Heap taken by importing each module (.mpy) together with what it imports, over the "
        f"bare interpreter's {results['bare']:,} bytes:",
        "",
    ]
    for mod in modules:
        lines.append(f"- `{mod}`: {results[f'import {mod}'] - results['bare']:,} bytes")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section("heap", "Heap: `make bench` (tools/bench/heap.py)", text)


if __name__ == "__main__":
    main()
