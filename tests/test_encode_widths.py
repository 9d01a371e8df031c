"""Every CBOR width boundary, both runtimes, both encoder paths, checked by independent decoders.

CBOR writes a length or an integer below 24 in its head byte, 24-255 in one more byte, 256-65535 in
two, then four and eight. Each boundary is crossed here where the format has one: rows of 1-30 and
255 axes (the row array's head), sensors arrays of 23/24/255 entries, texts of 0/1/23/24/255/256/300
bytes (names, units, device type and name; with quotes, backslashes and non-ASCII, so bytes and
characters differ), integers and interval_ms around 23/24, 255/256, 65535/65536 and 2**32 (iat: the
ends of 1e9..2**32), and recordings of 23/24, 255/256 and 65535/65536 rows. Every case is encoded by
the micropython unix port with the viper emitters on and off (ei_cbor.FAST, ei_json.FAST) and by
CPython, to a seekable file and to a write-only stream: all of these must be the same bytes. Each
file is decoded by cbor2 or json, compared value by value with the recording, its signature checked
with the stdlib hmac (tests/daq.py), and its CBOR form checked by tests/cbor_shape.py (shortest
heads, float16 where exact).
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import ei_ingest
import pytest
from cbor_shape import check_shape
from daq import decode, f32, rows, signature_valid
from harness import SCENARIOS, run_cpython, run_micropython
from hypothesis import given, settings
from hypothesis import strategies as st
from scaled import check_fixed_text, json_texts

KEY = "fed53116f20684c067774ebf9e7bcbdc"
SCRIPT = SCENARIOS / "encode_batch.py"
INT_RANGES = {
    "b": (-128, 127),
    "B": (0, 255),
    "h": (-32768, 32767),
    "H": (0, 65535),
    "i": (-(2**31), 2**31 - 1),
    "I": (0, 2**32 - 1),
    "q": (-(2**63), 2**63 - 1),
    "Q": (0, 2**64 - 1),
}
# Around every head width, both signs (a negative n is written as -1 - n).
INT_EDGES = [0, 1, 23, 24, 25, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1]
INT_EDGES += [-1 - v for v in INT_EDGES if v < 2**63]
PIECES = ['"', "\\", "é", "€", "😀", "a", "Z", "0", " ", "'", "/", "{", "ß"]


def utf8_text(nbytes: int, salt: int = 0) -> str:
    """A text of exactly `nbytes` UTF-8 bytes with quotes, backslashes and 2-4 byte characters."""
    out: list[str] = []
    size = 0
    k = salt
    while size < nbytes:
        piece = PIECES[k % len(PIECES)]
        k += 1
        if size + len(piece.encode()) > nbytes:
            piece = "x"
        out.append(piece)
        size += len(piece.encode())
    text = "".join(out)
    assert len(text.encode()) == nbytes
    return text


def axes_case(cid: str, axes: int, typecode: str = "h", nrows: int = 3, **kw: Any) -> dict:
    lo, hi = INT_RANGES[typecode] if typecode in INT_RANGES else (-1000, 1000)
    edges = [v for v in INT_EDGES if lo <= v <= hi] + [lo, hi]
    rows_: list[list[float]] = [
        [edges[(r * axes + a) % len(edges)] for a in range(axes)] for r in range(nrows)
    ]
    if typecode in "fd":
        rows_ = [[v / 8 for v in row] for row in rows_]
    case = {
        "id": cid,
        "sensors": [[f"s{a:03d}", "u"] for a in range(axes)],
        "interval_ms": 10,
        "typecode": typecode,
        "rows": rows_,
        "hmac_key": KEY,
    }
    case.update(kw)
    return case


def fixed_cases() -> list[dict[str, Any]]:
    cases = []
    # Row heads: 1 (flat), 2-23 (one byte), 24+ (0x98 n); the viper emitters take up to 15
    # (CBOR) and 6 (JSON) int16 axes, so 6/7 and 15/16 are their edges.
    for axes in (1, 2, 6, 7, 15, 16, 23, 24, 25, 30, 255):
        cases.append(axes_case(f"axes{axes}-h", axes, nrows=4))
    for axes in (15, 24):
        cases.append(axes_case(f"axes{axes}-H", axes, "H", nrows=3))
    # Integers of every width, in each typecode that can hold them.
    for tc in "bBhHiIqQ":
        cases.append(axes_case(f"ints-{tc}", 3, tc, nrows=len(INT_EDGES)))
    # Texts of every width: sensor names and units, device type and name.
    for n in (1, 23, 24, 255, 256, 300):
        cases.append(
            {
                "id": f"text{n}",
                "sensors": [[utf8_text(n, 0), utf8_text(max(0, n - 1), 3)], [utf8_text(n, 5), ""]],
                "interval_ms": 10,
                "rows": [[1, -1], [300, -300]],
                "device_type": utf8_text(n, 7),
                "device_name": utf8_text(n, 11),
                "hmac_key": KEY,
            }
        )
    cases.append(  # an ASCII-only 24-character name: the missed case
        {
            "id": "name24-ascii",
            "sensors": [["abcdefghijklmnopqrstuvwx", "m/s2"]],
            "interval_ms": 10,
            "rows": [[5]],
            "device_type": "T",
            "hmac_key": KEY,
        }
    )
    # Row counts around the widths (values is an indefinite array: no count is written, but the
    # stage fills and spills at different rows). One axis, a ramp through -300..300.
    for n in (23, 24, 255, 256, 65535, 65536):
        cases.append(
            {
                "id": f"rows{n}",
                "sensors": [["x", "u"]],
                "interval_ms": 1,
                "rows": {"ramp": [n, -300, 300]},
                "hmac_key": KEY,
                "fmts": ["cbor", "json"] if n < 65535 else ["cbor"],
            }
        )
    # interval_ms across the integer widths; iat at the ends of what check_iat takes (Unix
    # seconds between 1e9 and 2**32: always a 4-byte CBOR head); unsigned and alg none.
    for k, iat in enumerate((10**9 + 1, 1764150000, 2**31 - 1, 2**31, 2**32 - 1, 1764150001)):
        interval_ms = (23, 24, 255, 256, 65535, 65536)[k]
        case = axes_case(f"iat{iat}", 2, nrows=2, iat=iat, interval_ms=interval_ms)
        if k % 3 == 0:
            case["hmac_key"] = None
        cases.append(case)
    cases.append(axes_case("interval-float", 3, "f", nrows=5, interval_ms=16.5))
    cases.append(axes_case("scaled", 24, nrows=5, scale=[0.5 + a / 64 for a in range(24)]))
    return cases


def random_cases(seed: int, count: int) -> list[dict[str, Any]]:
    """Random recordings up to 30 axes, names and device types of 0-300 bytes."""
    rng = random.Random(seed)
    cases = []
    for k in range(count):
        axes = rng.choice([1, 2, 3, 6, 7, 15, 16, 23, 24, 25, rng.randint(1, 30)])
        tc = rng.choice("bBhHhHiIqQfd")
        nrows = rng.choice([1, 2, 23, 24, rng.randint(1, 60)])
        if tc in "fd":
            data = [[rng.uniform(-1e6, 1e6) for _ in range(axes)] for _ in range(nrows)]
        else:
            lo, hi = INT_RANGES[tc]
            pool = [v for v in INT_EDGES if lo <= v <= hi] + [lo, hi]
            data = [
                [
                    rng.choice(pool) if rng.random() < 0.5 else rng.randint(lo, hi)
                    for _ in range(axes)
                ]
                for _ in range(nrows)
            ]
        names = [f"{utf8_text(rng.randint(1, 300), rng.randint(0, 99))}#{a}" for a in range(axes)]
        case: dict[str, Any] = {
            "id": f"random{seed}-{k}",
            "sensors": [[nm, utf8_text(rng.randint(0, 300), rng.randint(0, 99))] for nm in names],
            "interval_ms": rng.choice([1, 10, 16.5, 0.0625, 1000 / 3, 65536]),
            "typecode": tc,
            "rows": data,
            "device_type": utf8_text(rng.randint(1, 300), rng.randint(0, 99)),
            "device_name": rng.choice([None, utf8_text(rng.randint(1, 300), rng.randint(0, 99))]),
            "iat": rng.choice([None, rng.randint(10**9 + 1, 2**32 - 1)]),
            "hmac_key": rng.choice([KEY, None]),
        }
        if tc not in "qQ" and rng.random() < 0.3:
            case["scale"] = [rng.choice([0.5, 2.0, 9.80665 / 16384, 1e-3]) for _ in range(axes)]
        cases.append(case)
    return cases


# --- the independent check ----------------------------------------------------------------------


def raw_rows(case: dict[str, Any]) -> list[list[Any]]:
    data = case["rows"]
    if isinstance(data, dict):
        n, lo, hi = data["ramp"]
        data = [[lo + i % (hi - lo + 1)] for i in range(n)]
    return [list(r) for r in data]


def expected_rows(case: dict[str, Any]) -> list[list[Any]]:
    data = raw_rows(case)
    if case.get("typecode") == "f":  # the buffer holds float32: scaled after that rounding
        data = [[f32(v) for v in r] for r in data]
    scale = case.get("scale")
    if scale is None:
        return [list(r) for r in data]
    return [[v * s for v, s in zip(r, scale, strict=True)] for r in data]


def check_file(raw: bytes, case: dict[str, Any], fmt: str) -> None:
    obj = decode(raw)
    key = case.get("hmac_key")
    if key is None:
        assert obj["protected"]["alg"] == "none" and obj["signature"] == "00"
    else:
        assert obj["protected"]["alg"] == "HS256"
        assert signature_valid(raw, key), "signature"
    assert obj["protected"]["ver"] == "v1"
    assert obj["protected"].get("iat") == case.get("iat")
    payload = obj["payload"]
    assert payload["device_type"] == case.get("device_type", "SIM")
    assert payload.get("device_name") == case.get("device_name")
    assert ("device_name" in payload) == (case.get("device_name") is not None)
    assert payload["sensors"] == [{"name": n, "units": u} for n, u in case["sensors"]]
    interval = case["interval_ms"]
    if isinstance(interval, int):
        assert payload["interval_ms"] == interval and isinstance(payload["interval_ms"], int)
    else:
        assert f32(payload["interval_ms"]) == f32(interval)
    got = rows(obj)
    want = expected_rows(case)
    assert len(got) == len(want), "row count"
    floats = case.get("typecode", "h") in "fd" or "scale" in case
    if fmt == "json" and "scale" in case and case.get("typecode", "h") not in "fd":
        # scaled integer readings are fixed decimals in JSON (ei_fixed; rules in scaled.py)
        for texts, raws in zip(json_texts(raw), raw_rows(case), strict=True):
            for text, value, scale in zip(texts, raws, case["scale"], strict=True):
                check_fixed_text(text, value, scale)
        got = want = []
    for r, (g, w) in enumerate(zip(got, want, strict=True)):
        if floats:
            assert [f32(x) for x in g] == [f32(x) for x in w], f"row {r}"
        else:
            assert g == w, f"row {r}"
            assert all(type(x) is int for x in g), f"row {r}: integers stay integers"
    if fmt == "cbor":
        check_shape(raw)
    if fmt == "binary":
        assert raw[obj["payload"]["binary_offset"] - 1] == 0xFF


def run_batch(
    runtime: str, cases: list[dict[str, Any]], directory: Path
) -> dict[str, tuple[int, bytes]]:
    """Encode every case in one process; {file name: (dump()'s result, the file's bytes)}."""
    directory.mkdir(parents=True)
    spec = directory / "cases.json"
    # Raw UTF-8: MicroPython's json does not join \\u surrogate pairs into one character.
    spec.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    if runtime == "micropython":  # the 65536-row cases need more than the default heap
        proc = run_micropython(SCRIPT, str(spec), str(directory), heapsize="16M", timeout=300)
    else:
        proc = run_cpython(SCRIPT, str(spec), str(directory), timeout=300)
    returned = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return {name: (n, (directory / name).read_bytes()) for name, n in returned.items()}


def check_batch(cases: list[dict[str, Any]], tmp_path: Path) -> int:
    outputs = {rt: run_batch(rt, cases, tmp_path / rt) for rt in ("micropython", "cpython")}
    checked = 0
    for case in cases:
        for fmt in case.get("fmts", ("cbor", "json")):
            variants = {
                f"{rt}:{name}": out
                for rt, files in outputs.items()
                for name, out in files.items()
                if name.startswith(f"{case['id']}.{fmt}.")
            }
            assert len(variants) == 8, (case["id"], sorted(variants))
            first = variants[f"micropython:{case['id']}.{fmt}.fast.stream"][1]
            try:
                check_file(first, case, fmt)
            except AssertionError as e:
                raise AssertionError(f"case {case['id']} ({fmt}): {e}") from e
            for name, (n, data) in variants.items():
                assert n == len(data), f"{name}: dump() returned {n} for {len(data)} bytes"
                assert data == first, f"{name} differs from micropython fast.stream"
            checked += 1
    return checked


def test_fixed_widths_both_runtimes_both_paths(tmp_path: Path) -> None:
    cases = fixed_cases()
    assert check_batch(cases, tmp_path) == sum(len(c.get("fmts", "ab")) for c in cases)


def binary_cases() -> list[dict[str, Any]]:
    """Binary payloads whose headers end at every offset mod 4 (device names of 1-8 bytes), so
    the padding of the reference string is needed 0, 1, 2 and 3 times."""
    cases = []
    for n in range(1, 9):
        for tc, data in (("h", [[-32768], [0], [32767]]), ("H", [[0], [65535]]),
                         ("f", [[1.5], [-0.1], [65520.0]])):  # fmt: skip
            cases.append(
                {
                    "id": f"binary-{tc}-{n}",
                    "sensors": [["audio", "wav"]],
                    "interval_ms": 0.0625,
                    "typecode": tc,
                    "rows": data,
                    "device_name": "d" * n,
                    "hmac_key": KEY,
                    "fmts": ["binary"],
                }
            )
    return cases


def test_binary_payloads_align_their_samples(tmp_path: Path) -> None:
    cases = binary_cases()
    assert check_batch(cases, tmp_path) == len(cases)
    outputs = run_batch("cpython", cases, tmp_path / "again")
    pads = set()
    for case in cases:
        raw = outputs[f"{case['id']}.binary.fast.seek"][1]
        obj = decode(raw)
        offset = obj["payload"]["binary_offset"]
        assert offset % 4 == 0 and raw[offset - 1] == 0xFF, case["id"]
        tag = raw[raw.index(b"Ref-BINARY-") : offset - 1]
        pads.add(len(tag) - len(tag.rstrip(b" ")))
    assert pads == {0, 1, 2, 3}, "every amount of padding was needed once"


def test_random_recordings_both_runtimes_both_paths(tmp_path: Path) -> None:
    cases = random_cases(seed=18, count=40)
    assert max(len(c["sensors"]) for c in cases) >= 24
    assert check_batch(cases, tmp_path) == 2 * len(cases)


# --- CPython in-process, over Hypothesis's recordings ------------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=300).map(
    lambda s: s.encode()[:300].decode(errors="ignore")
)


@st.composite
def recordings(draw: st.DrawFn) -> dict[str, Any]:
    axes = draw(st.integers(1, 30))
    tc = draw(st.sampled_from("bBhHiIqQfd"))
    nrows = draw(st.integers(1, 30))
    if tc in "fd":
        value = st.floats(allow_nan=False, allow_infinity=False, width=32)
    else:
        lo, hi = INT_RANGES[tc]
        value = st.sampled_from([v for v in INT_EDGES if lo <= v <= hi]) | st.integers(lo, hi)
    data = draw(st.lists(st.lists(value, min_size=axes, max_size=axes), min_size=nrows,
                         max_size=nrows))  # fmt: skip
    names = draw(st.lists(texts.filter(bool), min_size=axes, max_size=axes, unique=True))
    units = draw(st.lists(texts, min_size=axes, max_size=axes))
    return {
        "sensors": [[n, u] for n, u in zip(names, units, strict=True)],
        "interval_ms": draw(st.sampled_from([1, 24, 256, 65536, 0.5, 16.5, 0.1])),
        "typecode": tc,
        "rows": data,
        "device_type": draw(texts.filter(bool)),
        "device_name": draw(st.none() | texts.filter(bool)),
        "iat": draw(st.none() | st.integers(10**9 + 1, 2**32 - 1)),
        "hmac_key": draw(st.sampled_from([KEY, None])),
    }


@settings(max_examples=150)
@given(recordings(), st.sampled_from(["cbor", "json"]))
def test_random_recordings_cpython(case: dict[str, Any], fmt: str) -> None:
    rec = ei_ingest.Recording(
        [tuple(s) for s in case["sensors"]], case["interval_ms"], len(case["rows"]),
        typecode=case["typecode"],
    )  # fmt: skip
    for row in case["rows"]:
        rec.append(row)
    out = io.BytesIO()
    kwargs = {k: case[k] for k in ("device_type", "device_name", "iat")}
    n = ei_ingest.dump(rec, out, fmt=fmt, hmac_key=case["hmac_key"], **kwargs)
    raw = out.getvalue()
    assert n == len(raw)
    check_file(raw, case, fmt)


def test_text_sizes_are_exact() -> None:
    """The generator itself: sizes in bytes, and the tricky characters are really there."""
    for n in (0, 1, 23, 24, 255, 256, 300):
        assert len(utf8_text(n, 3).encode()) == n
    long = utf8_text(300)
    assert '"' in long and "\\" in long and "😀" in long and len(long) < 300


@pytest.mark.parametrize("axes", [24, 255])
def test_wide_rows_really_use_a_two_byte_head(axes: int) -> None:
    """Guards the guard: the fixed cases do reach the 0x98 row head and 0x98 sensors head."""
    case = axes_case("x", axes, nrows=1)
    rec = ei_ingest.Recording([tuple(s) for s in case["sensors"]], 10, 1)
    rec.append(case["rows"][0])
    out = io.BytesIO()
    ei_ingest.dump(rec, out, fmt="cbor", hmac_key=KEY, device_type="T")
    raw = out.getvalue()
    assert b"\x67sensors\x98" + bytes([axes]) in raw
    assert b"\x66values\x9f\x98" + bytes([axes]) in raw
