"""CBOR floats byte for byte: float16 (0xF9) exactly when the value is a float16, else float32
(0xFA), as the official example does. Fixed cases at the edges of float16, on both runtimes.

The expected bytes are written by hand from IEEE 754 (binary16: 1 sign, 5 exponent bits with
bias 15, 10 fraction bits; binary32: 1, 8 with bias 127, 23) and the CBOR spec (RFC 8949,
major type 7: 0xF9 + 2 bytes, 0xFA + 4 bytes), and cross-checked with struct '>e' / '>f'.
"""

from __future__ import annotations

import io
import itertools
import json
import struct
from pathlib import Path
from typing import Any

import daq
import ei_ingest
import pytest
from cbor_shape import check_shape, half_is_exact
from daq import decode, f32
from harness import SCENARIOS, run_cpython, run_micropython

KEY = "fed53116f20684c067774ebf9e7bcbdc"

# value -> the CBOR item the encoder must write for it.
CASES: list[tuple[float, str, str]] = [
    (0.0, "f9 0000", "zero"),
    (-0.0, "f9 8000", "minus zero keeps its sign"),
    (1.0, "f9 3c00", "exponent 15 (bias), fraction 0"),
    (-2.5, "f9 c100", "sign, exponent 16, fraction .01"),
    (1.0009765625, "f9 3c01", "1 + 2**-10: the last fraction bit of float16"),
    (1.00048828125, "fa 3f801000", "1 + 2**-11: one bit too fine for float16"),
    (65504.0, "f9 7bff", "the largest float16"),
    (-65504.0, "f9 fbff", "the most negative float16"),
    (65520.0, "fa 477ff000", "exact in float32; float16 would round it to infinity"),
    (65536.0, "fa 47800000", "2**16: float16's exponent stops at 15"),
    (32768.0, "f9 7800", "2**15: the largest power of two in float16"),
    (2.0**-14, "f9 0400", "the smallest normal float16"),
    (2.0**-24, "f9 0001", "the smallest subnormal float16"),
    (3 * 2.0**-24, "f9 0003", "a subnormal float16 with two bits"),
    (1023 * 2.0**-24, "f9 03ff", "the largest subnormal float16"),
    (2.0**-25, "fa 33000000", "half the smallest subnormal: not a float16"),
    (1.5 * 2.0**-24, "fa 33c00000", "between two float16 subnormals"),
    (2.0**-14 + 2.0**-25, "fa 38801000", "a normal float32 one bit too fine for float16"),
    (1 + 2.0**-23, "fa 3f800001", "1 and the last float32 bit: only that bit is not float16"),
    (2.0**-15 + 2.0**-38, "fa 38000001", "a float16 subnormal and the last float32 bit"),
    (0.1, "fa 3dcccccd", "not exact anywhere: rounded to float32"),
    (16.5, "f9 4c20", "an interval like 16.5 ms is a float16"),
    (3.4028234663852886e38, "fa 7f7fffff", "the largest float32"),
    (-3.4028234663852886e38, "fa ff7fffff", "the most negative float32"),
    (2.0**-149, "fa 00000001", "the smallest float32 subnormal"),
]


def item(hexbytes: str) -> bytes:
    return bytes.fromhex(hexbytes.replace(" ", ""))


