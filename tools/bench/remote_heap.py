"""Remote management heap benchmark on the 32-bit MicroPython builds (../shared/micropython32).

For each job of tools/bench/bench_remote.py, the smallest `-X heapsize` (bytes, 16-byte steps)
at which it still prints "ok", with lib/, the sim board and the workload compiled to .mpy by
board32's own mpy-cross (-march=x86). The local server runs for real (ingestion + remote
management); for the "remote" job a trigger thread waits until the board's hello registered
it, then asks for a 1,000-row sample through the server's Studio API (POST start-sampling).

    python tools/bench/remote_heap.py [--tls] [--binary board32|board32idf] [--frozen] [--write]

board32 keeps mbedTLS's buffers in the MicroPython heap, like a Pico W; board32idf outside it,
like an ESP32. --frozen first builds that binary with lib/ frozen into it (build.sh --frozen,
a few minutes): the library's code then takes no heap, as in a firmware built with it.
--write puts the figures in a "remote-..." section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # tools/bench, tools/
import remote as studio  # noqa: E402 (tools/remote.py: Studio's calls)
from common import ROOT, update_section  # noqa: E402
from local_server import LocalServer  # noqa: E402
from testca import BenchCA, make_ca  # noqa: E402

BOARD32 = ROOT.parent / "shared" / "micropython32"
BUILD = ROOT / "build" / "board32"
API_KEY = "ei_bench_remote_key"
HMAC_KEY = "bench-remote-hmac"
DEVICE = "02:e1:5a:00:00:01"  # the sim board's Wi-Fi MAC
VERBOSE = False


def compile_all(board32: Path) -> None:
    if BUILD.exists():
        shutil.rmtree(BUILD)
    cross = str(board32 / "bin" / "mpy-cross")
    sources = [(p, p.relative_to(ROOT / "lib")) for p in (ROOT / "lib").rglob("*.py")]
    sources += [(p, Path(p.name)) for p in (ROOT / "boards" / "sim").glob("*.py")]
    sources.append((Path(__file__).parent / "bench_remote.py", Path("bench_remote.py")))
    for src, rel in sources:
        out = BUILD / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([cross, "-march=x86", "-o", str(out), str(src)], check=True)


class Studio:
    """The local server (tools/local_server.py: ingestion and remote management on free
    loopback ports) with Studio's calls as tools/remote.py makes them."""

    def __init__(self, data: Path, ca: BenchCA | None) -> None:
        extra = ["--tls-cert", str(ca.cert_pem), "--tls-key", str(ca.key_pem)] if ca else []
        self.server = LocalServer(data, API_KEY, HMAC_KEY, extra).__enter__()
        self.port, self.ws_port = self.server.port, self.server.remote_port
        cafile = None
        if ca is not None:  # tools/remote.py takes a PEM CA file
            cafile = data.parent / "ca.pem"
            cafile.write_text(ssl.DER_cert_to_PEM_cert(ca.ca_der.read_bytes()))
        self.api = studio.Api(f"{'https' if ca else 'http'}://127.0.0.1:{self.port}", API_KEY,
                              None if cafile is None else str(cafile), "1")  # fmt: skip

    def connected(self) -> bool:
        devices = self.api.call("GET", "/devices")["devices"]
        return any(d["deviceId"] == DEVICE and d["remote_mgmt_connected"] for d in devices)

    def start_sampling(self) -> None:
        body = {"label": "bench", "lengthMs": 1000, "intervalMs": 1, "category": "training",
                "sensor": "Accelerometer"}  # fmt: skip
        self.api.call("POST", f"/device/{DEVICE}/start-sampling", body)

    def stop(self) -> None:
        self.server.__exit__(None, None, None)


def build_frozen(board32: Path, variant: str) -> Path:
    """board32 (or board32idf) with a copy of lib/ frozen in; returns the binary."""
    out = ROOT / "build" / "board32-frozen"
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(ROOT / "lib", src / "lib")
    manifest = out / "manifest.py"
    manifest.write_text(f"freeze({str(src / 'lib')!r})\n")
    subprocess.run(
        [str(board32 / "build.sh"), "--frozen", str(manifest), "--out", str(out), "--variant",
         variant], check=True,
    )  # fmt: skip
    return out / f"micropython-{variant}-frozen"


