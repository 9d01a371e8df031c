"""tools/mutate.py itself: which mutants it makes of a small module, and that each one is a
real, compilable change in the right place (the mutation run is only as good as these)."""

from __future__ import annotations

import mutate
from harness import ROOT

SOURCE = '''"""Docstring: 24 < 25 is not code."""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_LIMIT = const(24)


def head(out, n):
    """Another docstring."""
    if n < _LIMIT and not out:
        out.append(0x80 | n)
    total = n + 1
    total -= 2
    while n > 0:
        n >>= 1
        break
    return total
'''


def test_mutants_of_a_small_module() -> None:
    found = mutate.mutants_of("demo", SOURCE)
    changed = {(m.line, m.after.strip()) for m in found}
    assert (11, "_LIMIT = const(25)") in changed and (11, "_LIMIT = const(23)") in changed
    assert (16, "if n <= _LIMIT and not out:") in changed
    assert (16, "if not (n < _LIMIT and not out):") in changed
    assert (16, "if n < _LIMIT or not out:") in changed
    assert (16, "if n < _LIMIT and out:") in changed
    assert (17, "out.append(0x80 ^ n)") in changed
    assert (17, "pass") in changed
    assert (18, "total = n - 1") in changed and (18, "total = n + 2") in changed
    assert (19, "total += 2") in changed
    assert (20, "while n >= 0:") in changed
    assert (22, "continue") in changed
    assert (23, "return None") in changed
    lines = {m.line for m in found}
    assert not lines & {1, 3, 4, 5, 6, 7, 8, 9, 15}, "docstrings and the CPython fallback: left"
    sources = [m.source for m in found]
    assert len(set(sources)) == len(sources) and SOURCE not in sources
    for m in found:
        compile(m.source, "demo", "exec")
        assert m.source.splitlines()[m.line - 1] != SOURCE.splitlines()[m.line - 1]


def test_every_module_has_a_test_map_and_mutants() -> None:
    modules = {
        str(p.relative_to(ROOT / "lib").with_suffix("")) for p in (ROOT / "lib").rglob("*.py")
    }
    assert modules == set(mutate.TESTS), "tools/mutate.py TESTS must list every lib module"
    for tests in mutate.TESTS.values():
        for name in tests:
            assert (ROOT / "tests" / name).is_file(), name
    assert len(mutate.mutants("ei_cbor")) > 100
