"""Heap benchmark: the smallest `-X heapsize` at which each job still succeeds, per interpreter.

    python tools/bench/heap.py            # `make bench`: every table, into build/bench/
    python tools/bench/heap.py --report   # `make heap-report`: key jobs at 1,000 rows, the
                                          # per-module breakdown and .mpy sizes, printed only

Interpreters: the 64-bit PyPI micropython always; board32 / board32idf (32-bit, tools/bench/
heapkit.py) when $MICROPYTHON32 has them; their frozen builds (lib/ and the sim board frozen, a
ROMFS image as frozen bytes) when `make heap-frozen` has built them into build/mp32/bin.
lib/ and the jobs are .mpy (a board imports .mpy, so the compiler's peak is not counted), rows
are 3-axis int16, files signed HS256, uploads go to the local ingestion server on loopback
(HTTPS: a throwaway RSA-2048 CA, certificate checked). Bisection is exact and repeatable.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import heapkit as hk  # noqa: E402
from common import ROOT, ServerRun, mpy_cross, update_section  # noqa: E402
from testca import BenchCA, make_ca  # noqa: E402

# speed.py compiles lib/ for the 64-bit interpreter through these two names.
BUILD = ROOT / "build" / "bench-mpy"
RESULTS = ROOT / "build" / "bench"
ROWS = (100, 1000, 10000, 100000)
ARCHS = ("x86", "xtensawin", "armv6m", "x64")
HOST = "127.0.0.1"


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


class Servers:
    """The local ingestion server over HTTP and over HTTPS (a throwaway CA), for all jobs."""

    def __init__(self, tmp: Path) -> None:
        self.ca: BenchCA = make_ca(tmp / "ca")
        self.http = ServerRun()
        self.https = ServerRun(self.ca.cert_pem, self.ca.key_pem)

    def __enter__(self) -> Servers:
        self.http.__enter__()
        self.https.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.https.__exit__(None, None, None)
        self.http.__exit__(None, None, None)

    def upload(self, rows: int, fmt: str = "cbor", tls: bool = False) -> str:
        if tls:
            s = self.https
            return hk.job("upload", rows, fmt, HOST, s.port, s.api_key, str(self.ca.ca_der))
        return hk.job("upload", rows, fmt, HOST, self.http.port, self.http.api_key)

    def naive(self, rows: int) -> str:
        return hk.job("naive", rows, HOST, self.http.port, self.http.api_key)

    def motion_dir(self, tmp: Path) -> Path:
        """config.py (HTTPS to the local server, checked with the CA), board.py and the
        examples' helper uplink.py, as source: what `make deploy` puts on a board."""
        d = tmp / "motion"
        d.mkdir(exist_ok=True)
        s = self.https
        (d / "config.py").write_text(
            f"WIFI_SSID = 'lab'\nWIFI_PASSWORD = 'pw'\nAPI_KEY = {s.api_key!r}\n"
            f"HMAC_KEY = 'bench-hmac-key'\nHOST = {HOST!r}\nPORT = {s.port}\nTLS = True\n"
            f"CA = {str(self.ca.ca_der)!r}\nLABEL = 'idle'\n"
        )
        shutil.copy(ROOT / "boards" / "sim" / "board.py", d / "board.py")
        shutil.copy(ROOT / "examples" / "uplink.py", d / "uplink.py")  # deploy copies it too
        return d


def romfs_job(interp: hk.Interp, job: str) -> str:
    return f"import romfs_mount\nromfs_mount.mount('frozen', 'jobs')\n{job}"


def _cfg_in(interp: hk.Interp, cfg: Path) -> str:
    """config.py and board.py copied into the interpreter's build folder: a short relative
    path, as on a board ("/config.py")."""
    dest = interp.build / "cfg"
    shutil.copytree(cfg, dest, dirs_exist_ok=True)
    return "cfg"


def motion(interp: hk.Interp, cfg: Path, source: bool, lib_frozen: bool = False) -> hk.Measure:
    """examples/motion.py on the sim board: from source (as `mpremote run`) or imported.
    The sim's machine/network/ntptime come from .frozen in the frozen builds (as a board's
    firmware has them), else from .mpy files (they then count: see the breakdown)."""
    lib = "" if lib_frozen else "lib:"
    sim = "" if interp.frozen else ":simboard"
    path = f"{_cfg_in(interp, cfg)}:{lib}jobs{sim}:.frozen"
    code = hk.job("motion", str(ROOT / "examples" / "motion.py") if source else "", "", 0)
    return hk.smallest_heap(interp, code, path=path, confirm=3)


