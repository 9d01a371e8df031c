"""The encoder on CPython: official vectors, properties over random recordings, bad input."""

from __future__ import annotations

import io
import json
import math
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import ei_float
import ei_ingest
import pytest
from daq import decode, f32, rows, signature_valid
from harness import VECTORS
from hypothesis import given, settings
from hypothesis import strategies as st
from scaled import check_fixed_text, json_texts

KEY = "fed53116f20684c067774ebf9e7bcbdc"
XYZ = (("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2"))
DOCS_ROWS = [(-9.81, 0.03, 1.21), (-9.83, 0.04, 1.27), (-9.12, 0.03, 1.23), (-9.14, 0.01, 1.25)]


class WriteOnly:
    """A stream with only write(), like a socket: forces the two-pass path."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.calls = 0

    def write(self, b: bytes) -> int:
        self.calls += 1
        self.data.extend(b)
        return len(b)


def docs_recording(rows: list[tuple[float, float, float]]) -> ei_ingest.Recording:
    rec = ei_ingest.Recording(XYZ, 10, len(rows), typecode="f")
    for r in rows:
        rec.append(r)
    return rec


def test_json_vector_reproduced_byte_for_byte() -> None:
    vector = (VECTORS / "docs-example-compact.json").read_bytes()
    assert signature_valid(vector, KEY)
    out = io.BytesIO()
    n = ei_ingest.dump(
        docs_recording(DOCS_ROWS), out, fmt="json", hmac_key=KEY,
        device_type="DISCO-L475VG-IOT01A", device_name="ac:87:a3:0a:2d:1b", iat=1564128599,
    )  # fmt: skip
    assert n == len(vector)
    assert out.getvalue() == vector


def test_cbor_vector_reproduced_byte_for_byte() -> None:
    vector = (VECTORS / "docs-example.cbor").read_bytes()
    assert signature_valid(vector, KEY)
    obj = decode(vector)
    cbor_rows = [tuple(f32(x) for x in r) for r in obj["payload"]["values"]]
    out = WriteOnly()
    ei_ingest.dump(
        docs_recording(cbor_rows), out, fmt="cbor", hmac_key=KEY,
        device_type="DISCO-L475VG-IOT01A", device_name="ac:87:a3:0a:2d:1b", iat=1564138813,
    )  # fmt: skip
    assert bytes(out.data) == vector
    assert decode(bytes(out.data)) == obj


def test_docs_values_round_trip_through_both_formats() -> None:
    want = decode((VECTORS / "docs-example-compact.json").read_bytes())
    for fmt in ("json", "cbor"):
        out = io.BytesIO()
        ei_ingest.dump(
            docs_recording(DOCS_ROWS), out, fmt=fmt, hmac_key=KEY,
            device_type="DISCO-L475VG-IOT01A", device_name="ac:87:a3:0a:2d:1b", iat=1564128599,
        )  # fmt: skip
        got = decode(out.getvalue())
        got_rows = [[round(f32(x), 6) for x in r] for r in got["payload"]["values"]]
        assert got_rows == want["payload"]["values"]
        for k in ("protected", "payload"):
            if k == "payload":
                got[k]["values"] = want[k]["values"]
            assert got[k] == want[k]


# --- properties over random recordings -------------------------------------------------------

RANGES = {"b": (-128, 127), "B": (0, 255), "h": (-32768, 32767), "H": (0, 65535),
          "i": (-(2**31), 2**31 - 1), "q": (-(2**63), 2**63 - 1)}  # fmt: skip


@st.composite
def recordings(draw: st.DrawFn) -> tuple[ei_ingest.Recording, list[list[Any]]]:
    typecode = draw(st.sampled_from("bBhHiqf"))
    axes = draw(st.integers(1, 5))
    n = draw(st.integers(1, 40))
    if typecode == "f":
        value = st.floats(width=32, allow_nan=False, allow_infinity=False)
    else:
        lo, hi = RANGES[typecode]
        value = st.integers(lo, hi)
    data = draw(st.lists(st.lists(value, min_size=axes, max_size=axes), min_size=n, max_size=n))
    scale = None
    if typecode != "f" and typecode != "q" and draw(st.booleans()):
        scale = draw(st.lists(st.floats(1e-6, 1e3), min_size=axes, max_size=axes))
    sensors = [(f"s{i}", draw(st.sampled_from(["m/s2", "Cel", "", "%RH"]))) for i in range(axes)]
    interval = draw(st.one_of(st.integers(1, 10000), st.floats(0.01, 1000)))
    rec = ei_ingest.Recording(sensors, interval, n + draw(st.integers(0, 3)), typecode, scale)
    for r in data:
        rec.append(r)
    return rec, data


@settings(max_examples=150, deadline=None)
@given(recordings(), st.sampled_from(["json", "cbor"]), st.sampled_from([KEY, None]))
def test_random_recordings(
    case: tuple[ei_ingest.Recording, list[list[Any]]], fmt: str, key: str | None
) -> None:
    rec, data = case
    seekable = io.BytesIO()
    n1 = ei_ingest.dump(rec, seekable, fmt=fmt, hmac_key=key, device_type="T")
    stream = WriteOnly()
    n2 = ei_ingest.dump(rec, stream, fmt=fmt, hmac_key=key, device_type="T")
    raw = seekable.getvalue()
    assert raw == bytes(stream.data) and n1 == n2 == len(raw)
    if key:
        assert signature_valid(raw, key)
    obj = decode(raw)
    got = rows(obj)
    assert len(got) == len(data)
    if rec.scale is not None and fmt == "json":  # fixed decimals (scaled.py has the rules)
        for texts, d in zip(json_texts(raw), data, strict=True):
            for text, v, s in zip(texts, d, rec.scale, strict=True):
                check_fixed_text(text, v, s)
        return
    for g, d in zip(got, data, strict=True):
        if rec.scale is not None:
            want = [f32(v * s) for v, s in zip(d, rec.scale, strict=True)]
            assert [f32(x) for x in g] == want
        elif rec.typecode == "f":
            assert [f32(x) for x in g] == [f32(x) for x in d]
        else:
            assert g == d


@settings(max_examples=3000, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_f32_text_is_shortest_round_trip(bits: int) -> None:
    if (bits >> 23) & 0xFF == 0xFF:
        return  # NaN and infinity are refused before formatting
    check_f32_text(bits)


def test_f32_text_near_every_one_digit_decimal() -> None:
    """The float32 values nearest d * 10**k (d 1-9, every k float32 reaches) and two ulps either
    side: where the one-digit text is or is not inside a value's readback interval."""
    for bits in near_one_digit_decimals():
        check_f32_text(bits)
        check_f32_text(bits | 0x80000000)