@pytest.mark.parametrize(("value", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_hand_written_bytes_agree_with_struct(value: float, expected: str, why: str) -> None:
    """The table itself, checked against struct's IEEE 754 packing."""
    want = item(expected)
    if half_is_exact(value):
        assert want == b"\xf9" + struct.pack(">e", value), why
    else:
        assert want == b"\xfa" + struct.pack(">f", value), why


def values_items(raw: bytes) -> bytes:
    """The bytes between `values: [_` and its break, in a single-axis file (flat values)."""
    start = raw.index(b"\x66values\x9f") + 8
    assert raw[-1:] == b"\xff"
    return raw[start:-1]


def expected_values_bytes() -> bytes:
    return b"".join(item(hexbytes) for _, hexbytes, _ in CASES)


def recording(typecode: str) -> ei_ingest.Recording:
    rec = ei_ingest.Recording((("x", "u"),), 16.5, len(CASES), typecode=typecode)
    for value, _, _ in CASES:
        rec.append((value,))
    return rec


@pytest.mark.parametrize("typecode", ["f", "d"])
def test_values_byte_for_byte_cpython(typecode: str) -> None:
    out = io.BytesIO()
    ei_ingest.dump(recording(typecode), out, fmt="cbor", hmac_key=KEY, device_type="T")
    raw = out.getvalue()
    assert values_items(raw) == expected_values_bytes()
    floats = check_shape(raw)
    assert floats[0][1] == item("f9 4c20"), "interval_ms 16.5 is a float16 too"


def test_scaled_values_byte_for_byte_cpython() -> None:
    """The same choice for int readings times a scale: 1 * 2**-24 is a float16 subnormal, 3 *
    2**-25 is not a float16, -32768 * 2**-25 = -2**-10 is a normal one."""
    rec = ei_ingest.Recording((("x", "u"),), 10, 4, typecode="h", scale=2.0**-25)
    for raw_value in (2, 6, 3, -32768):
        rec.append((raw_value,))
    out = io.BytesIO()
    ei_ingest.dump(rec, out, fmt="cbor", device_type="T")
    assert values_items(out.getvalue()) == item("f9 0001 f9 0003 fa 33c00000 f9 9400")


def encoded_by_both(tmp_path: Path, cases: list[dict[str, Any]]) -> dict[str, Path]:
    """CASES through scenarios/encode_batch.py on micropython and CPython: runtime -> its files."""
    spec = tmp_path / "cases.json"
    spec.write_text(json.dumps(cases))
    dirs: dict[str, Path] = {}
    for runtime, run in (("micropython", run_micropython), ("cpython", run_cpython)):
        out = dirs[runtime] = tmp_path / runtime
        out.mkdir()
        run(SCENARIOS / "encode_batch.py", str(spec), str(out))
    return dirs


def test_values_byte_for_byte_micropython_and_cpython(tmp_path: Path) -> None:
    cases = [
        {
            "id": f"floats-{tc}",
            "sensors": [["x", "u"]],
            "interval_ms": 16.5,
            "typecode": tc,
            "rows": [[v] for v, _, _ in CASES],
            "hmac_key": KEY,
            "fmts": ["cbor"],
        }
        for tc in "fd"
    ]
    for runtime, out in encoded_by_both(tmp_path, cases).items():
        for name in sorted(p.name for p in out.iterdir() if p.name.startswith("floats-")):
            raw = (out / name).read_bytes()
            assert values_items(raw) == expected_values_bytes(), f"{runtime} {name}"
            got = [v for v in decode(raw)["payload"]["values"]]
            assert [struct.pack(">d", v) for v in got] == [
                struct.pack(">d", f32(v)) for v, _, _ in CASES
            ], "cbor2 reads back every value (as float32), signs included"


def test_values_as_json_texts_micropython_and_cpython(tmp_path: Path) -> None:
    """The same table in JSON (the float32 text kernel and its plain twin): every text reads
    back as the value's float32, the largest and the most negative float32 included, and both
    runtimes write the same texts."""
    cases = [
        {"id": f"texts-{tc}", "sensors": [["x", "u"]], "interval_ms": 10, "typecode": tc,
         "rows": [[v] for v, _, _ in CASES], "fmts": ["json"]}
        for tc in "fd"
    ]  # fmt: skip
    seen: dict[str, bytes] = {}
    for runtime, out in encoded_by_both(tmp_path, cases).items():
        for path in sorted(out.glob("texts-*")):
            raw = path.read_bytes()
            got = [f32(v) for (v,) in daq.rows(decode(raw))]
            assert got == [f32(v) for v, _, _ in CASES], f"{runtime} {path.name}"
            texts = raw.split(b'"values":')[1]
            assert seen.setdefault(path.name, texts) == texts, f"{runtime} {path.name}"


# Every positive value of the table that an interval can be (below 2**32).
INTERVALS = [(v, hexbytes, why) for v, hexbytes, why in CASES if 0 < v < 2**32]


def test_float_intervals_byte_for_byte_micropython_and_cpython(tmp_path: Path) -> None:
    """interval_ms goes out by the same rule as the values (its own code: a header number):
    each interval of the table is the header's first float, float16 exactly where exact."""
    cases = [
        {"id": f"interval-{i}", "sensors": [["x", "u"]], "interval_ms": v, "typecode": "h",
         "rows": [[1]], "fmts": ["cbor"]}
        for i, (v, _, _) in enumerate(INTERVALS)
    ]  # fmt: skip
    for runtime, out in encoded_by_both(tmp_path, cases).items():
        for i, (_, hexbytes, why) in enumerate(INTERVALS):
            files = sorted(out.glob(f"interval-{i}.*"))
            assert files, f"{runtime}: no file for {why}"
            for path in files:
                assert check_shape(path.read_bytes())[0][1] == item(hexbytes), f"{runtime} {why}"


def test_float_rows_of_23_to_25_axes_micropython_and_cpython(tmp_path: Path) -> None:
    """A row's array head changes form at 24 items (0x97, then 0x98 0x18): float32 rows and
    scaled int16 rows (the value kernel on micropython) and scaled int32 rows (its plain twin),
    each in the shortest form and decoding to float32(raw * scale)."""
    finite = [v for v, _, _ in CASES]
    cases, want = [], {}
    for axes in (23, 24, 25):
        sensors = [[f"a{k}", "u"] for k in range(axes)]
        floats = [[finite[(r * axes + k) % len(finite)] for k in range(axes)] for r in range(2)]
        ints = [[r * axes + k - 20 for k in range(axes)] for r in range(2)]
        for typecode, rows, scale in (("f", floats, None), ("h", ints, 0.5), ("i", ints, 0.5)):
            case_id = f"axes{axes}-{typecode}"
            case = {"id": case_id, "sensors": sensors, "interval_ms": 10, "rows": rows}
            cases.append(dict(case, typecode=typecode, scale=scale, fmts=["cbor"]))
            want[case_id] = [[f32(v * (scale or 1)) for v in row] for row in rows]
    for runtime, out in encoded_by_both(tmp_path, cases).items():
        for case_id, rows in want.items():
            for path in sorted(out.glob(f"{case_id}.*")):
                raw = path.read_bytes()
                check_shape(raw)
                assert decode(raw)["payload"]["values"] == rows, f"{runtime} {path.name}"


def rounding_edges() -> list[tuple[int, float]]:
    """(uint16 reading, scale) whose exact product sits at each edge of the value kernel's two
    roundings (to double, then to float32, as raw * scale does on the host): the bits below
    double's 53 at half - 1, half, half + 1 and 1.5 half; the 29 bits between float32's 24
    and double's 53 at float32's half - 1, half and half + 1; float32's last bit even and odd;
    products of 68 and 69 bits. Readings at or above 2**15 are not shifted, so every low bit
    is theirs."""
    edges = []
    for top, reading in ((0, 32771), (0, 40961), (1, 40961), (1, 65533)):
        low = 15 + top  # the bits below double's 53
        width = low + 30  # those, the 29 between, and float32's last bit
        inverse = pow(reading, -1, 1 << width)
        # g: above half by one bit or by the next-to-top bit (a separate limb at 69 bits)
        for g, u, last in itertools.product((-1, 0, 1, 1 << (low - 2)), (-1, 0, 1), (0, 1)):
            bits = ((1 << (low - 1)) + g) | (((1 << 28) + u) << low) | (last << (low + 29))
            first = bits * inverse % (1 << width)
            m = next(
                m
                for m in range(first, 1 << 53, 1 << width)
                if m >= 1 << 52 and (reading * m).bit_length() == 68 + top
            )
            assert reading * m % (1 << width) == bits
            edges.append((reading, m * 2.0**-62))
    return edges


def test_scaled_values_at_the_kernels_rounding_edges_micropython() -> None:
    edges = rounding_edges()
    code = (
        "import io, struct, ei_ingest\n"
        f"for a, s in {[(a, struct.pack('<d', s).hex()) for a, s in edges]!r}:\n"
        "    s = struct.unpack('<d', bytes.fromhex(s))[0]\n"
        "    rec = ei_ingest.Recording((('x', 'u'),), 10, 1, 'H', (s,))\n"
        "    rec.append((a,))\n"
        "    out = io.BytesIO()\n"
        "    ei_ingest.dump(rec, out, fmt='cbor', device_type='T')\n"
        "    print(out.getvalue().split(b'values\\x9f')[1][:-1].hex())\n"
    )
    got = run_micropython(code, code=True).stdout.decode().split()
    want = [(b"\xfa" + struct.pack(">f", a * s)).hex() for a, s in edges]
    assert got == want
