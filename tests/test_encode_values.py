"""Scaled readings and float32 values, the way users record them, through the row kernels.

Every int16 and uint16 reading with several scales (9.80665/16384 and 1/131 among them) and
float32 bit patterns of every exponent are encoded by the micropython unix port (viper
kernels), by CPython (the plain twins) and, when ../shared/micropython32 is there, by the
32-bit interpreter (viper in 32-bit machine words, like the boards). The files must be
byte-identical, and are checked here without lib/: CBOR against an encoder written in this
file over CPython's struct float32 of raw * scale, JSON against the fixed-decimal rules
(scaled.py) and the shortest round-trip float32 text.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import ei_fixed
import ei_forward
import ei_ingest
import ei_sampler
import pytest
from daq import f32
from harness import ROOT, SCENARIOS, run_cpython, run_micropython
from scaled import check_fixed_column, decimals, json_texts

G = 9.80665
SCALES = (G / 16384, 1 / 131, 0.01, 3.3 / 65535, -0.5, 1 / 1024, 0.0039 * G, 1 / 16.4, 1.0)
WIDE = (1e-30, 7.1e-8, 1e30, 3e-6, 2.5, 1e6 + 0.5, 0.0, 1e-40,
        -5e-324, 1e-300, 536870911.0, 536870912.0)  # as in scenarios/encode_values.py  # fmt: skip
MP32 = ROOT.parent / "shared" / "micropython32"


def run_mp32(tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The scenario on the 32-bit interpreter, lib/ compiled for its x86 native emitter."""
    build = tmp / "x86"
    for src in (ROOT / "lib").rglob("*.py"):
        out = build / src.relative_to(ROOT / "lib").with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        cross = [str(MP32 / "bin" / "mpy-cross"), "-march=x86", "-o", str(out), str(src)]
        subprocess.run(cross, check=True)
    env = dict(os.environ, MICROPYPATH=f"{build}:{ROOT / 'boards' / 'sim'}")
    cmd = [str(MP32 / "bin" / "micropython-board32"), "-X", "heapsize=64M"]
    cmd += [str(SCENARIOS / "encode_values.py"), *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


needs_mp32 = pytest.mark.skipif(
    not (MP32 / "bin" / "micropython-board32").exists(), reason="no ../shared/micropython32"
)


def encode_everywhere(kind: str, tmp_path: Path, names: list[str]) -> dict[str, bytes]:
    """Run KIND on the 64-bit micropython and CPython; their files must be byte-identical."""
    files: dict[str, bytes] = {}
    script = SCENARIOS / "encode_values.py"
    for runtime in ("mp", "cp"):
        out = str(tmp_path / runtime)
        if runtime == "mp":
            proc = run_micropython(script, kind, out, heapsize="4M", timeout=600)
        else:
            proc = run_cpython(script, kind, out, timeout=600)
        assert proc.stdout.split()[-1] == b"ok"
        for name in names:
            data = (tmp_path / f"{runtime}{name}").read_bytes()
            if runtime == "cp":
                assert data == files[name], f"{kind}{name}: CPython differs from micropython"
            files[name] = data
    return files


def cbor_float(x: float) -> bytes:
    """One value as the official example writes it: float16 where exact, else float32."""
    try:
        half = struct.pack(">e", x)
        if struct.unpack(">e", half)[0] == x:
            return b"\xf9" + half
    except OverflowError:
        pass
    return b"\xfa" + struct.pack(">f", x)


def reads_back(text: str, x: float) -> bool:
    try:
        return f32(float(text)) == x
    except OverflowError:  # beyond float32's largest: not this value
        return False


def cbor_values(raw: bytes) -> bytes:
    start = raw.index(b"\x66values\x9f") + 8
    assert raw[-1:] == b"\xff"
    return raw[start:-1]


def readings(typecode: str) -> list[int]:
    return [r - 32768 if typecode == "h" else r for r in range(65536)]


@pytest.fixture(scope="module")
def scaled_files(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, bytes]]:
    """Every reading of a typecode with SCALES, encoded once for the tests that read it."""
    made: dict[str, dict[str, bytes]] = {}

    def files(typecode: str) -> dict[str, bytes]:
        if typecode not in made:
            tmp = tmp_path_factory.mktemp(f"scaled-{typecode}")
            made[typecode] = encode_everywhere(f"scaled-{typecode}", tmp, [".cbor", ".json"])
        return made[typecode]

    return files