def near_one_digit_decimals() -> list[int]:
    """The float32 bit patterns nearest d * 10**k (d 1-9, every k float32 reaches), two ulps
    either side."""
    found = []
    for k in range(-45, 39):
        for d in range(1, 10):
            near = struct.unpack(">I", struct.pack(">f", min(d * 10.0**k, 3.4e38)))[0]
            found.extend(range(max(near - 2, 1), min(near + 3, 0x7F800000)))
    return found


def test_f32_text_when_log10_is_a_little_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A board with single-precision floats (ESP32) guesses a value's decimal exponent from a
    log10 good to about 1e-7, so the guess can be one too high or too low near a power of ten;
    the integer loop after it must correct either and write the same text."""
    values = near_one_digit_decimals()
    texts = [ei_float.f32_text(bits) for bits in values]

    class OffMath:
        def __init__(self, error: float) -> None:
            self.error = error

        def __getattr__(self, name: str) -> object:
            return getattr(math, name)

        def log10(self, x: float) -> float:
            return math.log10(x) + self.error

    for error in (3e-7, -3e-7):
        monkeypatch.setattr(ei_float, "math", OffMath(error))
        assert [ei_float.f32_text(bits) for bits in values] == texts


def check_f32_text(bits: int) -> None:
    text = ei_float.f32_text(bits)
    value = float(text)
    assert struct.unpack(">I", struct.pack(">f", value))[0] == bits or value == 0.0
    # CPython formats correctly rounded: the first precision that reads back is the shortest.
    x = struct.unpack(">f", struct.pack(">I", bits))[0]
    if x == 0:
        assert text == "0"
        return
    for p in range(1, 10):
        if f32(float(f"{x:.{p - 1}e}")) == x:
            break
    digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    assert len(digits) <= p
    assert text == ("-" if bits >> 31 else "") + js_layout(text.lstrip("-"))


def js_layout(text: str) -> str:
    """The same number laid out as JavaScript's Number.prototype.toString lays out its digits
    (ECMA-262 Number::toString): plain up to 21 integer digits, 0.000ddd down to 1e-6,
    d.ddde+x / d.ddde-x beyond."""
    sign, digit_tuple, exponent = Decimal(text).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return mantissa + ("e+" if n - 1 >= 0 else "e-") + str(abs(n - 1))


@pytest.mark.parametrize("ascii", [False, True])
def test_json_text_escapes_what_json_must(ascii: bool) -> None:
    """ei_json.text directly: quotes, backslashes and control characters escaped; non-ASCII as
    UTF-8, or with `ascii` (headers) as \\u escapes, a surrogate pair above U+FFFF. The
    library's own callers never pass a control character (check_text refuses them), so this
    is the only test of that branch. Python's json is the oracle."""
    import ei_json

    s = 'q"b\\c\x00\x01\x0f\x10\x1f~\x80é\u07ff\u0800€\uffff\U00010000\U0001f600\U0001f601 '
    out = bytearray()
    ei_json.text(out, s, ascii)
    assert out == json.dumps(s, ensure_ascii=ascii, separators=(",", ":")).encode()
    assert json.loads(out) == s


