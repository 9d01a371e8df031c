"""Small public paths no other test ran: Recording.check(), BME280.read(), sensors.s16_be().
Each on CPython against an independent expectation, and once in the micropython interpreter."""

from __future__ import annotations

import json
import math
import struct
from array import array

import ei_ingest
import machine  # boards/sim/machine.py
import pytest
import sim
from bme280_reference import humidity_reference, pressure_int32_reference
from harness import run_micropython
from hypothesis import given
from hypothesis import strategies as st
from sensors import s16_be, s16_le
from sensors.bme280 import BME280

FLT_MAX = struct.unpack(">f", b"\x7f\x7f\xff\xff")[0]


# --- Recording.check ----------------------------------------------------------------------------


def test_check_passes_what_can_be_sent() -> None:
    ints = ei_ingest.Recording((("a", ""),), 10, 2, typecode="q")
    ints.append((2**62,))
    assert ints.check() is None  # ints without a scale are always sendable
    floats = ei_ingest.Recording((("a", ""), ("b", "")), 10, 2, typecode="d")
    floats.append((FLT_MAX, -FLT_MAX))
    floats.append((0.0, -1e-45))
    assert floats.check() is None
    scaled = ei_ingest.Recording((("a", ""),), 10, 1, typecode="h", scale=1e30)
    scaled.append((32767,))
    assert scaled.check() is None  # 3.3e34 is a float32


@pytest.mark.parametrize(
    ("typecode", "scale", "raw", "bad"),
    [
        ("d", None, [1.0, 2.0, 3.5e38, 4.0], "3.5e+38"),  # past the largest float32
        ("d", None, [1.0, -3.5e38, 0.0, 0.0], "-3.5e+38"),
        ("f", None, [1.0, 2.0, 1e39, 0.0], "inf"),  # the float32 buffer holds inf
        ("f", None, [0.0, math.nan, 1.0, 0.0], "nan"),
        ("h", (1.0, 1e35), [1, 1, 32767, 32767], repr(32767 * 1e35)),  # only the scale makes it big
    ],
)
def test_check_names_the_first_bad_value(
    typecode: str, scale: tuple[float, float] | None, raw: list[float], bad: str
) -> None:
    rec = ei_ingest.Recording((("x", ""), ("y", "")), 10, 2, typecode=typecode, scale=scale)
    # Written straight into the buffer, as a zero-copy sampler does (append() refuses nan/inf).
    for i, v in enumerate(raw):
        rec.buffer[i] = v
    rec.commit_rows(2)
    bad_at = next(i for i, v in enumerate(raw) if not -FLT_MAX <= v * (scale or (1, 1))[i % 2]
                  <= FLT_MAX)  # fmt: skip
    with pytest.raises(ValueError) as err:
        rec.check()
    row, axis = divmod(bad_at, 2)
    assert str(err.value).startswith(f"row {row} axis {'xy'[axis]}: "), err.value
    assert bad in str(err.value) and "float32" in str(err.value)


def test_check_on_micropython() -> None:
    code = (
        "import ei_ingest\n"
        "r = ei_ingest.Recording((('x', ''),), 10, 3, typecode='f')\n"
        "r.append((1.5,)); print(r.check())\n"
        "r.buffer[1] = 1e39; r.commit_rows(1)\n"
        "try:\n"
        "    r.check()\n"
        "except ValueError as e:\n"
        "    print(e)\n"
    )
    out = run_micropython(code, code=True).stdout.decode().splitlines()
    assert out[0] == "None"
    assert out[1].startswith("row 1 axis x: inf") and "float32" in out[1], out


# --- BME280.read ----------------------------------------------------------------------------


def test_bme280_read_gives_the_datasheet_values() -> None:
    sim.reset_bench()
    env = BME280(machine.I2C(0, scl=machine.Pin(18), sda=machine.Pin(19)))
    # adc_P = 415148, adc_T = 519888 (the datasheet's worked example), adc_H = 30000
    sim.device(0, 0x76).poke(0xF7, bytes([0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30]))
    got = env.read()
    assert isinstance(got, tuple) and all(type(v) is int for v in got)
    assert got == (2508, pressure_int32_reference(sim.BME280_CALIB, 128422, 415148),
                   humidity_reference(sim.BME280_H, 128422, 30000))  # fmt: skip
    assert got[:2] == (2508, 100656)
    out = array("i", [0] * 3)
    env.read_into(out, 0)
    assert tuple(out) == got, "read() is read_into() into a fresh array"
    sim.reset_bench()


def test_bme280_read_on_micropython() -> None:
    code = (
        "import machine, sim\n"
        "from sensors.bme280 import BME280\n"
        "env = BME280(machine.I2C(0, scl=machine.Pin(18), sda=machine.Pin(19)))\n"
        "sim.device(0, 0x76).poke(0xF7, bytes([0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30]))\n"
        "print(list(env.read()))\n"
    )
    got = json.loads(run_micropython(code, code=True).stdout.decode().splitlines()[-1])
    assert got == [2508, 100656, humidity_reference(sim.BME280_H, 128422, 30000)]


# --- sensors.s16_be -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"\x00\x00", 0), (b"\x00\x01", 1), (b"\x01\x00", 256), (b"\x7f\xff", 32767),
     (b"\x80\x00", -32768), (b"\xff\xff", -1), (b"\xff\x00", -256), (b"\x80\x01", -32767)],
)  # fmt: skip
def test_s16_be_fixed(data: bytes, value: int) -> None:
    assert s16_be(data, 0) == value
    assert s16_be(b"\xaa" + data + b"\x55", 1) == value, "at an offset"
    assert s16_le(data[::-1], 0) == value, "the little-endian twin agrees"


@given(st.binary(min_size=2, max_size=40), st.data())
def test_s16_be_matches_struct(buf: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(buf) - 2))
    assert s16_be(buf, i) == struct.unpack_from(">h", buf, i)[0]
    assert s16_be(bytearray(buf), i) == s16_be(memoryview(buf), i)


def test_s16_be_on_micropython() -> None:
    code = (
        "from sensors import s16_be\n"
        "b = bytes(range(256)) + bytes([0x80, 0x00, 0x7f, 0xff, 0xff, 0xff])\n"
        "print([s16_be(b, i) for i in range(len(b) - 1)])\n"
    )
    got = json.loads(run_micropython(code, code=True).stdout.decode().splitlines()[-1])
    b = bytes(range(256)) + bytes([0x80, 0x00, 0x7F, 0xFF, 0xFF, 0xFF])
    assert got == [struct.unpack_from(">h", b, i)[0] for i in range(len(b) - 1)]