@pytest.mark.parametrize("typecode", ["h", "H"])
def test_scaled_cbor_is_float32_of_raw_times_scale(
    typecode: str, scaled_files: Callable[[str], dict[str, bytes]]
) -> None:
    files = scaled_files(typecode)
    head = bytes([0x80 | len(SCALES)])
    want = b"".join(
        head + b"".join(cbor_float(f32(raw * s)) for s in SCALES) for raw in readings(typecode)
    )
    assert cbor_values(files[".cbor"]) == want


@pytest.mark.parametrize("typecode", ["h", "H"])
def test_scaled_json_is_fixed_decimals_that_identify_the_reading(
    typecode: str, scaled_files: Callable[[str], dict[str, bytes]]
) -> None:
    files = scaled_files(typecode)
    texts = json_texts(files[".json"])
    assert len(texts) == 65536
    raws = readings(typecode)
    for k, scale in enumerate(SCALES):
        check_fixed_column([row[k] for row in texts], raws, scale)
    # the decimals the README promises for the drivers' scales
    first = texts[-1]
    assert [len(t.split(".")[1]) if "." in t else 0 for t in first] == [4, 3, 2, 5, 1, 4, 2, 2, 0]


def test_scales_beyond_fixed_decimals(tmp_path: Path) -> None:
    """Tiny and huge scales: JSON falls back to float32 text, CBOR stays float32(raw * scale);
    a large scale that fixed decimals still take goes through the plain twin."""
    names = [f"-{k}.{fmt}" for k in range(len(WIDE)) for fmt in ("cbor", "json")]
    files = encode_everywhere("wide", tmp_path, names)
    raws = readings("h")
    for k, scale in enumerate(WIDE):
        want = b"".join(b"" + cbor_float(f32(raw * scale)) for raw in raws)
        assert cbor_values(files[f"-{k}.cbor"]) == want, scale
        texts = [row[0] for row in json_texts(files[f"-{k}.json"])]
        d = decimals(scale)
        if scale != 0 and (d > 20 or abs(Fraction(scale)) * 10**d >= 2**29):
            assert all(
                f32(float(t)) == f32(raw * scale) for t, raw in zip(texts, raws, strict=True)
            )
        else:
            check_fixed_column(texts, raws, scale)


def test_float32_values(tmp_path: Path) -> None:
    """Float32 buffers: CBOR carries the bits (float16 where exact), JSON the shortest text
    that reads back as the same float32 (checked independently on every 5th value)."""
    files = encode_everywhere("f32", tmp_path, [".bits", ".cbor", ".json"])
    bits = [b for (b,) in struct.iter_unpack("<I", files[".bits"])]
    rows = len(bits) // 3
    values = [struct.unpack("<f", struct.pack("<I", b))[0] for b in bits[: 3 * rows]]
    want = b"".join(
        b"\x83" + b"".join(cbor_float(v) for v in values[3 * r : 3 * r + 3]) for r in range(rows)
    )
    assert cbor_values(files[".cbor"]) == want
    texts = [t for row in json_texts(files[".json"]) for t in row]
    assert len(texts) == len(values)
    for i in range(0, len(values), 5):
        text, x = texts[i], values[i]
        assert f32(float(text)) == x, (hex(bits[i]), text)
        if x == 0:
            assert text == "0"
            continue
        shortest = next(p for p in range(1, 10) if reads_back(f"{x:.{p - 1}e}", x))
        digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
        assert len(digits) <= shortest, (text, shortest)


def printed_by_both(code: str) -> tuple[str, str]:
    """What `code` prints in this CPython (the plain twins) and in micropython (viper)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    return printed.getvalue(), run_micropython(code, code=True).stdout.decode()


FLOAT_TEXTS = """
import io, ei_ingest
vals = [2.0 ** k for k in range(-33, 26)] + [-(2.0 ** k) for k in range(-33, 26, 5)]
vals += [1.5e-7, 2.5e-9, 9.5e-10, 1.1e-6, 3.7e-8, 1.2e-10, 4.4e-8, 6.1e-9, 12345.5, 0.125]
rec = ei_ingest.Recording((("a", "u"),), 10, len(vals), "f")
for v in vals:
    rec.append((v,))
