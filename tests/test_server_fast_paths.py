"""The local server's fast paths for recordings' rows (issue 19: a server floor of ~11 ms a file
hid the client's gain): the CBOR reader reads a run of ints and floats in one loop, and the
row check looks at all values with C-level loops. Both must change nothing but time: the same
values as cbor2 decodes, and for anything else exactly the general path's result or error."""

from __future__ import annotations

import math
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest import daq
from ingest.cbor_reader import CborError, CborReader, decode_cbor

BOUNDARIES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]
INTS = BOUNDARIES + [-1 - b for b in BOUNDARIES]
FLOATS = [0.0, -0.0, 1.5, -2.25, 1e-40, 3.4e38, 1e300, math.inf, -math.inf, 65504.0]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def general(raw: bytes) -> Any:
    """The reader without its fast path: every item through the general code."""
    reader = CborReader(raw)
    reader._scalars = lambda length, items: None  # type: ignore[method-assign]
    return reader.read()


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except (CborError, daq.DaqError) as exc:
        return "error", str(exc)


def test_every_scalar_head_reads_as_cbor2_reads_it() -> None:
    values: list[Any] = INTS + FLOATS + [math.nan]
    for canonical in (False, True):  # canonical: floats in the shortest width (half, single)
        raw = cbor2.dumps([values, [[v, v] for v in values]], canonical=canonical)
        assert same(decode_cbor(raw)[0], cbor2.loads(raw))
        assert same(decode_cbor(raw)[0], general(raw))


scalar = st.one_of(
    st.integers(-(2**64), 2**64 - 1), st.floats(width=16), st.floats(width=32), st.floats()
)
item = st.one_of(scalar, st.text(max_size=3), st.booleans(), st.none(), st.binary(max_size=3))


@given(st.lists(st.lists(item, max_size=6), max_size=6), st.booleans())
def test_mixed_arrays_and_every_cut_match_the_general_reader(rows: list[Any], canon: bool) -> None:
    raw = cbor2.dumps(rows, canonical=canon)
    assert same(decode_cbor(raw)[0], cbor2.loads(raw))
    for cut in range(len(raw)):  # every truncation: the same error, worded the same
        assert outcome(decode_cbor, raw[:cut]) == outcome(lambda r: (general(r), None), raw[:cut])


def test_a_tag_or_map_between_numbers_goes_the_general_way() -> None:
    raw = cbor2.dumps([1, 2.5, cbor2.CBORTag(2, b"\x01\x00"), {"a": 1}, -3, "x", 4])
    assert decode_cbor(raw)[0] == [1, 2.5, 256, {"a": 1}, -3, "x", 4]


ROW_VALUE = st.one_of(
    st.integers(-(2**66), 2**66), st.floats(), st.booleans(), st.none(), st.text(max_size=2)
)


@given(
    st.integers(1, 4), st.lists(st.one_of(st.lists(ROW_VALUE, max_size=5), ROW_VALUE), max_size=8)
)
def test_row_check_fast_path_agrees_with_the_loop(width: int, rows: list[Any]) -> None:
    fast = outcome(daq._count_rows, rows, width)
    saved = daq._plain_rows
    daq._plain_rows = lambda values, w: False  # type: ignore[assignment]
    try:
        slow = outcome(daq._count_rows, rows, width)
    finally:
        daq._plain_rows = saved
    assert fast == slow


@pytest.mark.parametrize(
    ("rows", "width", "plain"),
    [
        ([[1, 2.5], [3, 4]], 2, True),
        ([1, 2, 3.5], 1, True),
        ([[1, True]], 2, False),  # a bool is not a number here
        ([[1, math.nan]], 2, False),
        ([[1, 2**64 + 1]], 2, False),
        ([[1, 10**400]], 2, False),  # beyond a float's range: no OverflowError escapes
        ([[1, 2], [3]], 2, False),
        ([(1, 2)], 2, False),
    ],
)
def test_plain_rows_says_which_rows_need_the_loop(rows: list[Any], width: int, plain: bool) -> None:
    assert daq._plain_rows(rows, width) is plain
