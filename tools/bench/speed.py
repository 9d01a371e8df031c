"""Speed and bytes-on-the-wire benchmark, with the naive way measured in the same run.

On the micropython interpreter (lib/ compiled to .mpy for x64, so the viper kernels run as on a
board): rows per second for encode+sign (both passes, to a null stream), encode+sign+send (the
whole HTTP upload to a loopback sink) and the upload to the local server, for 3-axis raw int16,
int16 with a scale (the IMU path) and float32 rows, JSON and CBOR; the naive baseline (rows as
lists, json.dumps twice, requests.post) in the same run: int rows for raw int16, float rows for
scaled and float values. Each figure is the fastest of several interleaved rounds. Also bytes on
the wire per row, the code size of the row codecs, and the CPU cost per row of each sim source.

usage: python tools/bench/speed.py [--rows 10000] [--repeat 7] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    ServerRun,
    SinkServer,
    micropython,
    mpy_cross,
    update_section,
)
from heap import BUILD, compile_for_host  # noqa: E402

VALUES = {"h": "raw int16", "s": "int16 with scale", "f": "float32"}
# The row codecs and their value kernels: what a board loads to encode rows.
CODE = ("ei_cbor", "ei_json", "ei_fixed", "ei_f32cbor", "ei_f32text", "ei_float")
MP32_CROSS = ROOT.parent / "shared" / "micropython32" / "bin" / "mpy-cross"


def code_sizes() -> list[str]:
    """.mpy bytes of the row codecs per arch: the code a board copies into its heap on import
    (viper machine code included on rp2). x86 is the 32-bit interpreter's emitter."""
    arches = [("xtensawin", mpy_cross()), ("armv6m", mpy_cross())]
    if MP32_CROSS.exists():
        arches.append(("x86", str(MP32_CROSS)))
    lines = [
        "| module | loaded for | " + " | ".join(a for a, _ in arches) + " |",
        "|---|---|" + "---|" * len(arches),
    ]
    used = {
        "ei_cbor": "CBOR files",
        "ei_json": "JSON files",
        "ei_fixed": "scaled readings in JSON, the Forwarder",
        "ei_f32cbor": "scaled readings and floats in CBOR",
        "ei_f32text": "floats in JSON",
        "ei_float": "value checks, float text beyond the kernels",
    }
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for arch, cross in arches:
            for mod in CODE:
                out = Path(tmp) / f"{arch}-{mod}.mpy"
                cmd = [cross, f"-march={arch}", "-o", str(out), str(ROOT / "lib" / f"{mod}.py")]
                subprocess.run(cmd, check=True)
                sizes[arch, mod] = out.stat().st_size
    for mod in CODE:
        cells = " | ".join(f"{sizes[arch, mod]:,}" for arch, _ in arches)
        lines.append(f"| `{mod}` | {used[mod]} | {cells} |")
    return lines


