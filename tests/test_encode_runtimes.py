"""The same recordings encoded by the micropython unix port and by CPython, checked independently.

Every file is verified with the stdlib hmac (zero substitution), decoded with cbor2/json, and
compared value by value with the recording (times scale, as float32). Two-pass (non-seekable)
and patch-in-place (seekable) outputs, and both runtimes' outputs, must be byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from daq import decode, f32, rows, signature_valid
from harness import SCENARIOS, run_cpython, run_micropython
from scaled import check_fixed_text, json_texts

KEY = "fed53116f20684c067774ebf9e7bcbdc"
XYZ = [["accX", "m/s2"], ["accY", "m/s2"], ["accZ", "m/s2"]]

CASES: dict[str, dict[str, Any]] = {
    "int16-3axis": {
        "sensors": XYZ,
        "interval_ms": 10,
        "typecode": "h",
        "rows": [[i * 331 % 65536 - 32768, -i, 32767 - i] for i in range(300)],
    },
    "float-3axis": {
        "sensors": XYZ,
        "interval_ms": 16.5,
        "typecode": "f",
        "rows": [[-9.81 + i / 7, 0.03 * i, 1e-7 * i - 3.5e12] for i in range(200)],
    },
    "single-axis": {
        "sensors": [["temp", "Cel"]],
        "interval_ms": 1000,
        "typecode": "i",
        "rows": [[i * 100003 - 5000000] for i in range(150)],
    },
    "scaled": {
        "sensors": XYZ,
        "interval_ms": 10,
        "typecode": "h",
        "scale": [9.80665 / 16384, 9.80665 / 16384, 0.001],
        "rows": [[16384, -16384, i] for i in range(120)],
    },
    "alg-none": {
        "sensors": XYZ,
        "interval_ms": 20,
        "typecode": "b",
        "hmac_key": None,
        "rows": [[i % 128, -(i % 128), 0] for i in range(90)],
    },
    "binary-i16": {
        "sensors": [["audio", "wav"]],
        "interval_ms": 0.0625,
        "typecode": "h",
        "fmt": "binary",
        "rows": [[(i * 2654435761) % 65536 - 32768] for i in range(1000)],
    },
    "binary-f32-scaled": {
        "sensors": [["pressure", "Pa"]],
        "interval_ms": 1,
        "typecode": "f",
        "scale": 0.5,
        "fmt": "binary",
        "rows": [[1013.25 + i] for i in range(64)],
    },
    "escaped-names": {
        "sensors": [['a"q\\b', "m/s2"], ["héllo", "°C"]],
        "interval_ms": 10,
        "device_type": 'quote"dev',
        "device_name": "ac:87:a3:0a:2d:1b",
        "iat": 1764150000,
        "rows": [[1, 2], [3, 4]],
    },
}


def expected_values(spec: dict[str, Any]) -> list[list[float]]:
    scale = spec.get("scale")
    axes = len(spec["sensors"])
    if scale is None:
        return [list(r) for r in spec["rows"]]
    if not isinstance(scale, list):
        scale = [scale] * axes
    return [[f32(v * s) for v, s in zip(r, scale, strict=True)] for r in spec["rows"]]


def encode_everywhere(spec: dict[str, Any], tmp_path: Path) -> dict[str, bytes]:
    outputs = {}
    for mode in ("stream", "seek", "bytesio"):
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(dict(spec, mode=mode)))
        for runtime, run in (("mpy", run_micropython), ("cpy", run_cpython)):
            out = tmp_path / f"{runtime}-{mode}.bin"
            proc = run(SCENARIOS / "encode.py", str(path), str(out))
            data = out.read_bytes()
            assert int(proc.stdout.split()[-1]) == len(data), "dump() must return the byte count"
            outputs[f"{runtime}-{mode}"] = data
    return outputs


@pytest.mark.parametrize("fmt", ["cbor", "json"])
@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("binary")])
def test_both_runtimes_same_bytes_and_valid(case: str, fmt: str, tmp_path: Path) -> None:
    spec = dict(CASES[case], fmt=fmt)
    spec.setdefault("hmac_key", KEY)
    check(spec, tmp_path)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("binary")])
def test_binary_payload(case: str, tmp_path: Path) -> None:
    spec = dict(CASES[case], hmac_key=KEY)
    obj, raw = check(spec, tmp_path)
    assert obj["payload"]["binary_offset"] % 4 == 0, "samples start 4-byte aligned"
    assert raw[obj["payload"]["binary_offset"] - 1] == 0xFF, "header ends with the 0xFF break"


def check(spec: dict[str, Any], tmp_path: Path) -> tuple[dict[str, Any], bytes]:
    outputs = encode_everywhere(spec, tmp_path)
    first = outputs["mpy-stream"]
    for name, data in outputs.items():
        assert data == first, f"{name} differs from mpy-stream"
    obj = decode(first)
    key = spec.get("hmac_key")
    if key is None:
        assert obj["protected"]["alg"] == "none"
        assert obj["signature"] == "00"
    else:
        assert obj["protected"]["alg"] == "HS256"
        assert signature_valid(first, key)
        tampered = bytearray(first)
        tampered[-2] ^= 0x01
        assert not signature_valid(bytes(tampered), key)
    assert obj["protected"]["ver"] == "v1"
    payload = obj["payload"]
    assert payload["device_type"] == spec.get("device_type", "SIM")
    assert payload.get("device_name") == spec.get("device_name")
    assert obj["protected"].get("iat") == spec.get("iat")
    assert payload["sensors"] == [{"name": n, "units": u} for n, u in spec["sensors"]]
    assert f32(payload["interval_ms"]) == f32(spec["interval_ms"])
    got = rows(obj)
    want = expected_values(spec)
    assert len(got) == len(want)
    typecode = spec.get("typecode", "h")
    if "scale" in spec and spec.get("fmt") == "json":  # fixed decimals, see scaled.py
        scale = spec["scale"] if isinstance(spec["scale"], list) else [spec["scale"]] * len(got[0])
        for texts, raw_row in zip(json_texts(first), spec["rows"], strict=True):
            for text, v, s in zip(texts, raw_row, scale, strict=True):
                check_fixed_text(text, v, s)
        want = got
    for r, (g, w) in enumerate(zip(got, want, strict=True)):
        if typecode == "f" or "scale" in spec:
            assert [f32(x) for x in g] == [f32(x) for x in w], f"row {r}"
        else:
            assert g == w, f"row {r}"
            assert all(isinstance(x, int) for x in g), "integers stay integers"
    if spec.get("fmt") == "json":
        assert b" " not in first.split(b'"payload"')[1].replace(b"\xc2\xb0", b""), "compact"
    return obj, first


def test_no_allocation_per_row() -> None:
    proc = run_micropython(SCENARIOS / "encode_heap.py")
    out = proc.stdout.decode()
    for fmt in ("cbor", "json"):
        for what in ("int16", "scaled", "float32", "int16-plain"):
            assert f"heap_lock rows {fmt} {what} ok" in out, out
    assert "heap_lock rows json scaled-plain ok" in out, out
    for negative in ("cbor h", "cbor f", "json f"):
        assert f"heap_lock catches float allocation {negative}" in out, out


def test_viper_emitters_match_plain_python() -> None:
    """The viper int16 emitters and the plain Python rows write the same bytes (MicroPython)."""
    out = run_micropython(SCENARIOS / "encode_fast.py").stdout.decode()
    assert out.strip() == "same 112", out


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_dump_into_append_mode_and_other_files(runtime: str, tmp_path: Path) -> None:
    run = run_micropython if runtime == "mpy" else run_cpython
    proc = run(SCENARIOS / "dump_modes.py", str(tmp_path))
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert out["bad_left"] is False, "a dump that failed left a file behind"
    expected = [[(i * 37 - 900) * 0.5, (1000 - i) * 0.5] for i in range(50)]
    for name, key, prefix in [
        ("ab.cbor", "ab", b"PREFIX"), ("wb.json", "wb", b"PREFIX"), ("path.cbor", "path", b""),
        ("stream.cbor", "stream", b""),
    ]:  # fmt: skip
        raw = (tmp_path / name).read_bytes()
        assert raw.startswith(prefix) and len(raw) == len(prefix) + out[key], name
        body = raw[len(prefix) :]
        assert signature_valid(body, KEY), f"{name}: the digest is where it belongs"
        assert rows(decode(body)) == expected, name
    assert (tmp_path / "ab.cbor").read_bytes()[6:] == (tmp_path / "path.cbor").read_bytes()
    rplus = (tmp_path / "rplus.cbor").read_bytes()
    assert rplus[6 : 6 + out["rplus"]] == (tmp_path / "path.cbor").read_bytes()


def test_a_non_finite_float_is_found_before_a_byte_on_micropython(tmp_path: Path) -> None:
    """MicroPython's viper scan finds a NaN or infinity in a float32 buffer wherever it is (the
    first value, the last) before a file written in one pass (unsigned) gets its first byte,
    though its header (long sensor names) fills more than a stage."""
    code = f"""
