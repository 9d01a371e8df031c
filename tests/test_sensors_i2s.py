"""I2S microphone: 32-bit slots -> int16 (bytecode and viper agree), capture into a Recording."""

from __future__ import annotations

import struct
from array import array

import ei_ingest
import machine
import pytest
import sim
from harness import run_micropython
from hypothesis import given
from hypothesis import strategies as st
from sensors import i2s_mic
from sensors.i2s_mic import I2SMic


def expected(slots, shift):
    out = []
    for (v,) in struct.iter_unpack("<i", slots):
        out.append(max(-32768, min(32767, v >> shift)))
    return out


@given(slots=st.binary(min_size=4, max_size=400).map(lambda b: b[: len(b) // 4 * 4]),
       gain=st.integers(0, 8))  # fmt: skip
def test_pack_matches_struct_arithmetic(slots, gain):
    n = len(slots) // 4
    dst = array("h", [0] * (n + 3))
    i2s_mic._pack(memoryview(bytearray(slots)), memoryview(dst), 3, n, 16 - gain)
    assert list(dst[3:]) == expected(slots, 16 - gain)


def test_viper_twin_gives_the_same_samples_on_micropython():
    code = (
        "from array import array\n"
        "import sensors.i2s_mic as m\n"
        "print(m._PACK is not m._pack)\n"
        "src = bytearray(4 * 512)\n"
        "for i in range(len(src)):\n"
        "    src[i] = (i * 7919 + (i >> 3) * 31 + 13) & 0xFF\n"
        "for k, s in enumerate((b'\\x00\\x00\\x00\\x80', b'\\xff\\xff\\xff\\x7f',"
        " b'\\x00\\xff\\xff\\xff', bytes(4))):\n"
        "    src[4 * k : 4 * k + 4] = s\n"
        "ok = True\n"
        "for shift in range(8, 17):\n"
        "    a = array('h', [0] * 520)\n"
        "    b = array('h', [0] * 520)\n"
        "    m._pack(memoryview(src), memoryview(a), 7, 512, shift)\n"
        "    m._PACK(memoryview(src), memoryview(b), 7, 512, shift)\n"
        "    ok = ok and a == b\n"
        "print(ok)\n"
    )
    out = run_micropython(code, code=True).stdout.decode().split()
    assert out == ["True", "True"]  # the viper version loaded, and agrees everywhere


def mic(bits, rate=16000):
    i2s = machine.I2S(0, sck=machine.Pin(14), ws=machine.Pin(15), sd=machine.Pin(13),
                      mode=machine.I2S.RX, bits=bits, format=machine.I2S.MONO, rate=rate,
                      ibuf=4000)  # fmt: skip
    i2s.paced = False
    return i2s


@pytest.mark.parametrize("bits", [16, 32])
def test_capture_fills_the_recording_with_the_tone(bits):
    m = I2SMic(mic(bits), bits=bits, block=100)
    rec = ei_ingest.Recording(m.axes, interval_ms=1000 / 16000, capacity=1000)
    assert m.capture(rec, 250) == 250
    assert m.capture(rec) == 750
    assert len(rec) == 1000
    assert list(rec.buffer) == [sim.tone(n, 16000) for n in range(1000)]


def test_gain_bits_shift_and_clip():
    m = I2SMic(mic(32), bits=32, gain_bits=3)
    rec = ei_ingest.Recording(m.axes, interval_ms=1000 / 16000, capacity=64)
    m.capture(rec)
    raw = bytearray(4 * 64)
    mic(32).readinto(raw)  # the same slots again, from a fresh sim I2S
    assert list(rec.buffer) == expected(raw, 13)
    assert max(rec.buffer) == 32767 and min(rec.buffer) == -32768  # 8 x 8000 clips
    assert rec.buffer[1] == 8 * sim.tone(1, 16000) + (raw[5] >> 5)  # 3061: not clipped


def test_capture_rejects_wrong_recordings():
    m = I2SMic(mic(32))
    with pytest.raises(ValueError, match="1-axis Recording with typecode 'h'"):
        m.capture(ei_ingest.Recording((("a", ""), ("b", "")), 1, 10))
    with pytest.raises(ValueError, match="1-axis Recording with typecode 'h'"):
        m.capture(ei_ingest.Recording((("a", ""),), 1, 10, typecode="i"))
    rec = ei_ingest.Recording((("a", ""),), 1, 10)
    with pytest.raises(ValueError, match="room for 10"):
        m.capture(rec, 11)
    with pytest.raises(ValueError, match="bits must be 16 or 32"):
        I2SMic(mic(32), bits=24)
