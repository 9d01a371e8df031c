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
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, update_section  # noqa: E402

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


def make_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA (DER, for the board) and a 127.0.0.1 server certificate (RSA 2048)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    skey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(skey.public_key()).serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    der, pem, kpem = directory / "ca.der", directory / "cert.pem", directory / "key.pem"
    der.write_bytes(ca.public_bytes(serialization.Encoding.DER))
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kpem.write_bytes(
        skey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return der, pem, kpem


class Server:
    """tools/ingest_server.py on free loopback ports: ingestion and remote management."""

    def __init__(self, data: Path, tls: tuple[Path, Path, Path] | None) -> None:
        cmd = [sys.executable, str(ROOT / "tools" / "ingest_server.py"), "--port", "0",
               "--data-dir", str(data), "--api-key", API_KEY, "--hmac-key", HMAC_KEY]  # fmt: skip
        if tls:
            cmd += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        self.ws_port = self.port = 0
        while not self.port:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("the server did not start")
            m = re.search(r"remote management listening on wss?://[^:]+:(\d+)", line)
            self.ws_port = int(m.group(1)) if m else self.ws_port
            m = re.search(r"ingest_server listening on https?://[^:]+:(\d+)", line)
            self.port = int(m.group(1)) if m else 0
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # drain the log
        self.context = None
        if tls:
            import ssl

            self.context = ssl.create_default_context()
            self.context.load_verify_locations(cadata=tls[2].read_bytes())

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        scheme = "https" if self.context else "http"
        req = urllib.request.Request(
            f"{scheme}://127.0.0.1:{self.port}/v1/api/1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            return dict(json.loads(exc.read()))

    def connected(self) -> bool:
        devices = self.api("GET", "/devices").get("devices", [])
        return any(d["deviceId"] == DEVICE and d["remote_mgmt_connected"] for d in devices)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


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


def run_once(binary: Path, heap: int, job: str, server: Server, ca: Path | None) -> bool:
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
                body = {"label": "bench", "lengthMs": 1000, "intervalMs": 1,
                        "category": "training", "sensor": "Accelerometer"}  # fmt: skip
                server.api("POST", f"/device/{DEVICE}/start-sampling", body)
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


def smallest(binary: Path, job: str, server: Server, ca: Path | None, repeat: int) -> int:
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
        ca = tls = None
        if args.tls:
            ca, pem, key = make_cert(Path(tmp))
            tls = (pem, key, ca)
        server = Server(Path(tmp) / "data", tls)
        try:
            for job in args.jobs:
                results[job] = smallest(binary, job, server, ca, args.repeat)
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
