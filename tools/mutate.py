"""Mutation testing for lib/: does the test suite notice when the library is subtly wrong?

    python tools/mutate.py ei_cbor                # one module (lib/ei_cbor.py)
    python tools/mutate.py ei_cbor ei_json -j 2   # several, two workers
    python tools/mutate.py --list ei_cbor         # the mutants only, nothing run
    python tools/mutate.py --sample 80 ei_f32cbor # a fixed random 80 of them: an estimate
    python tools/mutate.py --only 7,9 --tests test_answers.py ei_http  # do new tests kill them?

For each module, each mutant (one small change: `<` for `<=`, `+` for `-`, a number off by
one, a condition negated, a statement dropped...) is written into lib/ of a private copy of the
repository and the test files that exercise that module (TESTS below) are run against it with
pytest -x. A failing run kills the mutant; a passing one means no test noticed: a survivor. A
run past the timeout counts as killed (the mutant hangs), and is marked so.

Why not mutmut or cosmic-ray: lib/ must also run in the micropython interpreter, which the
tests start as a subprocess, so the mutated file itself has to be in lib/ on disk. mutmut 3
keeps every mutant in one instrumented file switched at run time from CPython (its trampolines
import typing and inspect, which MicroPython lacks). cosmic-ray does write the mutant to disk,
but in the tree it is pointed at, one mutant at a time, with ~800 mutants for ei_cbor alone
(every binary operator into every other). This runner writes into throwaway copies (never the
source tree), runs one copy per worker, and uses a short list of operators that model real
slips.

Speed (a module has hundreds of mutants, a test set takes a minute): the unmutated baseline
run is traced first (tools/mutate_plugin.py) to learn which tests run each line of the module in
CPython, which start subprocesses (micropython runs lib/ out of the tracer's sight) and how long
each takes. A mutant's run then starts with the tests that ran its line, fastest first, then
those that start subprocesses, then the rest: every test still runs for a survivor, but a killed
mutant is usually killed by the first test. Each test has its own time limit (a hanging mutant
is stopped in seconds). A second baseline run in reverse order checks that the tests do not
depend on their order; if they do, only whole files are moved to the front.

Reports go to build/mutate/<module>.md (score, survivors with their diffs) and .json.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "mutate"
PYTHON = ROOT / ".venv" / "bin" / "python"

# The test files that exercise each lib module, fastest and most sensitive first (pytest -x
# stops at the first failure, so a mutant is usually killed in seconds).
_ENCODE = ["test_encode_floats.py", "test_encode_fast_path.py", "test_encode_stages.py",
           "test_encode.py", "test_encode_widths.py", "test_encode_runtimes.py",
           "test_server_vectors.py", "test_bad_calls.py"]  # fmt: skip
_VALUES = ["test_encode_values.py", "test_encode_fast_path.py", "test_encode_floats.py",
           "test_encode_runtimes.py", "test_encode.py"]  # fmt: skip
_UPLOAD = ["test_answers.py", "test_upload.py", "test_iat.py", "test_retry_status.py",
           "test_keys_never_shown.py", "test_network_cost.py"]  # fmt: skip
_SPOOL = [
    "test_spool.py",
    "test_spool_answers.py",
    "test_spool_crash.py",
    "test_iat.py",
    "test_faults.py",
    "test_spool_collect.py",
    "test_power_loss.py",
    "test_soak.py",
    "test_bad_calls.py",
    "test_keys_never_shown.py",
]
TESTS: dict[str, list[str]] = {
    "ei_cbor": _ENCODE,
    "ei_json": _ENCODE,
    "ei_binary": _ENCODE,
    "ei_float": _VALUES,
    "ei_f32cbor": _VALUES,
    "ei_f32text": _VALUES,
    "ei_fixed": _VALUES + ["test_sensors_forwarder.py"],
    "ei_ingest": _ENCODE + ["test_check_and_helpers.py", "test_upload.py"],
    "ei_options": [
        "test_options.py",
        "test_bad_calls.py",
        "test_upload.py",
        "test_spool_answers.py",
    ],
    "ei_errors": ["test_answers.py", "test_retry_status.py", "test_robust.py"],
    "ei_log": ["test_keys_never_shown.py", "test_robust.py"],
    "ei_http": _UPLOAD + ["test_tls_insecure.py", "test_robust.py"],
    "ei_wire": _UPLOAD + ["test_tls_insecure.py"],
    "ei_tls": ["test_tls_insecure.py", "test_upload.py", "test_ca_bundle.py"],
    "ei_requests": ["test_upload.py"],
    "ei_robust": ["test_robust.py", "test_retry_status.py", "test_faults.py"],
    "ei_spool": _SPOOL,
    "ei_spool_failed": ["test_spool_answers.py", "test_spool_crash.py"],
    "ei_time": [
        "test_sensors_scheduler.py",
        "test_robust.py",
        "test_net_wifi.py",
        "test_net_time.py",
    ],
    "ei_net": ["test_net_wifi.py", "test_net_time.py"],
    "ei_sampler": [
        "test_sensors_scheduler.py",
        "test_sensors_analog.py",
        "test_sensors_i2s.py",
        "test_sensors_forwarder.py",
        "test_sensors_examples.py",
    ],  # fmt: skip
    "ei_forward": [
        "test_sensors_forwarder.py",
        "test_encode_values.py",
        "test_sensors_examples.py",
    ],
    "ei_ws": ["test_ws.py", "test_remote_faults.py", "test_remote_e2e.py"],
    "ei_remote": ["test_remote_faults.py", "test_remote_e2e.py", "test_remote_cli.py"],
    "sensors/__init__": ["test_drivers_registers.py", "test_check_and_helpers.py"],
    "sensors/bme280": ["test_drivers_registers.py", "test_check_and_helpers.py"],
    "sensors/mpu6050": ["test_drivers_registers.py", "test_sensors_examples.py"],
    "sensors/adxl345": ["test_drivers_registers.py"],
    "sensors/lis3dh": ["test_drivers_registers.py"],
    "sensors/analog": ["test_sensors_analog.py"],
    "sensors/i2s_mic": ["test_sensors_i2s.py"],
    "sensors/_i2s_viper": ["test_sensors_i2s.py"],
    "micropython": ["test_encode.py"],  # CPython's const(): every CPython test runs it
}

_COMPARE_SWAPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=",
                  ast.NotEq: "==", ast.In: "not in", ast.NotIn: "in", ast.Is: "is not",
                  ast.IsNot: "is"}  # fmt: skip
_BINOP_SWAPS = {ast.Add: "-", ast.Sub: "+", ast.Mult: "//", ast.FloorDiv: "*", ast.Div: "*",
                ast.Mod: "//", ast.LShift: ">>", ast.RShift: "<<", ast.BitOr: "^",
                ast.BitAnd: "|", ast.BitXor: "|"}  # fmt: skip
_OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
            ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//",
            ast.Div: "/", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
            ast.BitAnd: "&", ast.BitXor: "^"}  # fmt: skip


@dataclass
class Mutant:
    module: str
    index: int
    line: int
    kind: str
    before: str  # the source line before and after
    after: str
    source: str  # the whole mutated file
    stmt_line: int = 0  # the first line of the statement the change is in (what a tracer sees)
    outcome: str = ""  # killed, survived, timeout
    seconds: float = 0.0
    failed_test: str = ""


def _offset(lines: list[str], line: int, col: int) -> int:
    return sum(len(x) for x in lines[: line - 1]) + len(lines[line - 1].encode()[:col].decode())


class _Finder(ast.NodeVisitor):
    """Collects (start, end, replacement, kind) text edits: one per mutant."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.edits: list[tuple[int, int, str, str]] = []

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = _offset(self.lines, node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = _offset(self.lines, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def op_between(self, left: ast.AST, right: ast.AST, op: str) -> int | None:
        """Where the operator `op` is written between two operands."""
        a = self.span(left)[1]
        b = self.span(right)[0]
        gap = self.text[a:b]
        at = gap.find(op)
        while at >= 0 and op in ("<", ">") and gap[at : at + 2] in ("<<", ">>", "<=", ">="):
            at = gap.find(op, at + 2)
        return None if at < 0 else a + at

    def add(self, start: int, end: int, new: str, kind: str) -> None:
        self.edits.append((start, end, new, kind))

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring
        self.drop(node)
        self.generic_visit(node)

    def drop(self, node: ast.stmt) -> None:
        if node.lineno == node.end_lineno:
            start, end = self.span(node)
            self.add(start, end, "pass", "statement removed")

    def visit_Assign(self, node: ast.Assign) -> None:
        self.drop(node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.drop(node)
        swap = {ast.Add: "-=", ast.Sub: "+=", ast.BitOr: "^=", ast.BitXor: "|="}
        new = swap.get(type(node.op))
        if new:
            at = self.op_between(node.target, node.value, _OP_TEXT[type(node.op)] + "=")
            if at is not None:
                self.add(at, at + len(new), new, "augmented assignment swapped")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        left: ast.AST = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            text = _OP_TEXT[type(op)]
            at = self.op_between(left, right, text)
            if at is not None:
                self.add(at, at + len(text), _COMPARE_SWAPS[type(op)], f"{text} -> swapped")
            left = right
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        text = _OP_TEXT.get(type(node.op))
        if text:
            at = self.op_between(node.left, node.right, text)
            if at is not None:
                self.add(at, at + len(text), _BINOP_SWAPS[type(node.op)], f"{text} -> swapped")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        word = "and" if isinstance(node.op, ast.And) else "or"
        at = self.op_between(node.values[0], node.values[1], f" {word} ")
        if at is not None:
            self.add(at + 1, at + 1 + len(word), "or" if word == "and" else "and", "and/or")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not | ast.USub):
            start, _ = self.span(node)
            inner, _ = self.span(node.operand)
            self.add(start, inner, "", "not/minus removed")
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        start, end = self.span(node.test)
        self.add(start, end, f"not ({self.text[start:end]})", "condition negated")
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        start, end = self.span(node.test)
        self.add(start, end, f"not ({self.text[start:end]})", "condition negated")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            start, end = self.span(node)
            self.add(start, end, str(not value), "True/False swapped")
        elif isinstance(value, int):
            start, end = self.span(node)
            for new in sorted(
                {value + 1, value - 1} - {-1} if value == 0 else {value + 1, value - 1}
            ):
                self.add(start, end, str(new), "number off by one")

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and node.lineno == node.end_lineno:
            start, end = self.span(node.value)
            if self.text[start:end] != "None":
                self.add(start, end, "None", "return None")
        self.generic_visit(node)

    def visit_Break(self, node: ast.Break) -> None:
        start, end = self.span(node)
        self.add(start, end, "continue", "break -> continue")


def _skipped_lines(text: str, tree: ast.Module) -> set[int]:
    """Lines not to mutate: `# pragma: no mutate`, and the CPython fallbacks in
    `except ImportError:` blocks (MicroPython never runs them; CPython's copy of const() is
    the identity)."""
    skip = {n for n, line in enumerate(text.splitlines(), 1) if "pragma: no mutate" in line}
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                if isinstance(handler.type, ast.Name) and handler.type.id == "ImportError":
                    end = handler.end_lineno or handler.lineno
                    skip.update(range(handler.lineno, end + 1))
    return skip


def mutants(module: str) -> list[Mutant]:
    return mutants_of(module, (ROOT / "lib" / f"{module}.py").read_text())


def _statement_lines(finder: _Finder, tree: ast.Module) -> list[tuple[int, int, int]]:
    """(start, end, first line) of every statement, the smallest spans first."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            start, end = finder.span(node)
            spans.append((end - start, start, end, node.lineno))
    return [(start, end, line) for _, start, end, line in sorted(spans)]


def mutants_of(module: str, text: str) -> list[Mutant]:
    """Every mutant of the source `text`: each compiles, and no two are the same file."""
    tree = ast.parse(text)
    finder = _Finder(text)
    finder.visit(tree)
    statements = _statement_lines(finder, tree)
    skip = _skipped_lines(text, tree)
    out: list[Mutant] = []
    seen: set[str] = set()
    for start, end, new, kind in sorted(finder.edits):
        source = text[:start] + new + text[end:]
        line = text.count("\n", 0, start) + 1
        if line in skip or source in seen or source == text:
            continue
        try:
            compile(source, module, "exec")
        except SyntaxError:
            continue
        seen.add(source)
        before = text.splitlines()[line - 1]
        after = source.splitlines()[line - 1]
        stmt_line = next((n for a, b, n in statements if a <= start < b), line)
        out.append(Mutant(module, len(out) + 1, line, kind, before, after, source, stmt_line))
    return out


def _copy_repo(dest: Path) -> None:
    """The files git knows (tracked, and new ones not ignored), and the .venv as a link."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")


_MAX_FILE = 1 << 30  # a mutant that writes without end is stopped here (SIGXFSZ): killed


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (_MAX_FILE, _MAX_FILE))