out = io.BytesIO()
ei_ingest.dump(rec, out, "json")
print(out.getvalue().split(b'"values":[')[1].split(b"]")[0].decode())
"""


def test_float32_texts_at_powers_of_two_and_in_exponent_form() -> None:
    """The viper kernel's edges: every power of two in its range (the gap below is half the gap
    above) and values written as d.de-n: micropython's texts are CPython's plain ones."""
    plain, ours = printed_by_both(FLOAT_TEXTS)
    assert ours == plain
    texts = ours.strip().split(",")
    assert texts[-10:] == ["1.5e-7", "2.5e-9", "9.5e-10", "0.0000011", "3.7e-8", "1.2e-10",
                           "4.4e-8", "6.1e-9", "12345.5", "0.125"]  # fmt: skip


def test_kernels_and_plain_twins_write_the_same_bytes_on_micropython() -> None:
    out = run_micropython(SCENARIOS / "encode_values.py", "twins", "-", heapsize="64M")
    assert out.stdout.decode().split() == ["same", "30"]


# (reading, integer scale) whose product has each count of digits, and one less: the viper
# kernel counts a value's digits against a table of powers of ten.
DIGITS = [(9, 1), (10, 1), (99, 1), (100, 1), (999, 1), (1000, 1), (9999, 1), (10, 1000),
          (9, 11111), (10, 10000), (999, 1001), (100, 10000), (2151, 4649), (1000, 10000),
          (9999, 10001), (10000, 10000), (62500, 16000)]  # fmt: skip


def test_fixed_text_at_every_digit_count_on_micropython() -> None:
    code = (
        "import io, ei_ingest\n"
        f"for raw, scale in {DIGITS!r}:\n"
        "    rec = ei_ingest.Recording((('a', 'u'), ('b', 'u')), 10, 1, 'H', (scale, 1))\n"
        "    rec.append((raw, 1))\n"
        "    out = io.BytesIO()\n"
        "    ei_ingest.dump(rec, out, 'json')\n"
        "    print(out.getvalue().split(b'[[')[1].split(b',')[0].decode())\n"
    )
    got = run_micropython(code, code=True).stdout.decode().split()
    assert got == [str(raw * scale) for raw, scale in DIGITS]


@needs_mp32
def test_32bit_interpreter_same_bytes(tmp_path: Path) -> None:
    """The viper kernels in 32-bit machine words (x86 emitter) write the 64-bit port's bytes."""
    proc = run_mp32(tmp_path, "twins", "-")
    assert proc.stdout.decode().split() == ["same", "30"]
    wide = [f"-{k}.{fmt}" for k in range(len(WIDE)) for fmt in ("cbor", "json")]
    for kind, names in (("scaled-h", [".cbor", ".json"]), ("f32", [".cbor", ".json"]),
                        ("wide", wide)):  # fmt: skip
        run_mp32(tmp_path, kind, str(tmp_path / "m32"))
        run_micropython(SCENARIOS / "encode_values.py", kind, str(tmp_path / "m64"), heapsize="4M")
        for name in names:
            a = (tmp_path / f"m32{name}").read_bytes()
            assert a == (tmp_path / f"m64{name}").read_bytes(), f"{kind}{name}"


def test_forwarder_lines_are_the_json_texts() -> None:
    """One fixed-decimal implementation: the Forwarder prints what JSON sends."""

    class Source:
        typecode = "h"
        axes = tuple((f"a{k}", "u") for k in range(len(SCALES)))
        scale = SCALES
        value = 0

        def read_into(self, buf: object, off: int) -> None:
            for k in range(len(SCALES)):
                buf[off + k] = self.value  # type: ignore[index]

    src = Source()
    sink = io.BytesIO()
    fw = ei_forward.Forwarder((src,), stream=sink)
    rec = ei_ingest.Recording(src.axes, 10, 600, "h", SCALES)
    for i in range(600):
        src.value = (i * 7919) % 65536 - 32768
        fw.write_row()
        rec.append((src.value,) * len(SCALES))
    out = io.BytesIO()
    ei_ingest.dump(rec, out, fmt="json", device_type="T")
    lines = sink.getvalue().decode().splitlines()
    assert lines == [",".join(row) for row in json_texts(out.getvalue())]