def test_json_files_are_what_json_stringify_writes() -> None:
    """A whole file against Python's json re-encoding what it decoded (JSON.stringify's output
    for ints and strings): the header's texts go as UTF-8, not as \\u escapes."""
    sensors = (("température", "°C"), ('q"\\', "\x80\U0001f600"))
    rec = ei_ingest.Recording(sensors, 10, 3, "h")
    for i in range(3):
        rec.append((i * 1000 - 1000, -i))
    for name, key in ((None, None), ("capteur-é", KEY)):
        out = io.BytesIO()
        ei_ingest.dump(rec, out, fmt="json", hmac_key=key, device_type="ESP32-ü", device_name=name)
        data = out.getvalue()
        assert "température".encode() in data
        again = json.dumps(json.loads(data), ensure_ascii=False, separators=(",", ":"))
        assert data == again.encode()


def test_stage_size_does_not_change_bytes() -> None:
    rec = ei_ingest.Recording(XYZ, 10, 500, "h")
    for i in range(500):
        rec.append((i, -i, i * 37 % 1000))
    outs = set()
    for size in (64, 100, 256, 1024, 4096):
        for fmt in ("json", "cbor"):
            s = WriteOnly()
            ei_ingest.dump(rec, s, fmt=fmt, hmac_key=KEY, device_type="T", stage_size=size)
            outs.add((fmt, bytes(s.data)))
    assert len(outs) == 2


def test_writes_whole_chunks() -> None:
    rec = ei_ingest.Recording(XYZ, 10, 2000, "h")
    for i in range(2000):
        rec.append((i, -i, 7))
    s = WriteOnly()
    n = ei_ingest.dump(rec, s, fmt="cbor", device_type="T", stage_size=256)
    assert s.calls == math.ceil(n / 256), "one write per full staging buffer"


def test_short_writes_are_completed() -> None:
    class Dribble(WriteOnly):
        def write(self, b: bytes) -> int:
            return super().write(bytes(b)[:7])

    rec = ei_ingest.Recording(XYZ, 10, 50, "h")
    for i in range(50):
        rec.append((i, i, i))
    a, b = Dribble(), io.BytesIO()
    ei_ingest.dump(rec, a, hmac_key=KEY, device_type="T")
    ei_ingest.dump(rec, b, hmac_key=KEY, device_type="T")
    assert bytes(a.data) == b.getvalue()


# --- bad input ----------------------------------------------------------------------------------


def make(**kw: Any) -> ei_ingest.Recording:
    args: dict[str, Any] = dict(sensors=XYZ, interval_ms=10, capacity=4, typecode="h")
    args.update(kw)
    return ei_ingest.Recording(**args)


