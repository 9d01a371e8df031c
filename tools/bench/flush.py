"""Flush benchmark (issue 19): a spool of recordings (1,000 rows of 3-axis int16 each) sent over
HTTPS, one connection and TLS handshake per file (keep_alive=False, the way before) against one
kept connection for the whole flush.

Time: in the 64-bit micropython interpreter (lib/ as .mpy), fastest of several interleaved
rounds, to a TLS sink that answers at once (the client's own cost: what a board pays, where a
handshake is seconds of CPU) and to the local ingestion server (which validates and fsyncs
every file, and so sets a floor that no client can go under). Heap: the smallest -X heapsize
for putting and flushing 10 files, on the 32-bit interpreters when present (board32idf: TLS
outside the heap, as on an ESP32; board32: inside, as on a Pico W).

usage: python tools/bench/flush.py [--files 100] [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import re
import ssl
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import heapkit as hk  # noqa: E402
from common import API_KEY, ServerRun, SinkServer, update_section  # noqa: E402
from testca import make_ca  # noqa: E402


def timed(interp: hk.Interp, files: int, port: int, ca: Path, keep: bool, base: Path) -> int:
    code = hk.job("flush", files, "127.0.0.1", port, API_KEY, str(ca), int(keep), str(base))
    proc = hk.run(interp, 8 << 20, code, hk.default_path(interp))
    out = proc.stdout.decode(errors="replace")
    m = re.search(r"^ms (\d+)$", out, re.M)
    if not hk.succeeds(proc) or m is None:
        raise RuntimeError(f"flush job failed:\n{out[-2000:]}{proc.stderr.decode()[-2000:]}")
    return int(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--heap-files", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ei-flush-") as tmp:
        base = Path(tmp)
        ca = make_ca(base / "ca")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.cert_pem, ca.key_pem)
        unix = hk.unix64()
        hk.compile_all(unix)
        (base / "spools").mkdir()
        times: dict[tuple[str, bool], int] = {}
        with (
            SinkServer(tls=context, keep_alive=True) as sink,
            ServerRun(ca.cert_pem, ca.key_pem) as server,
        ):
            for _ in range(args.repeat):
                for target, port in (("sink", sink.port), ("server", server.port)):
                    for keep in (False, True):
                        ms = timed(unix, args.files, port, ca.ca_der, keep, base / "spools")
                        key = (target, keep)
                        times[key] = min(times.get(key, ms), ms)
                        print(target, "keep-alive" if keep else "per file", ms, "ms", flush=True)
            heaps: dict[tuple[str, bool], int] = {}
            for interp in [i for i in hk.interpreters() if i.name != "unix64"]:
                hk.compile_all(interp)
                for keep in (False, True):
                    code = hk.job(
                        "flush", args.heap_files, "127.0.0.1", sink.port, API_KEY,
                        str(ca.ca_der), int(keep), str(base / "spools"),
                    )  # fmt: skip
                    heaps[(interp.name, keep)] = hk.smallest_heap(interp, code).heapsize
                    print(interp.name, keep, heaps[(interp.name, keep)], flush=True)
    lines = [
        f"A spool of {args.files} recordings (1,000 rows of 3-axis int16, about 3.3 KB of CBOR "
        "each) flushed over HTTPS (RSA-2048 chain, certificate checked) from the micropython "
        f"interpreter; fastest of {args.repeat} interleaved rounds.",
        "",
        "| to | one connection per file | one kept connection | faster |",
        "|---|---|---|---|",
    ]
    for target, what in (
        ("sink", "a TLS sink (the client's own cost)"),
        ("server", "the local ingestion server (fsyncs every file)"),
    ):
        old, new = times[(target, False)], times[(target, True)]
        lines.append(f"| {what} | {old:,} ms | {new:,} ms | {old / max(new, 1):.1f}x |")
    if heaps:
        lines += [
            "",
            f"Heap to put and flush {args.heap_files} files (smallest `-X heapsize`, bytes): "
            "the same whether the connection is kept or not (one file's stage, not N files').",
            "",
            "| interpreter | one connection per file | one kept connection |",
            "|---|---|---|",
        ]
        for name in sorted({n for n, _ in heaps}):
            lines.append(f"| {name} | {heaps[(name, False)]:,} | {heaps[(name, True)]:,} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section("flush", "Flush: `make bench` (tools/bench/flush.py)", text)


if __name__ == "__main__":
    main()