def run_once(binary: Path, heap: int, job: str, server: Studio, ca: Path | None) -> bool:
    while server.connected():  # the previous run's session must be gone first
        time.sleep(0.05)
    scheme = "wss" if ca else "ws"
    code = (
        f"import bench_remote; bench_remote.run({job!r}, '127.0.0.1', {server.port}, "
        f"{API_KEY!r}, {HMAC_KEY!r}, '{scheme}://127.0.0.1:{server.ws_port}', "
        f"{str(ca) if ca else None!r})"
    )
    path = f".frozen:{BUILD}" if binary.name.endswith("-frozen") else str(BUILD)
    env = dict(os.environ, MICROPYPATH=path)
    proc = subprocess.Popen(
        [str(binary), "-X", f"heapsize={heap}", "-c", code], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    if job.startswith("remote"):
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if server.connected():
                server.start_sampling()
                break
            time.sleep(0.02)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    lines = out.decode(errors="replace").strip().splitlines()
    ok = proc.returncode == 0 and bool(lines) and lines[-1] == "ok"
    if VERBOSE:
        print(f"  {job} {heap}: {'ok' if ok else ' | '.join(lines[-3:])}", flush=True)
    return ok


def smallest(binary: Path, job: str, server: Studio, ca: Path | None, repeat: int) -> int:
    """Bisection to 16 bytes; a heap size passes only if `repeat` runs in a row pass. With TLS
    the peak is not exactly repeatable (the handshake's allocations vary from run to run), so
    the figure is the smallest heap that was enough every time, not once."""

    def passes(heap: int) -> bool:
        return all(run_once(binary, heap, job, server, ca) for _ in range(repeat))

    lo, hi = 4096, 1 << 20
    if not passes(hi):
        raise RuntimeError(f"{job} fails even with {hi} bytes")
    while hi - lo > 16:
        mid = (lo + hi) // 2 // 16 * 16
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--board32", type=Path, default=BOARD32)
    ap.add_argument("--binary", default="board32", choices=["board32", "board32idf"])
    ap.add_argument("--tls", action="store_true", help="wss:// + https:// (default ws + http)")
    ap.add_argument("--frozen", action="store_true", help="lib/ frozen into the binary")
    ap.add_argument("--reuse", action="store_true", help="--frozen: reuse the last build")
    ap.add_argument("--jobs", nargs="+", default=["plain", "idle", "remote"])
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run")
    ap.add_argument("--repeat", type=int, default=3, help="runs that must all pass (3)")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    compile_all(args.board32)
    binary = args.board32 / "bin" / f"micropython-{args.binary}"
    if args.frozen:
        binary = ROOT / "build" / "board32-frozen" / f"micropython-{args.binary}-frozen"
        if not args.reuse or not binary.exists():
            binary = build_frozen(args.board32, args.binary)
    results = {}
    with tempfile.TemporaryDirectory(prefix="ei-remote-bench-") as tmp:
        ca = make_ca(Path(tmp) / "ca") if args.tls else None
        server = Studio(Path(tmp) / "data", ca)
        try:
            for job in args.jobs:
                der = ca.ca_der if ca else None
                results[job] = smallest(binary, job, server, der, args.repeat)
                print(f"{binary.name} {'wss+https' if args.tls else 'ws+http'} {job}: "
                      f"{results[job]:,} bytes", flush=True)  # fmt: skip
        finally:
            server.stop()
    if args.write:
        name = f"remote-{binary.name}-{'tls' if args.tls else 'plain'}"
        body = "\n".join(f"- {job}: {n:,} bytes" for job, n in results.items())
        update_section(name, f"Remote management heap, {binary.name}, "
                       f"{'wss+https' if args.tls else 'ws+http'}", body)  # fmt: skip


if __name__ == "__main__":
    main()