def mp(code: str) -> list[list[str]]:
    # The sim's socket refuses until its Wi-Fi is joined; a benchmark measures sockets as such.
    env = dict(os.environ, MICROPYPATH=f"{BUILD}:boards/sim:.frozen", EI_SIM_SOCKETS="always")
    proc = subprocess.run(
        [micropython(), "-X", "heapsize=8m", "-c", code],
        cwd=ROOT, env=env, capture_output=True, timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{code}\n{proc.stdout.decode()}\n{proc.stderr.decode()}")
    return [line.split() for line in proc.stdout.decode().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    compile_for_host()
    n = args.rows
    rate: dict[str, float] = {}
    size: dict[str, int] = {}
    with ServerRun() as server, SinkServer() as sink:
        ingest = f"{server.port}, {server.api_key!r}"
        null = f"{sink.port}, 'k'"
        jobs: dict[str, str] = {}
        for tc in ("h", "f"):
            jobs[f"naive-encode {tc}"] = f"naive_encode({n}, {tc!r})"
            jobs[f"naive-sink {tc}"] = f"naive_upload({n}, {tc!r}, {null})"
            jobs[f"naive-upload {tc}"] = f"naive_upload({n}, {tc!r}, {ingest})"
        for values in VALUES:
            for fmt in ("cbor", "json"):
                jobs[f"encode {fmt} {values}"] = f"encode({n}, {fmt!r}, {values!r})"
                jobs[f"sink {fmt} {values}"] = f"upload({n}, {fmt!r}, {values!r}, {null})"
                jobs[f"upload {fmt} {values}"] = f"upload({n}, {fmt!r}, {values!r}, {ingest})"
        # Rounds of every job once, so each figure samples the whole run's load; the fastest
        # of the rounds, since other work on the machine only ever slows a run down.
        times: dict[str, list[float]] = {key: [] for key in jobs}
        for _ in range(args.repeat):
            for key, call in jobs.items():
                line = mp(f"import bench_speed as b; b.{call}")[-1]
                times[key].append(float(line[4]))
                if len(line) > 5:
                    name = key.split(" ", 1)[1] if key.startswith("encode") else "naive " + key[-1]
                    size[name] = int(line[5])
        for key, us in times.items():
            rate[key] = n / min(us) * 1e6
    small = {fmt: int(mp(f"import bench_speed as b; b.encode(1000, {fmt!r}, 'h')")[-1][5])
             for fmt in ("cbor", "json")}  # fmt: skip
    sampling = mp("import bench_sampling; bench_sampling.run(2000)")

    lines = [
        f"{n:,} rows of 3 axes, the fastest of {args.repeat} rounds (each round runs every job "
        "once, so all figures sample the same stretch of time), on the micropython unix port with "
        "lib/ as .mpy (x64, viper kernels active), on a machine shared with other work: compare "
        "the ratios, taken in the same run. *encode+sign*: both passes "
        "of a signed file to a null stream; *encode+sign+send*: the whole HTTP upload to a "
        "loopback server that reads the body and answers at once (the client's own cost); "
        "*upload*: the same to the local ingestion server (its validation, hashing and fsync "
        "included). Values: raw int16 counts (-2048..2047); the same counts with scale "
        "9.80665/16384 (an MPU6050 at 2 g, in m/s2); float32 (counts * 0.01). The naive way: rows "
        "as lists, `json.dumps` twice for the signature, `requests.post` (JSON only: MicroPython "
        "has no CBOR encoder built in), with int rows for raw int16 and float rows (counts * "
        "0.01, short text) for scaled and float32 values.",
        "",
        "| values | job | naive (rows/s) | JSON (rows/s) | x naive | CBOR (rows/s) | x naive |",
        "|---|---|---|---|---|---|---|",
    ]
    for values, what in VALUES.items():
        naive = "h" if values == "h" else "f"
        for job in ("encode", "sink", "upload"):
            base = rate[f"naive-{job} {naive}"]
            j, c = rate[f"{job} json {values}"], rate[f"{job} cbor {values}"]
            name = {"encode": "encode+sign", "sink": "encode+sign+send", "upload": "upload"}[job]
            lines.append(
                f"| {what} | {name} | {base:,.0f} | {j:,.0f} | {j / base:.1f} | {c:,.0f} | "
                f"{c / base:.1f} |"
            )
    lines += [
        "",
        "Bytes on the wire per row (file size; per-row figure from 1,000 and "
        f"{n:,} rows), against the raw buffer's 6 bytes per int16 row (12 per float row):",
        "",
        "| values | naive JSON | JSON | CBOR | CBOR per int16 value |",
        "|---|---|---|---|---|",
    ]
    per_row = {fmt: (size[f"{fmt} h"] - small[fmt]) / (n - 1000) for fmt in ("cbor", "json")}
    lines.append(
        f"| int16 | {size['naive h'] / n:.2f} | {per_row['json']:.2f} | {per_row['cbor']:.2f} | "
        f"{per_row['cbor'] / 3:.2f} |"
    )
    lines.append(
        f"| int16 with scale | {size['naive f'] / n:.2f} | {size['json s'] / n:.2f} | "
        f"{size['cbor s'] / n:.2f} | - |"
    )
    lines.append(
        f"| float32 | {size['naive f'] / n:.2f} | {size['json f'] / n:.2f} | "
        f"{size['cbor f'] / n:.2f} | - |"
    )
    lines += [
        "",
        "Code of the row codecs and value kernels (.mpy bytes per arch; a board copies it into "
        "its heap when the module is imported, so each loads only for the files that need it):",
        "",
        *code_sizes(),
        "",
        "Sampling-loop cost: CPU microseconds per row of `read_into` on the sim board "
        "(register models in Python, so this is the library's side of the cost):",
        "",
    ]
    for row in sampling:
        if row[0] == "sample":
            lines.append(f"- {row[1]}: {float(row[3]) / float(row[2]):.1f} µs per row")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section("speed", "Speed and bytes: `make bench` (tools/bench/speed.py)", text)


if __name__ == "__main__":
    main()