def _plugin(copy: Path) -> Path:
    """Where a copy keeps tools/mutate_plugin.py alone, for the tests' PYTHONPATH: all of tools/
    would put tools/sim.py (the `make sim` runner) before the simulated board's sim.py."""
    return copy / "build" / "mutate_plugin"


def _run_tests(
    copy: Path, tests: list[str], timeout: float, scratch: Path, **plugin_env: str
) -> tuple[str, float, str]:
    """Run the tests in `copy`; their temporary files go to `scratch` (emptied afterwards).
    The whole process group goes when the run ends: a hung micropython child of a killed
    pytest would otherwise run (and write) on. `plugin_env`: MUTATE_* settings for
    tools/mutate_plugin.py."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="mutate")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_plugin(copy)), env.get("PYTHONPATH")]))
    env.update(plugin_env)
    cmd = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "mutate_plugin"]
    cmd += [f"--basetemp={scratch}"] + [f"tests/{t}" for t in tests]
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, preexec_fn=_limit_files,
    )  # fmt: skip
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, timed_out = "", True
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - start
    if timed_out:
        return "timeout", seconds, ""
    if proc.returncode == 0:
        return "survived", seconds, ""
    failed = [ln for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    why = failed[0][:200] if failed else out[-200:]
    return "timeout" if "MutantTimeout" in why else "killed", seconds, why


@dataclass
class Baseline:
    """What the traced unmutated run saw (tools/mutate_plugin.py's record)."""

    lines: dict[str, list[int]]  # test id -> lines of the module it ran in-process
    spawns: list[str]  # tests that started a subprocess
    durations: dict[str, float]
    order: list[str]
    any_order: bool = True  # False: the tests depend on their order; move whole files only

    def plan(self, m: Mutant) -> dict[str, object]:
        """The order and time limits of a mutant's run (tools/mutate_plugin.py's plan)."""
        covering = [t for t in self.order if {m.line, m.stmt_line} & set(self.lines.get(t, ()))]
        first = sorted(covering, key=self.durations.__getitem__)
        spawning = (set(self.spawns) & set(self.order)) - set(first)
        first += sorted(spawning, key=self.durations.__getitem__)
        if not self.any_order:
            files = list(dict.fromkeys(t.split("::")[0] for t in first))
            first = [t for f in files for t in self.order if t.split("::")[0] == f]
        # A limit well above the test's traced (slower) baseline: only a hang goes past it.
        limits = {t: 3 * d + 20 for t, d in self.durations.items()}
        return {"first": first, "limits": limits}


class _Worker:
    """One private copy of the repository; mutants are written into its lib/ one at a time."""

    def __init__(self, base: Path, n: int) -> None:
        self.copy = base / f"w{n}"
        self.scratch = base / f"tmp{n}"  # pytest's tmp_path: outside the copy, per worker
        _copy_repo(self.copy)
        _plugin(self.copy).mkdir(parents=True)
        shutil.copy2(self.copy / "tools" / "mutate_plugin.py", _plugin(self.copy))

        self.plan_path = base / f"plan{n}.json"

    def record(self, module: str, tests: list[str]) -> tuple[Baseline, float]:
        """The traced baseline run, then the same tests in reverse order (unmutated)."""
        out = self.plan_path.with_suffix(".record.json")
        target = str(self.copy / "lib" / f"{module}.py")
        outcome, seconds, why = _run_tests(
            self.copy, tests, 1800, self.scratch, MUTATE_RECORD=str(out), MUTATE_TARGET=target
        )
        if outcome != "survived":
            raise SystemExit(f"{module}: the tests fail without any mutant: {why}")
        base = Baseline(**json.loads(out.read_text()))
        self.plan_path.write_text(json.dumps({"reverse": True}))
        outcome, _, why = _run_tests(
            self.copy, tests, 3 * seconds + 60, self.scratch, MUTATE_PLAN=str(self.plan_path)
        )
        if outcome != "survived":
            print(f"{module}: the tests fail in reverse order ({why}): whole files are moved")
            base.any_order = False
        return base, seconds

    def run(self, m: Mutant, tests: list[str], timeout: float, base: Baseline) -> Mutant:
        target = self.copy / "lib" / f"{m.module}.py"
        original = target.read_text()
        target.write_text(m.source)
        self.plan_path.write_text(json.dumps(base.plan(m)))
        try:
            m.outcome, m.seconds, m.failed_test = _run_tests(
                self.copy, tests, timeout, self.scratch, MUTATE_PLAN=str(self.plan_path)
            )
        finally:
            target.write_text(original)
        return m


def sample_of(found: list[Mutant], n: int, module: str) -> list[Mutant]:
    """`n` of the mutants, drawn at random but the same every run (seeded by the module's
    name): an estimate of the score where running them all takes hours."""
    if n >= len(found):
        return found
    return sorted(random.Random(module).sample(found, n), key=lambda m: m.index)


def _memory_tmp() -> str | None:
    """/dev/shm where there is one: the tests fsync every file they store (the server, the
    spool), and on a disk half the run's time went to waiting for it."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def run_module(
    module: str,
    jobs: int,
    limit: int | None,
    only: set[int] | None = None,
    sample: int | None = None,
    tests: list[str] | None = None,
) -> list[Mutant]:
    tests = TESTS[module] if tests is None else tests
    found = [m for m in mutants(module)[:limit] if only is None or m.index in only]
    if sample:
        found = sample_of(found, sample, module)
    print(f"{module}: {len(found)} mutants, tests: {' '.join(tests)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ei-mutate-", dir=_memory_tmp()) as tmp:
        workers = [_Worker(Path(tmp), n) for n in range(jobs)]
        base, seconds = workers[0].record(module, tests)
        timeout = 3 * seconds + 60
        print(
            f"{module}: unmutated tests pass in {seconds:.0f} s (traced); timeout {timeout:.0f} s"
        )
        free = list(workers)
        done: list[Mutant] = []
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            pending: dict[concurrent.futures.Future[Mutant], _Worker] = {}
            queue = list(found)
            while queue or pending:
                while queue and free:
                    w = free.pop()
                    pending[pool.submit(w.run, queue.pop(0), tests, timeout, base)] = w
                ready, _ = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for fut in ready:
                    free.append(pending.pop(fut))
                    m = fut.result()
                    done.append(m)
                    print(f"  [{len(done)}/{len(found)}] #{m.index} {m.outcome:8} line "
                          f"{m.line}: {m.kind}: {m.after.strip()[:70]}", flush=True)  # fmt: skip
    return sorted(done, key=lambda m: m.index)


def report(
    module: str, done: list[Mutant], suffix: str = "", tests: list[str] | None = None
) -> Path:
    """build/mutate/<module><suffix>.md and .json (a partial run has a suffix: it does not
    replace the module's full report)."""
    OUT.mkdir(parents=True, exist_ok=True)
    killed = [m for m in done if m.outcome in ("killed", "timeout")]
    survived = [m for m in done if m.outcome == "survived"]
    score = 100 * len(killed) / len(done) if done else 0.0
    name = module.replace("/", ".") + suffix
    lines = [
        f"# Mutation report: lib/{module}.py",
        "",
        f"{len(done)} mutants, {len(killed)} killed "
        f"({sum(m.outcome == 'timeout' for m in done)} by timeout), {len(survived)} survived: "
        f"score {score:.1f} %.",
        "",
        f"Tests run for each mutant: {', '.join(tests or TESTS[module])}.",
        "",
        "## Survivors",
        "",
    ]
    for m in survived:
        diff = difflib.unified_diff([m.before], [m.after], lineterm="", n=0)
        lines += [f"### #{m.index}, line {m.line}: {m.kind}", "", "```diff"]
        lines += [d for d in diff if not d.startswith(("---", "+++", "@@"))]
        lines += ["```", ""]
    path = OUT / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    fields = [{k: v for k, v in asdict(m).items() if k != "source"} for m in done]
    (OUT / f"{name}.json").write_text(json.dumps(fields, indent=1) + "\n")
    print(f"{module}: score {score:.1f} % ({len(killed)}/{len(done)}), report {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", help="lib modules, e.g. ei_cbor sensors/bme280")
    p.add_argument("-j", "--jobs", type=int, default=2, help="workers (one repo copy each)")
    p.add_argument("--limit", type=int, default=None, help="at most this many mutants each")
    p.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    p.add_argument("--only", default=None, help="run these mutant numbers only, e.g. 9,16")
    p.add_argument("--sample", type=int, default=None, help="a fixed random N of each module's")
    p.add_argument("--tests", default=None, help="these test files instead of the module's map")
    args = p.parse_args(argv)
    modules = args.modules or sorted(TESTS)
    unknown = [m for m in modules if m not in TESTS]
    if unknown:
        p.error(f"no test map for {unknown}; known: {', '.join(sorted(TESTS))}")
    for module in modules:
        if args.list:
            for m in mutants(module)[: args.limit]:
                print(f"{module}:{m.line} #{m.index} {m.kind}: {m.after.strip()}")
            continue
        only = {int(n) for n in args.only.split(",")} if args.only else None
        partial = ".sample" if args.sample else ".partial" if only or args.limit else ""
        tests = args.tests.split(",") if args.tests else None
        done = run_module(module, args.jobs, args.limit, only, args.sample, tests)
        report(module, done, partial, tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
