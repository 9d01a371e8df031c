"""The shape issue 13 asked of lib/: imports run one way (no cycle, counting the imports made
inside functions too), no module over 400 lines, each opens with what it is for and what it
costs in memory. The board-side modules only: lib/micropython.py is CPython's shim."""

from __future__ import annotations

import ast
from pathlib import Path

from harness import LIB

MODULES = {
    (p.stem if p.parent == LIB else f"sensors.{p.stem}"): p
    for p in sorted(LIB.rglob("*.py"))
    if p.name != "micropython.py"
}


def imports_of(path: Path) -> set[str]:
    """The lib/ modules `path` imports, at the top or in any function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "sensors":
                found.update(f"sensors.{a.name}" for a in node.names)
    return {name for name in found if name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_imports_form_no_cycle() -> None:
    graph = {name: imports_of(path) - {name} for name, path in MODULES.items()}
    assert find_cycle(graph) is None, find_cycle(graph)


def test_find_cycle_finds_one() -> None:  # the check above can fail
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_over_400_lines_and_each_says_its_job_and_memory() -> None:
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        assert len(lines) <= 400, f"{name}: {len(lines)} lines"
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc.split("\n\n")[0]) > 20, f"{name}: no opening sentence"
        assert any(w in doc.lower() for w in ("memory", "heap")), f"{name}: no memory cost"