MOTION_STEPS = (
    ("machine", "sim board: machine (I2C, pins, register models)"),
    ("network", "sim board: network"),
    ("ntptime", "sim board: ntptime"),
    ("board", "board.py (source, compiled on the board)"),
    ("config", "config.py (source)"),
    ("ei_sampler", "ei_sampler"),
    ("uplink", "uplink.py (source: the examples' Wi-Fi, clock and upload helper)"),
    ("sensors.mpu6050", "sensors.mpu6050 (with sensors/__init__)"),
    ("ei_net", "ei_net (with ei_time)"),
    ("ei_ingest", "ei_ingest (Recording and encoder)"),
    ("ei_http", "ei_http (with ei_options, ei_wire)"),
    ("ei_cbor", "ei_cbor"),
    ("ei_tls", "ei_tls"),
)


def motion_breakdown(interp: hk.Interp, cfg: Path) -> list[tuple[str, int]]:
    """What each module motion.py loads adds to the heap, in the order it loads them (lib/
    as .mpy; on a frozen build the sim's modules are frozen, as a board's firmware has them)."""
    path = f"{_cfg_in(interp, cfg)}:lib:jobs:.frozen"
    prev = hk.smallest_heap(interp, hk.job("empty"), path=path).heapsize
    steps = []
    names = [m for m, _ in MOTION_STEPS]
    for k, (_, label) in enumerate(MOTION_STEPS):
        now = hk.smallest_heap(interp, hk.job("import", *names[: k + 1]), path=path).heapsize
        # 0 when this import fits in the heap the steps before needed (it may even lower it:
        # the order of blocks changes what fits)
        steps.append((label, max(0, now - prev)))
        prev = max(prev, now)
    return steps


