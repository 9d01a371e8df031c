"""Encoder.chunks: "each stage full but the last; the bytes do not depend on where a stage
ends". A file cut into stages of 64, 65, 67, 100 and 4096 bytes (so stage boundaries fall
mid-value, mid-row and on the reserve) is the same file, and equals the one a plain
ei_ingest.dump writes. Every format, flat and nested rows, ints, floats and scaled values, on
CPython and on the micropython interpreter (viper and plain kernels)."""

from __future__ import annotations

import io
import json

import ei_ingest
import pytest
from harness import run_micropython

STAGES = [64, 65, 67, 100, 4096]


def recording(axes: int, typecode: str, scale: float | None = None) -> ei_ingest.Recording:
    rec = ei_ingest.Recording([(f"a{k}", "") for k in range(axes)], 10, 20, typecode, scale)
    for r in range(20):
        rec.append([(r * 37 + k * 1009) % 2000 - 1000 for k in range(axes)])
    return rec


def staged(rec: ei_ingest.Recording, fmt: str, stage_size: int) -> tuple[bytes, list[int]]:
    head, _ = ei_ingest.header(rec, fmt, False, "T", None, None)
    parts = [bytes(c) for c in ei_ingest.Encoder(stage_size).chunks(rec, fmt, head)]
    return b"".join(parts), [len(p) for p in parts]


SHAPES = [(1, "h", None), (1, "f", 0.25), (3, "h", None), (24, "i", None), (3, "f", None),
          (2, "h", 0.5)]  # fmt: skip
# fmt 'binary' carries one raw axis only (its refusals are in test_encode.py)
CASES = [(fmt, *shape) for fmt in ("cbor", "json") for shape in SHAPES] + [
    ("binary", 1, "h", None), ("binary", 1, "f", 0.25)]  # fmt: skip


@pytest.mark.parametrize(("fmt", "axes", "typecode", "scale"), CASES)
def test_stage_size_does_not_change_the_bytes(
    fmt: str, axes: int, typecode: str, scale: float | None
) -> None:
    rec = recording(axes, typecode, scale)
    whole = io.BytesIO()
    ei_ingest.dump(rec, whole, fmt=fmt, device_type="T", stage_size=256)
    for size in STAGES:
        data, lengths = staged(rec, fmt, size)
        assert data == whole.getvalue(), size
        assert all(n == size for n in lengths[:-1]), (size, lengths)
        assert 0 < lengths[-1] <= size


def test_stages_on_micropython() -> None:
    code = """
import io, json, ei_cbor, ei_ingest, ei_json
out = []
for axes, tc in ((3, "h"), (15, "h"), (24, "h"), (2, "f")):
    rec = ei_ingest.Recording([("a%d" % k, "") for k in range(axes)], 10, 20, tc)
    for r in range(20):
        rec.append([(r * 37 + k * 1009) % 2000 - 1000 for k in range(axes)])
    for fmt in ("cbor", "json"):
        whole = None
        for fast in (True, False):
            ei_cbor.FAST = ei_json.FAST = fast
            for size in (64, 65, 67, 100, 4096):
                head, _ = ei_ingest.header(rec, fmt, False, "T", None, None)
                data = b"".join(bytes(c) for c in ei_ingest.Encoder(size).chunks(rec, fmt, head))
                if whole is None:
                    whole = data
                out.append(data == whole)
print(json.dumps(out))
"""
    got = json.loads(run_micropython(code, code=True).stdout.decode().splitlines()[-1])
    assert got == [True] * 80
