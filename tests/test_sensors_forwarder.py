"""Serial output for edge-impulse-data-forwarder: numbers only, one line per sample, commas."""

from __future__ import annotations

import io
import re
from array import array

import ei_forward
import pytest
from harness import ROOT, run_micropython
from hypothesis import given
from hypothesis import strategies as st
from smallint import Small  # an int that fails at 2**30

G = 9.80665


class Fixed:
    typecode = "h"

    def __init__(self, values, scale, units="u"):
        self.values = values
        self.axes = tuple((f"a{i}", units) for i in range(len(values)))
        self.scale = scale

    def read_into(self, buf, off):
        for i, v in enumerate(self.values):
            buf[off + i] = v


def line_for(values, scale, decimals=None):
    out = io.BytesIO()
    fw = ei_forward.Forwarder((Fixed(values, scale),), stream=out, decimals=decimals)
    fw.write_row()
    return out.getvalue().decode()


def test_format_known_values():
    assert line_for([8192, -8192, 0], (G / 16384,) * 3) == "4.9033,-4.9033,0.0000\n"
    assert line_for([16383, -1], (G / 16384,) * 2) == "9.8061,-0.0006\n"  # 9.806051, -0.000599
    assert line_for([131, -262], (1 / 131, 1 / 131)) == "1.000,-2.000\n"
    assert line_for([2508, 5], (0.01, 0.01)) == "25.08,0.05\n"
    assert line_for([-5], (0.01,)) == "-0.05\n"
    assert line_for([7, 12], (1.0, 2.0)) == "7,24\n"


@given(
    raw=st.integers(-32768, 32767),
    scale=st.sampled_from([G / 16384, G / 2048, 1 / 131, 1 / 16.4, 0.0039 * G, 0.01, 1e-3, 0.5]),
)
def test_format_matches_float_within_one_step(raw, scale):
    text = line_for([raw], (scale,))
    assert re.fullmatch(r"-?\d+(\.\d+)?\n", text)
    decimals = len(text.strip().split(".")[1]) if "." in text else 0
    assert float(text) == pytest.approx(raw * scale, abs=10**-decimals + abs(raw * scale) * 1e-4)


def test_forwarder_from_micropython_sim_board():
    proc = run_micropython(ROOT / "examples" / "forwarder.py", "50")
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 50
    for line in lines:
        assert re.fullmatch(r"-?\d+\.\d+(,-?\d+\.\d+){5}", line), line
    rows = [[float(v) for v in line.split(",")] for line in lines]
    for r in rows:
        assert 0.89 * G < r[2] < 1.11 * G  # gravity plus the sim's 0.1 g wobble on Z
        assert abs(r[0]) < 0.31 * G and abs(r[3]) < 41


def test_forwarder_lines_from_a_row_buffer():
    fw = ei_forward.Forwarder((Fixed([0, 0], (0.01, 0.01)),), stream=io.BytesIO())
    n = fw.format_row(array("h", [-1234, 99]))
    assert bytes(fw._line[:n]) == b"-12.34,0.99\n"


def test_float_sources_are_refused():
    src = Fixed([1], (1.0,))
    src.typecode = "f"
    with pytest.raises(ValueError, match="ints"):
        ei_forward.Forwarder((src,))


@given(
    raw=st.integers(-32768, 32767),
    scale=st.sampled_from([G / 16384, G / 2048, 1 / 131, 1 / 16.4, 0.0039 * G, 0.01, 1e-6]),
)
def test_format_int16_stays_in_small_ints(raw, scale):
    fw = ei_forward.Forwarder((Fixed([0], (scale,)),), stream=io.BytesIO())

    class Row:
        def __getitem__(self, k):
            return Small(raw)  # any intermediate >= 2**30 would fail (a board allocation)

    n = fw.format_row(Row())
    text = bytes(fw._line[:n]).decode()
    decimals = len(text.strip().split(".")[1]) if "." in text else 0
    assert float(text) == pytest.approx(raw * scale, abs=0.5 * 10**-decimals + 1e-9)