def test_sensor_sources_record_ints_with_a_scale() -> None:
    """Sampling into floats would box a float per value on a board: the drivers give ints
    and a scale, so recording_for() makes an int recording (the kernels' fast path)."""
    import machine  # type: ignore[import-not-found]
    import sim  # type: ignore[import-not-found]
    from sensors.analog import AnalogIn
    from sensors.bme280 import BME280
    from sensors.mpu6050 import MPU6050

    sim.reset_bench()
    i2c = machine.I2C(0, scl=machine.Pin(18), sda=machine.Pin(19))
    sources = {
        "BME280": BME280(i2c),
        "BME280 precise": BME280(i2c, precise=True),
        "MPU6050": MPU6050(i2c),
        "AnalogIn ESP32": AnalogIn(34, atten=machine.ADC.ATTN_11DB),
        "AnalogIn RP2040": AnalogIn(26, port="rp2"),
        "AnalogIn RP2040 temperature": AnalogIn(4, port="rp2"),
    }
    for name, src in sources.items():
        rec = ei_sampler.recording_for((src,), 10, 4)
        assert rec.typecode in "hi", name
        assert rec.scale is not None and all(isinstance(s, float) for s in rec.scale), name
    sim.reset_bench()


def test_an_int16_recording_loads_no_value_module() -> None:
    code = """
import sys, io, ei_ingest
VALUES = ('ei_float', 'ei_fixed', 'ei_f32cbor', 'ei_f32text')
def loaded():
    return sorted(m for m in VALUES if m in sys.modules)
class W:
    def write(self, b):
        return len(b)
for tc, scale, fmt in (('h', None, 'cbor'), ('h', None, 'json'), ('h', 0.01, 'cbor'),
                       ('h', 0.01, 'json'), ('f', None, 'cbor'), ('f', None, 'json')):
    for m in VALUES:
        sys.modules.pop(m, None)
    rec = ei_ingest.Recording((('x', 'u'), ('y', 'u')), 10, 50, tc, scale)
    for i in range(50):
        rec.append((i, -i))
    ei_ingest.dump(rec, W(), fmt=fmt, hmac_key='k', device_type='T')
    print(tc, scale is not None, fmt, ','.join(loaded()) or '-')
"""
    out = run_micropython(code, code=True).stdout.decode().splitlines()
    assert out == [
        "h False cbor -",
        "h False json -",
        "h True cbor ei_f32cbor",
        "h True json ei_fixed",
        "f False cbor ei_f32cbor",
        "f False json ei_f32text",
    ]


def test_bad_values_stop_the_viper_kernels() -> None:
    """NaN, infinity and a scale that takes readings past float32: a ValueError naming the
    row and axis from the viper path too, before anything is written to a socket-like
    stream (pass 1 finds it)."""
    code = """
import ei_ingest
class W:
    n = 0
    def write(self, b):
        self.n += len(b)
        return len(b)
for tc, scale, fmt, value in (('f', None, 'json', float('nan')), ('f', None, 'cbor', float('inf')),
                              ('H', 1e34, 'cbor', 65535), ('H', 1e34, 'json', 65535)):
    rec = ei_ingest.Recording((('x', 'u'), ('y', 'u')), 10, 300, tc, scale)
    for i in range(300):
        rec.append((1, 2))
    rec.buffer[2 * 250 + 1] = value
    w = W()
    try:
        ei_ingest.dump(rec, w, fmt=fmt, hmac_key='k', device_type='T')
        print('no error')
    except ValueError as e:
        print(fmt, w.n, e)
"""
    out = run_micropython(code, code=True).stdout.decode().splitlines()
    assert out == [
        "json 0 row 250 axis y: nan is not a finite float32 value",
        "cbor 0 row 250 axis y: inf is not a finite float32 value",
        "cbor 0 row 250 axis y: 6.5535e+38 is not a finite float32 value",
        "json 0 row 250 axis y: 6.5535e+38 is not a finite float32 value",
    ]


FORWARDER_LINES = """
import hashlib, io, ei_forward
class Source:
    typecode = "h"
    axes = (("a", "u"),)
    def __init__(self, scale):
        self.scale = (scale,)
for scale, places in ((0.0003, 0), (0.00045, 0), (0.00026, 1), (3e-19, 20), (3.0, 0)):
    f = ei_forward.Forwarder((Source(scale),), stream=io.BytesIO(), decimals=places)
    h = hashlib.sha256()
    for raw in range(-32768, 32768, 3):
        f._row[0] = raw
        h.update(f._line[: f.format_row(f._row)])
    print(h.digest()[:8].hex(), f._line[: f.format_row(f._row)].decode().strip())
"""


