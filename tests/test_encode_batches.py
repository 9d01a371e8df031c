"""Encoder.rows(rec, start, stop) "called in order, any batch size: the bytes are the same"
(ei_encode): a file written in batches of rows, as a sampler that encodes while it records
would, equals the file dump() writes in one go. Every format, flat and nested rows, ints,
floats and scaled values, CPython and the micropython interpreter (viper and plain paths)."""

from __future__ import annotations

import io
import json

import ei_encode
import ei_ingest
import pytest
from harness import run_micropython

KEY = "fed53116f20684c067774ebf9e7bcbdc"
SPLITS = [[20], [1, 19], [7, 6, 7], [1] * 20, [0, 13, 0, 7]]


def recording(axes: int, typecode: str, scale: float | None = None) -> ei_ingest.Recording:
    rec = ei_ingest.Recording([(f"a{k}", "") for k in range(axes)], 10, 20, typecode, scale)
    for r in range(20):
        rec.append([(r * 37 + k * 1009) % 2000 - 1000 for k in range(axes)])
    return rec


def in_batches(rec: ei_ingest.Recording, fmt: str, split: list[int]) -> bytes:
    head, sig_at = ei_encode.header(rec, fmt, False, "T", None, None)
    out = io.BytesIO()
    enc = ei_encode.Encoder(64)
    enc.begin(out.write, head, fmt)
    start = 0
    for n in split:
        enc.rows(rec, start, start + n)
        start += n
    assert enc.end() == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["cbor", "json"])
@pytest.mark.parametrize(
    ("axes", "typecode", "scale"), [(1, "h", None), (3, "h", None), (24, "i", None),
                                    (3, "f", None), (2, "h", 0.5)],
)  # fmt: skip
def test_batches_give_the_same_bytes(
    fmt: str, axes: int, typecode: str, scale: float | None
) -> None:
    rec = recording(axes, typecode, scale)
    whole = io.BytesIO()
    ei_ingest.dump(rec, whole, fmt=fmt, device_type="T", stage_size=64)
    for split in SPLITS:
        assert in_batches(rec, fmt, split) == whole.getvalue(), split


def test_batches_on_micropython() -> None:
    code = """
import io, json, ei_cbor, ei_encode, ei_ingest, ei_json
out = []
for axes, tc in ((3, "h"), (24, "h"), (2, "f")):
    rec = ei_ingest.Recording([("a%d" % k, "") for k in range(axes)], 10, 20, tc)
    for r in range(20):
        rec.append([(r * 37 + k * 1009) % 2000 - 1000 for k in range(axes)])
    for fmt in ("cbor", "json"):
        for fast in (True, False):
            ei_cbor.FAST = ei_json.FAST = fast
            whole = io.BytesIO()
            ei_ingest.dump(rec, whole, fmt=fmt, device_type="T", stage_size=64)
            for split in ((1, 19), (7, 6, 7), (0, 13, 0, 7)):
                head, _ = ei_encode.header(rec, fmt, False, "T", None, None)
                b = io.BytesIO()
                enc = ei_encode.Encoder(64)
                enc.begin(b.write, head, fmt)
                start = 0
                for n in split:
                    enc.rows(rec, start, start + n)
                    start += n
                enc.end()
                out.append(b.getvalue() == whole.getvalue())
print(json.dumps(out))
"""
    got = json.loads(run_micropython(code, code=True).stdout.decode().splitlines()[-1])
    assert got == [True] * 36