BAD_RECORDINGS = [
    (dict(sensors=()), "give 1 to 255"),
    (
        dict(sensors=tuple((f"s{i}", "u") for i in range(256))),
        "give 1 to 255 (name, units) pairs, not 256",
    ),
    (dict(sensors=(("a", "x"), ("a", "y"))), "sensors[1] name 'a' is a duplicate"),
    (dict(sensors=(("", "x"),)), "sensors[0] name is empty"),
    (dict(sensors=(("a\nb", "x"),)), "sensors[0] name contains a control character"),
    (dict(sensors=(("a", "m\x00"),)), "sensors[0] units contains a control character"),
    (dict(sensors=(("a",),)), "sensors[0] must be a (name, units) pair"),
    (dict(sensors=((1, "x"),)), "sensors[0] name must be a string"),
    (dict(interval_ms=0), "interval_ms must be > 0"),
    (dict(interval_ms=-1.5), "interval_ms must be > 0"),
    (dict(interval_ms=float("nan")), "interval_ms must be finite"),
    (dict(interval_ms="10"), "interval_ms must be a number"),
    (dict(interval_ms=2**32), "interval_ms 4294967296 is 0 or too large"),
    (dict(interval_ms=1e-46), "is 0 or too large as the file holds it"),
    (dict(capacity=0), "capacity must be an int >= 1"),
    (dict(capacity=2.5), "capacity must be an int >= 1"),
    (dict(typecode="x"), "typecode must be one of"),
    (dict(typecode="hh"), "typecode must be one of"),
    (dict(typecode=5), "typecode must be one of"),
    (dict(scale=(1, 2)), "scale has 2 values for 3 axes"),
    (dict(scale=float("inf")), "scale[0] must be finite"),
]


def test_recordings_at_the_edges_of_what_is_allowed() -> None:
    """255 sensors given by a generator, interval_ms just below 2**32 and the smallest float32
    above 0 (a subnormal): each is taken, and written as given."""
    wide = make(sensors=((f"s{i}", "u") for i in range(255)), capacity=1)
    assert (wide.axes, wide.sensors[254]) == (255, ("s254", "u"))
    assert [(s, type(s)) for s in make(scale=2).scale] == [(2.0, float)] * 3, "one float an axis"
    assert make(scale=(-0.5, 0, 2)).scale == (-0.5, 0.0, 2.0), "any finite scale"
    assert not any(make(capacity=50).buffer), "a new buffer holds zeros"
    for iat in (10**9 + 1, 2**32 - 1):
        rec = make()
        rec.append((1, 2, 3))
        out = io.BytesIO()
        ei_ingest.dump(rec, out, fmt="json", device_type="T", iat=iat)
        assert json.loads(out.getvalue())["protected"]["iat"] == iat


def test_iat_just_outside_unix_seconds_is_refused() -> None:
    rec = make()
    rec.append((1, 2, 3))
    for iat in (10**9, 2**32):
        out = io.BytesIO()
        with pytest.raises(ValueError, match=rf"iat must be Unix seconds .*, not {iat}"):
            ei_ingest.dump(rec, out, fmt="json", device_type="T", iat=iat)
        assert out.getvalue() == b""


def test_a_scale_past_float32_is_caught_for_8_to_64_bit_readings() -> None:
    """A q reading of 2**62 times 1e25 is past float32's range: named before a byte is written,
    though 500 good rows come first (the quick test that skips the check for small enough
    scales must count each typecode's readings at their full width)."""
    for typecode, scale, big in (("q", 1e25, 2**62), ("i", 1e30, 2**31 - 1), ("h", 1e35, 32767)):
        rec = make(sensors=(("a", "u"),), typecode=typecode, scale=scale, capacity=501)
        for _ in range(500):
            rec.append((1,))
        rec.append((big,))
        for fmt in ("cbor", "json"):
            out = io.BytesIO()
            with pytest.raises(ValueError, match=r"row 500 axis a: "):
                ei_ingest.dump(rec, out, fmt=fmt, device_type="T")
            assert out.getvalue() == b""