def crossover(measure: Callable[[str], hk.Measure], servers: Servers, hi: int = 2000) -> int:
    """The smallest row count at which ei_ingest's upload (CBOR, HTTP) needs no more heap than
    the naive way, by bisection over rows (the difference only grows with rows)."""

    def lib_wins(rows: int) -> bool:
        return measure(servers.upload(rows)).heapsize <= measure(servers.naive(rows)).heapsize

    if not lib_wins(hi):
        return -1
    lo = 1
    if lib_wins(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if lib_wins(mid):
            hi = mid
        else:
            lo = mid
    return hi


def upload_path_modules() -> list[str]:
    """lib/ modules an HTTPS CBOR upload loads, dependencies first: which ones from CPython
    running the same code path, their order from the module-level imports of each file."""
    code = (
        "import sys, ei_ingest\n"
        "ei_ingest.Client('k', 'h', 'T', host='127.0.0.1', port=9, tls=False)\n"
        "import ei_cbor, ei_tls\n"
        "print(' '.join(m for m in sys.modules if m.startswith('ei_')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT / "lib")},
    ).stdout.split()  # fmt: skip
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name not in loaded:
            return
        tree = ast.parse((ROOT / "lib" / f"{name}.py").read_text())
        for node in tree.body:  # module level only: what importing the module loads
            if isinstance(node, ast.Import):
                for alias in node.names:
                    visit(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module:
                visit(node.module)
        order.append(name)

    for name in ["ei_ingest", "ei_http", "ei_cbor", "ei_tls", *sorted(loaded)]:
        visit(name)
    return order


def mpy_sizes(interps: list[hk.Interp]) -> dict[str, dict[str, int]]:
    """Bytes of each lib/ module's .mpy per -march."""
    cross32 = next((i.mpy_cross for i in interps if i.march == "x86"), None)
    sizes: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in hk.lib_sources():
            name = src.relative_to(ROOT / "lib").with_suffix("").as_posix().replace("/", ".")
            row = sizes.setdefault(name, {})
            for arch in ARCHS:
                out = Path(tmp) / "m.mpy"
                cross = cross32 if arch == "x86" and cross32 else Path(mpy_cross())
                hk.mpy_cross(cross, arch, src, out)
                row[arch] = out.stat().st_size
    return sizes


def breakdown(interp: hk.Interp, order: list[str]) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Heap taken by importing each module alone (over the empty job), and step by step in
    upload-path order (each step: what the next module adds)."""
    empty = hk.smallest_heap(interp, hk.job("empty")).heapsize
    alone = {m: hk.smallest_heap(interp, hk.job("import", m)).heapsize - empty for m in order}
    steps = []
    prev = empty
    for k in range(1, len(order) + 1):
        now = hk.smallest_heap(interp, hk.job("import", *order[:k])).heapsize
        steps.append((order[k - 1], now - prev))
        prev = now
    return alone, steps


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 0:
        return "not reached"
    return f"{n:,}"


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


# ---------------------------------------------------------------------------------------------


def measure_all(report: bool) -> dict[str, object]:
    interps = hk.interpreters(frozen=not report)
    plain = [i for i in interps if not i.frozen]
    for i in interps:
        hk.compile_all(i)
    res: dict[str, object] = {"interpreters": [i.name for i in interps]}
    fig: dict[str, dict[str, int]] = {}
    usable: dict[str, dict[str, hk.Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="ei-heap-") as t, Servers(Path(t)) as servers:
        tmp = Path(t)
        cfg = servers.motion_dir(tmp)
        for i in interps:
            m: dict[str, hk.Measure] = {}

            def put(key: str, code: str, interp: hk.Interp = i, into: dict = m) -> None:
                into[key] = hk.smallest_heap(interp, code)
                print(f"  {interp.name:18} {key:24} {into[key].heapsize:>9,}", flush=True)

            print(f"{i.name}:", flush=True)
            if i.frozen:  # lib/ frozen, then lib/ from the ROMFS image
                for key, code in (
                    ("dump cbor 1000", hk.job("dump", 1000, "cbor")),
                    ("upload cbor 1000", servers.upload(1000)),
                    ("upload-tls cbor 1000", servers.upload(1000, tls=True)),
                ):
                    put(key, code)
                    put("romfs " + key, romfs_job(i, code))
                if not report:
                    m["motion run"] = motion(i, cfg, True)
                    m["motion run lib-frozen"] = motion(i, cfg, True, lib_frozen=True)
                    if i.name == "board32-frozen":
                        res["motion steps"] = motion_breakdown(i, cfg)
                usable[i.name] = m
                continue
            put("empty", hk.job("empty"))
            put("import ei_ingest", hk.job("import", "ei_ingest"))
            for fmt in ("cbor", "json"):
                put(f"dump {fmt} 1000", hk.job("dump", 1000, fmt))
                put(f"upload {fmt} 1000", servers.upload(1000, fmt))
            put("upload-tls cbor 1000", servers.upload(1000, tls=True))
            put("naive 1000", servers.naive(1000))
            if not report:
                for rows in ROWS:
                    put(f"dump cbor {rows}", hk.job("dump", rows, "cbor"))
                    put(f"upload cbor {rows}", servers.upload(rows))
                for rows in (100, 200, 10000):
                    put(f"naive {rows}", servers.naive(rows))
                m["motion run"] = motion(i, cfg, True)
                m["motion import"] = motion(i, cfg, False)
                res[f"crossover {i.name}"] = crossover(partial(hk.smallest_heap, i), servers)
                print(f"  {i.name:18} crossover {res[f'crossover {i.name}']}", flush=True)
            usable[i.name] = m
    for name, m in usable.items():
        fig[name] = {k: v.heapsize for k, v in m.items()}
    res["heapsize"] = fig
    res["free"] = {n: {k: v.free_needed for k, v in m.items()} for n, m in usable.items()}
    res["usable"] = {n: {k: v.usable for k, v in m.items()} for n, m in usable.items()}
    board = next((i for i in plain if i.name == "board32"), plain[0])
    order = upload_path_modules()
    alone, steps = breakdown(board, order)
    res["breakdown interp"] = board.name
    res["alone"] = alone
    res["steps"] = steps
    res["sizes"] = mpy_sizes(interps)
    return res


def tables(res: dict[str, object], report: bool) -> str:
    fig: dict[str, dict[str, int]] = res["heapsize"]  # type: ignore[assignment]
    free: dict[str, dict[str, int]] = res["free"]  # type: ignore[assignment]
    use: dict[str, dict[str, int]] = res["usable"]  # type: ignore[assignment]
    names = [n for n in fig if not n.endswith("-frozen")]
    frozen = [n for n in fig if n.endswith("-frozen")]
    cols = names + [f"{n} (lib frozen)" for n in frozen] + [f"{n[:-7]} ROMFS" for n in frozen]

    def cell(name: str, key: str) -> str:
        if name.endswith(" (lib frozen)"):
            return fmt_bytes(fig[name[: -len(" (lib frozen)")]].get(key))
        if name.endswith(" ROMFS"):
            return fmt_bytes(fig[name[: -len(" ROMFS")] + "-frozen"].get("romfs " + key))
        return fmt_bytes(fig[name].get(key))

    jobs = [
        ("interpreter + job runner", "empty"),
        ("`import ei_ingest`", "import ei_ingest"),
        ("fill + signed `dump()`, CBOR", "dump cbor 1000"),
        ("fill + signed `dump()`, JSON", "dump json 1000"),
        ("+ `Client.upload()` HTTP, CBOR", "upload cbor 1000"),
        ("+ `Client.upload()` HTTP, JSON", "upload json 1000"),
        ("+ `Client.upload()` HTTPS (cert checked), CBOR", "upload-tls cbor 1000"),
        ("the naive way (lists, `json.dumps`, POST)", "naive 1000"),
    ]
    out = [
        "Smallest `-X heapsize` in bytes (16-byte bisection) at which the job completes: "
        "1,000 rows of 3-axis int16, lib/ as .mpy. *unix64*: the PyPI interpreter (64-bit, "
        "32-byte GC blocks). *board32*: 32-bit, TLS buffers in the GC heap (like rp2); "
        "*board32idf*: 32-bit, TLS outside it (like ESP32). *lib frozen*: lib/ frozen into the "
        "binary; *ROMFS*: lib/ imported from a ROMFS image (`vfs.VfsRom`, the image frozen as "
        "bytes, outside the heap as a board's flash partition).",
        "",
        "| job | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for label, key in jobs:
        out.append(f"| {label} | " + " | ".join(cell(c, key) for c in cols) + " |")
    if not report:
        motion_cells = []
        for c in cols:
            if c.endswith(" ROMFS"):
                motion_cells.append("-")
            elif c.endswith(" (lib frozen)"):
                motion_cells.append(
                    fmt_bytes(fig[c[: -len(" (lib frozen)")]].get("motion run lib-frozen"))
                )
            else:
                motion_cells.append(fmt_bytes(fig[c].get("motion run")))
        out.append(
            "| `examples/motion.py` as a user runs it (200 rows, HTTPS) | "
            + " | ".join(motion_cells)
            + " |"
        )
        out.append(
            "| rows from which ei_ingest's upload needs less heap than the naive way | "
            + " | ".join(fmt_bytes(res.get(f"crossover {c}")) if c in names else "-" for c in cols)  # type: ignore[arg-type]
            + " |"
        )
    out += [
        "",
        "Free heap each job needs before it starts (`gc.mem_free()` after `gc.collect()`; "
        "the same runs):",
        "",
        "| job | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, key in jobs[1:]:
        out.append(f"| {label} | " + " | ".join(fmt_bytes(free[n].get(key)) for n in names) + " |")
    if not report:
        out += [
            "",
            "Per row count (CBOR). *Beyond the buffer*: how much more usable heap (GC tables "
            "excluded) 100,000 rows need than 1,000, minus the 594,000 bytes of their buffer "
            "(6 bytes a row); 0 or less means the buffer is all that grows:",
            "",
        ]
        out.append(
            "| interpreter | job | "
            + " | ".join(f"{r:,} rows" for r in ROWS)
            + " | beyond the buffer |"
        )
        out.append("|---|---|" + "---|" * (len(ROWS) + 1))
        for n in names:
            for what in ("dump", "upload"):
                vals = [fig[n][f"{what} cbor {r}"] for r in ROWS]
                grow = use[n][f"{what} cbor 100000"] - use[n][f"{what} cbor 1000"] - 99000 * 6
                out.append(
                    f"| {n} | {what} | " + " | ".join(f"{v:,}" for v in vals) + f" | {grow:,} |"
                )
            naive = [fig[n].get(f"naive {r}") for r in ROWS]
            out.append(f"| {n} | naive | " + " | ".join(fmt_bytes(v) for v in naive) + " | - |")
        out += [
            "",
            "`examples/motion.py` (Wi-Fi, NTP, MPU6050, 2 s at 100 Hz = 200 rows of 6 axes, "
            "HTTPS to the local server with the certificate checked) on the sim board: *run*: "
            "the script compiled on the board as `mpremote run` does, board.py and config.py "
            "from source; *import*: motion.py precompiled. On the plain binaries the sim's "
            "machine/network/ntptime are .mpy files in the heap (a board has them in "
            "firmware); the frozen builds carry them frozen, which is the board's case "
            "(their objects, such as the sim's register models, still count).",
            "",
            "| interpreter | sim board | lib/ | run | import |",
            "|---|---|---|---|---|",
        ]
        for n in names:
            out.append(
                f"| {n} | .mpy | .mpy | {fmt_bytes(fig[n].get('motion run'))} | "
                f"{fmt_bytes(fig[n].get('motion import'))} |"
            )
        for n in frozen:
            out.append(f"| {n} | frozen | .mpy | {fmt_bytes(fig[n].get('motion run'))} | - |")
            lf = fmt_bytes(fig[n].get("motion run lib-frozen"))
            out.append(f"| {n} | frozen | frozen | {lf} | - |")
        steps_m: list[tuple[str, int]] = res.get("motion steps", [])  # type: ignore[assignment]
        if steps_m:
            out += [
                "",
                "What motion.py's imports add, in the order it loads them (board32-frozen: the "
                "sim board frozen, lib/ as .mpy; each step is the peak heap's growth, so a "
                "source file's compiler peak shows where it is bigger than what stays):",
                "",
                "| module | adds |",
                "|---|---|",
            ]
            out += [f"| {label} | {fmt_bytes(n)} |" for label, n in steps_m]
            total = sum(n for _, n in steps_m)
            out.append(f"| all imports | {total:,} |")
    alone: dict[str, int] = res["alone"]  # type: ignore[assignment]
    steps: list[tuple[str, int]] = res["steps"]  # type: ignore[assignment]
    sizes: dict[str, dict[str, int]] = res["sizes"]  # type: ignore[assignment]
    out += [
        "",
        f"Per module ({res['breakdown interp']}): heap taken by importing it alone (with "
        "what it imports), and what it adds in the order an upload loads the modules; .mpy "
        "bytes per architecture (x86: the 32-bit binaries; xtensawin: ESP32; "
        "armv6m: RP2040; on rp2 native code is in the GC heap too, on unix and ESP32 not):",
        "",
        "| module | import alone | upload-path step | "
        + " | ".join(f".mpy {a}" for a in ARCHS)
        + " |",
        "|---|---|---|" + "---|" * len(ARCHS),
    ]
    step_of = dict(steps)
    for name in sorted(
        sizes, key=lambda n: (n not in step_of, list(step_of).index(n) if n in step_of else 0, n)
    ):
        row = sizes[name]
        out.append(
            f"| `{name}` | {fmt_bytes(alone.get(name))} | {fmt_bytes(step_of.get(name))} | "
            + " | ".join(f"{row[a]:,}" for a in ARCHS)
            + " |"
        )
    per_arch = {a: sum(r[a] for r in sizes.values()) for a in ARCHS}
    out.append(
        f"| all of lib/ | - | {sum(step_of.values()):,} | "
        + " | ".join(f"{per_arch[a]:,}" for a in ARCHS)
        + " |"
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="key figures only, printed")
    args = parser.parse_args()
    res = measure_all(args.report)
    text = tables(res, args.report)
    print()
    print(text)
    if args.report:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "heap.json").write_text(json.dumps(res, indent=1))
    (RESULTS / "heap.md").write_text(text + "\n")
    update_section("heap", "Heap: `make bench` (tools/bench/heap.py)", text)


if __name__ == "__main__":
    main()
