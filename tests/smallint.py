"""Small: an int that fails as soon as an arithmetic result leaves MicroPython's small-int range
on a 32-bit board (-2**30 .. 2**30 - 1), where a bigger int is a heap allocation. Drivers and
kernels that must not allocate are run with Small values on CPython."""

from __future__ import annotations

SMALL = 1 << 30  # MicroPython's small ints on a 32-bit board: -2**30 .. 2**30 - 1


class Small(int):
    """An int that fails if any arithmetic result leaves the 32-bit boards' small-int range
    (there, a bigger int is a heap allocation)."""

    def _wrap(self, v):
        assert -SMALL <= v < SMALL, v
        return Small(v)


for _name in ("add", "sub", "mul", "floordiv", "lshift", "rshift", "and", "or", "mod"):
    for _fmt in ("__%s__", "__r%s__"):
        _op = _fmt % _name
        setattr(
            Small,
            _op,
            (lambda op: lambda self, other: self._wrap(getattr(int, op)(self, other)))(_op),
        )


Small.__neg__ = lambda self: self._wrap(-int(self))  # type: ignore[method-assign]