def test_a_typecode_this_port_lacks_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real_array = ei_ingest.array

    def no_q(typecode: str, zeros: object) -> object:
        if typecode == "q":
            raise ValueError("bad typecode")
        return real_array(typecode, zeros)

    monkeypatch.setattr(ei_ingest, "array", no_q)
    with pytest.raises(ValueError, match="typecode 'q' is not supported by this port's array"):
        make(typecode="q")
    for interval_ms in (2**32 - 1, 1.4e-45):
        rec = make(interval_ms=interval_ms)
        rec.append((1, 2, 3))
        out = io.BytesIO()
        ei_ingest.dump(rec, out, fmt="json", device_type="T")
        assert f32(json.loads(out.getvalue())["payload"]["interval_ms"]) == f32(interval_ms)


@pytest.mark.parametrize("kwargs,message", BAD_RECORDINGS)
def test_bad_recording(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as e:
        make(**kwargs)
    assert message in str(e.value)


BAD_ROWS = [
    (dict(), (1, 2), "row has 2 values for 3 axes"),
    (dict(), (1, 2, 40000), "row 0 axis accZ: 40000 must be an int in -32768..32767"),
    (dict(), (1, 2.5, 3), "row 0 axis accY: 2.5 must be an int"),
    (dict(typecode="B"), (1, -1, 3), "must be an int in 0..255"),
    (dict(typecode="f"), (1, float("nan"), 3), "row 0 axis accY: nan must be a number"),
    (dict(typecode="f"), (float("-inf"), 1, 3), "row 0 axis accX: -inf must be finite"),
    (dict(typecode="f"), (1, "2", 3), "must be a number"),
]


@pytest.mark.parametrize("kwargs,row,message", BAD_ROWS)
def test_bad_row(kwargs: dict[str, Any], row: tuple[Any, ...], message: str) -> None:
    rec = make(**kwargs)
    with pytest.raises(ValueError) as e:
        rec.append(row)
    assert message in str(e.value)
    assert len(rec) == 0, "a refused row is not half-added"


def test_overflow_is_an_error_not_a_drop() -> None:
    rec = make(capacity=2)
    rec.append((1, 2, 3))
    rec.append((4, 5, 6))
    buffer = rec.buffer
    with pytest.raises(ei_ingest.RecordingFull):
        rec.append((7, 8, 9))
    with pytest.raises(ei_ingest.RecordingFull):
        rec.commit_rows(1)
    assert len(rec) == 2 and rec.buffer is buffer and list(rec.buffer) == [1, 2, 3, 4, 5, 6]
    rec.clear()
    assert len(rec) == 0
    rec.append((7, 8, 9))
    assert list(rec.buffer[:3]) == [7, 8, 9]


def filled(typecode: str = "f", n: int = 3, **kw: Any) -> ei_ingest.Recording:
    rec = make(typecode=typecode, capacity=n, **kw)
    for i in range(n):
        rec.append((i, i, i))
    return rec


def poisoned(value: float, row: int = 2, n: int = 5) -> ei_ingest.Recording:
    rec = filled(n=n)
    rec.buffer[row * 3 + 1] = value  # a zero-copy writer bypasses append()
    return rec


BAD_DUMPS: list[tuple[Any, dict[str, Any], str]] = [
    (filled(), dict(fmt="xml"), "fmt must be 'cbor', 'json' or 'binary'"),
    (filled(), dict(hmac_key=""), "hmac_key must be a non-empty"),
    (filled(), dict(hmac_key=12), "hmac_key must be"),
    (filled(), dict(device_type=""), "device_type is empty"),
    (filled(), dict(device_type="a\rb"), "device_type contains a control character"),
    (filled(), dict(device_name="x\ty"), "device_name contains a control character"),
    (filled(), dict(iat=-5), "iat must be Unix seconds"),
    (filled(), dict(iat=1.5), "iat must be Unix seconds"),
    (make(), dict(), "the recording is empty"),
    (poisoned(float("nan")), dict(fmt="json"), "row 2 axis accY: nan is not a finite"),
    (poisoned(float("inf")), dict(fmt="cbor"), "row 2 axis accY: inf is not a finite"),
    (poisoned(float("nan")), dict(fmt="json", hmac_key=KEY), "row 2 axis accY"),
    (poisoned(float("-inf"), 4), dict(fmt="cbor", hmac_key=KEY), "row 4 axis accY"),
    (filled("h", scale=3e38), dict(fmt="json"), "row 2 axis accX: 6e+38 is not a finite"),
    # Past the first stage: a stream written in one pass (unsigned) is checked before it.
    (poisoned(float("nan"), 150, 160), dict(fmt="json"), "row 150 axis accY: nan is not a"),
    (poisoned(float("inf"), 150, 160), dict(fmt="cbor"), "row 150 axis accY: inf is not a"),
    (filled("h"), dict(fmt="binary"), "fmt 'binary' needs a single-axis recording"),
]


@pytest.mark.parametrize("rec,kwargs,message", BAD_DUMPS)
@pytest.mark.parametrize("seekable", [True, False])
def test_bad_dump_writes_nothing(
    rec: ei_ingest.Recording, kwargs: dict[str, Any], message: str, seekable: bool
) -> None:
    stream: Any = io.BytesIO() if seekable else WriteOnly()
    kwargs = dict(kwargs)
    kwargs.setdefault("device_type", "T")
    with pytest.raises(ValueError) as e:
        ei_ingest.dump(rec, stream, **kwargs)
    assert message in str(e.value)
    written = stream.getvalue() if seekable else bytes(stream.data)
    assert written == b"", "nothing is written for bad input"


@pytest.mark.parametrize("mode", ["wb", "w+b", "ab", "a+b"])
def test_a_file_opened_by_the_caller_holds_what_was_there_the_file_and_what_follows(
    tmp_path: Path, mode: str
) -> None:
    """Patched in place ("wb", "w+b") or written in two passes (append modes, where a seek
    before a write does not hold): either way the signed file sits right after what the file
    held, and the caller's next write goes after it."""
    fresh = io.BytesIO()
    ei_ingest.dump(filled(), fresh, "cbor", KEY, "T")
    path = tmp_path / "f.cbor"
    path.write_bytes(b"before|")
    with open(path, mode) as f:
        if "w" in mode:
            f.write(b"before|")
        n = ei_ingest.dump(filled(), f, "cbor", KEY, "T")
        f.write(b"|after")
    assert n == len(fresh.getvalue())
    assert path.read_bytes() == b"before|" + fresh.getvalue() + b"|after"


def test_lazy_names_are_only_the_listed_ones() -> None:
    assert ei_ingest.Spool.__name__ == "Spool"
    for module_name in ("ei_spool", "ei_http", "ei_log"):
        with pytest.raises(
            AttributeError, match=f"module 'ei_ingest' has no attribute '{module_name}'"
        ):
            getattr(ei_ingest, module_name)


@pytest.mark.parametrize("length", [1, 32, 63, 64, 65, 200])
def test_hmac_matches_the_standard_library_for_keys_of_any_length(length: int) -> None:
    """Keys up to the 64-byte block are padded, longer ones hashed first (RFC 2104)."""
    import hashlib
    import hmac

    key = bytes((7 * i + length) & 0xFF for i in range(length))
    mac = ei_ingest.Hmac(key)
    mac.update(b"payload")
    mac.update(b" in two parts")
    expected = hmac.new(key, b"payload in two parts", hashlib.sha256).hexdigest()
    assert mac.hexdigest() == expected.encode()


def test_an_encoder_is_whole_again_after_a_bad_value() -> None:
    """The Encoder a Client or Spool keeps: a file refused for a bad value leaves nothing behind
    that the next file trips on."""
    fresh = io.BytesIO()
    ei_ingest.dump(filled(), fresh, "cbor", KEY, "T")
    # A seekable file is checked before it is written; a socket-like stream is measured first,
    # and the bad value stops that pass in the middle of a row.
    for stream in (io.BytesIO, WriteOnly):
        enc = ei_ingest.Encoder(256)
        with pytest.raises(ValueError, match="row 150 axis accY: inf"):
            ei_ingest.dump(poisoned(float("inf"), 150, 160), stream(), "cbor", KEY, "T",
                           encoder=enc)  # fmt: skip
        out = io.BytesIO()
        ei_ingest.dump(filled(), out, "cbor", KEY, "T", encoder=enc)
        assert rows(decode(out.getvalue())) == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
        assert out.getvalue() == fresh.getvalue()


def test_a_full_recording_says_so_and_commit_rows_counts_one() -> None:
    from ei_errors import RecordingFull

    rec = make(capacity=2)
    rec.append((1, 2, 3))
    rec.commit_rows()  # one row, written straight into the buffer
    assert len(rec) == 2
    with pytest.raises(RecordingFull) as err:
        rec.append((1, 2, 3))
    assert str(err.value) == "recording is full: 2 + 1 rows > capacity 2"
    with pytest.raises(RecordingFull, match=r"^recording is full: 2 \+ 1 rows"):
        rec.commit_rows()
    rec.commit_rows(0)  # a read that brought no rows, on a full recording too
    assert len(rec) == 2
    with pytest.raises(ValueError, match="stage_size must be at least 64 bytes"):
        ei_ingest.Encoder(63)
    assert ei_ingest.Encoder(64).size == 64


def test_binary_rules() -> None:
    audio = ei_ingest.Recording((("audio", "wav"),), 0.0625, 8, "h", scale=2)
    audio.append((1,))
    with pytest.raises(ValueError, match="scale works only with typecode 'f'"):
        ei_ingest.dump(audio, io.BytesIO(), fmt="binary")
    multi = ei_ingest.Recording((("a", "wav"),), 1, 8, "b")
    multi.append((1,))
    with pytest.raises(ValueError, match="typecode 'h', 'H' or 'f'"):
        ei_ingest.dump(multi, io.BytesIO(), fmt="binary")


def binary_f32(values: list[float], scale: float | None = None) -> ei_ingest.Recording:
    rec = ei_ingest.Recording((("audio", "wav"),), 0.0625, 8, "f", scale=scale)
    for v in values:
        rec.append((v,))
    return rec


def test_binary_f32_takes_the_whole_float32_range() -> None:
    """The largest float32 either way is a sample like any other, in the raw little-endian
    bytes at the end of the file."""
    flt_max = 3.4028234663852886e38
    out = io.BytesIO()
    n = ei_ingest.dump(binary_f32([flt_max, -flt_max, 0.5]), out, fmt="binary", device_type="T")
    raw = out.getvalue()
    assert n == len(raw) and raw[-12:] == struct.pack("<3f", flt_max, -flt_max, 0.5)


@pytest.mark.parametrize("seekable", [True, False])
@pytest.mark.parametrize(
    ("values", "scale", "message"),
    [
        ([1.0, 2.0, float("inf"), 4.0], None, "row 2 axis audio: inf is not a finite float32"),
        ([float("-inf")], None, "row 0 axis audio: -inf is not a finite float32"),
        ([1.0, float("nan")], None, "row 1 axis audio: nan is not a finite float32"),
        # 2**123 * 16 fits, 2**125 * 16 (2**129) does not
        ([1.0, 2.0**123, 2.0**125], 16.0, f"row 2 axis audio: {2.0**129!r} is not a finite"),
        ([1.0, 2.0**123, -(2.0**125)], 16.0, f"row 2 axis audio: {-(2.0**129)!r} is not a"),
    ],
)
def test_binary_f32_refuses_what_float32_cannot_hold(
    values: list[float], scale: float | None, message: str, seekable: bool
) -> None:
    rec = binary_f32([0.0] * len(values), scale)
    for i, v in enumerate(values):
        rec.buffer[i] = v  # a zero-copy writer bypasses append()'s checks
    stream: Any = io.BytesIO() if seekable else WriteOnly()
    with pytest.raises(ValueError) as e:
        ei_ingest.dump(rec, stream, fmt="binary", device_type="T", hmac_key=KEY)
    assert str(e.value).startswith(message), str(e.value)
    assert (stream.getvalue() if seekable else bytes(stream.data)) == b""


def test_file_on_disk_patched_in_place(tmp_path: Path) -> None:
    rec = filled("h", n=4)
    path = tmp_path / "a.cbor"
    with open(path, "wb") as f:
        f.write(b"prefix")
        n = ei_ingest.dump(rec, f, hmac_key=KEY, device_type="T")
    raw = path.read_bytes()
    assert raw[:6] == b"prefix" and len(raw) == 6 + n
    assert signature_valid(raw[6:], KEY)