def test_forwarder_lines_with_decimals_given_on_both_runtimes() -> None:
    """decimals=0 with tiny scales (the factor's shift at the viper kernel's limit of 24 and one
    past it, for the plain twin), and the largest decimals, 20: micropython's viper kernel
    writes CPython's plain lines, and the last reading (32767) reads as raw * scale."""
    plain, ours = printed_by_both(FORWARDER_LINES)
    assert ours == plain
    last = [float(line.split()[1]) for line in ours.splitlines()]
    assert last == [round(32767 * 0.0003), round(32767 * 0.00045), 8.5, 9.8301e-15, 98301.0]


@pytest.mark.parametrize("decimals", [-1, 21, 2.5, True, "2"])
def test_forwarder_refuses_bad_decimals(decimals: object) -> None:
    class Source:
        typecode = "h"
        axes = (("a", "u"),)
        scale = (0.01,)

    with pytest.raises(ValueError, match="decimals must be an int from 0 to 20"):
        ei_forward.Forwarder((Source(),), stream=io.BytesIO(), decimals=decimals)


FORWARDER_EDGES = """
import io, ei_forward
class Source:
    typecode = "i"
    def __init__(self, scale):
        self.axes = tuple(("a%d" % k, "u") for k in range(len(scale)))
        self.scale = scale
for scale, decimals in (((536870911.0, 536870911.0 / 1e20 * 0.999), None), ((5.3e-12,), 20),
                        ((536870912.0,), None), ((5.4e-12,), 20)):
    try:
        f = ei_forward.Forwarder((Source(scale),), stream=io.BytesIO(), decimals=decimals)
    except ValueError as e:
        print(e)
        continue
    for raw in (-2**31, 2**31 - 1, 3):
        for k in range(len(scale)):
            f._row[k] = raw
        n = f.format_row(f._row)
        print(len(f._line), n, f._line[:n].decode().strip())
"""


def test_forwarder_lines_at_the_limits_of_fixed_decimals_on_both_runtimes() -> None:
    """The longest lines (int32 readings at both ends times a factor just below 2**29, and 20
    decimals) fit the line buffer, and a factor of 2**29 is refused by name."""
    plain, ours = printed_by_both(FORWARDER_EDGES)
    assert ours == plain
    lines = ours.splitlines()
    refused = "Forwarder: every scale * 10**decimals must be below 2**29, decimals at most 20"
    assert lines[6] == lines[7] == refused and len(lines) == 8
    for line in lines[:6]:
        size, n, text = line.split()
        assert int(n) <= int(size)
        assert all(len(v) <= 23 for v in text.split(","))
    assert lines[0].split()[2].startswith(f"-{2**31 * 536870911},")
    assert lines[3].split()[2] == "-0.01138166333439999872"  # 21 digits, a sign and a point


@pytest.mark.parametrize(
    "value", [2.0**-20, 0.5, 0.75, 1 / 3, 0.999999, 1.5, 2.5e-7, 5.985, 4095.5, 5000.5, 8191.9]
)
def test_a_factor_keeps_42_bits(value: float) -> None:
    """ei_fixed.factor(): a value that is not a small integer becomes (m1 + m2 / 2**14 +
    m3 / 2**28) / 2**s with m1 of exactly 14 bits (the most a viper product allows), so the
    factor keeps 42 bits and is rounded to the nearest of them."""
    m1, m2, m3, s = ei_fixed.factor(value)
    assert 1 << 13 <= m1 < 1 << 14 and 0 <= m2 < 1 << 14 and 0 <= m3 < 1 << 14 and s > 0
    bits = (m1 << 28) | (m2 << 14) | m3
    assert abs(Fraction(bits, 2 ** (s + 28)) - Fraction(value)) <= Fraction(1, 2 ** (s + 29))


@pytest.mark.parametrize("value", [0.0, 1.0, 7.0, 10000.0, 16383.0])
def test_a_small_integer_factor_is_exact(value: float) -> None:
    assert ei_fixed.factor(value) == (int(value), 0, 0, 0)