import ei_ingest
for where in (0, 599 * 3 + 2):
    names = (("x" * 100, "u"), ("y" * 100, "u"), ("z" * 100, "u"))
    rec = ei_ingest.Recording(names, 10, 600, "f")
    rec.commit_rows(600)
    rec.buffer[where] = float("inf")
    path = "{tmp_path}/f%d.cbor" % where
    f = open(path, "w+b")
    try:
        ei_ingest.dump(rec, f, device_type="T")
        print("written")
    except ValueError as e:
        print(f.tell(), e)
    f.close()
"""
    out = run_micropython(code, code=True).stdout.decode().splitlines()
    assert out == [
        "0 row 0 axis " + "x" * 100 + ": inf is not a finite float32 value",
        "0 row 599 axis " + "z" * 100 + ": inf is not a finite float32 value",
    ]


def test_double_and_scaled_float_buffers_are_checked_as_what_they_hold() -> None:
    """The viper scan reads float32 bits, so only an unscaled float32 buffer may take it: a
    double whose low word looks like a float32 infinity is finite and is sent, and a float32
    reading that its scale takes past float32 is named before a byte is written. It reads the
    recorded rows only: an infinity left past them by clear() is not the file's."""
    code = """
import struct
import io
import ei_ingest
odd = struct.unpack("<d", struct.pack("<II", 0x7F800000, 0x3FF00000))[0]
rec = ei_ingest.Recording((("x", "u"),), 10, 4, "d")
for v in (1.5, odd, -odd, 2.5):
    rec.append((v,))
print(ei_ingest.dump(rec, io.BytesIO(), fmt="json", device_type="T") > 0)
reused = ei_ingest.Recording((("x", "u"),), 10, 4, "f")
reused.commit_rows(4)
reused.buffer[3] = float("inf")
reused.clear()  # the old rows stay in the buffer, past len(reused)
for v in (1.0, 2.0, 3.0):
    reused.append((v,))
print(ei_ingest.dump(reused, io.BytesIO(), device_type="T") > 0)
names = (("x" * 100, "u"), ("y" * 100, "u"), ("z" * 100, "u"))
rec = ei_ingest.Recording(names, 10, 600, "f", scale=1e10)
rec.commit_rows(600)
rec.buffer[599 * 3 + 2] = 1e30
f = io.BytesIO()
try:
    ei_ingest.dump(rec, f, device_type="T")
except ValueError as e:
    print(len(f.getvalue()), str(e).split(":")[0])
"""
    out = run_micropython(code, code=True).stdout.decode().splitlines()
    assert out == ["True", "True", "0 row 599 axis " + "z" * 100]
