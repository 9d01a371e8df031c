"""Independent rules for scaled readings, for tests (nothing here imports lib/).

What the encoders promise for a raw integer reading with a scale:
- JSON: raw * scale with d decimals, d the fewest for which |scale| * 10**d >= 1 (1e-6 slack),
  rounded half away from zero (to within 2**-20 of a unit); for |raw| < 2**16 the text
  identifies the reading: round(text / scale) == raw.
- CBOR: float32(raw * scale) as the runtime computes it (double, then float32 on CPython).
"""

from __future__ import annotations

import json
import re
import struct
from decimal import Decimal
from fractions import Fraction
from typing import Any


def decimals(scale: float) -> int:
    x = abs(Decimal(scale))
    if x == 0:
        return 0
    d = 0
    while x * 10**d < Decimal("0.999999"):
        d += 1
    return d


def json_texts(raw: bytes) -> list[list[str]]:
    """The number texts of payload.values, as written (rows, even for a flat list)."""
    obj = json.loads(raw, parse_float=str, parse_int=str)
    values: list[Any] = obj["payload"]["values"]
    return [v if isinstance(v, list) else [v] for v in values]


def check_fixed_text(text: str, raw: int, scale: float) -> None:
    d = decimals(scale)
    pattern = r"-?\d+" + (rf"\.\d{{{d}}}" if d else "")
    assert re.fullmatch(pattern, text), f"{text!r}: not {d} decimals for scale {scale!r}"
    got = Fraction(text)
    exact = Fraction(raw) * Fraction(scale)
    unit = Fraction(1, 10**d)
    factor = abs(Fraction(scale)) * 10**d
    slack = Fraction(1, 2**20) + abs(raw) * factor / 2**41  # the 42-bit factor's error
    assert abs(got - exact) <= unit * (Fraction(1, 2) + slack), (text, raw, scale)
    if got == 0 and text.startswith("-"):
        raise AssertionError(f"{text!r}: negative zero")
    if abs(raw) < 2**16 and scale != 0:
        assert round(got / Fraction(scale)) == raw, f"{text!r} does not identify raw {raw}"


def f32_bits(x: float) -> int:
    """CPython's float32 of a double (round to nearest even), as bits."""
    return int(struct.unpack("<I", struct.pack("<f", x))[0])


def check_fixed_column(texts: list[str], raws: list[int], scale: float) -> None:
    """check_fixed_text for many readings of one scale, in integers (fast enough for 65,536)."""
    d = decimals(scale)
    p, q = Fraction(scale).as_integer_ratio()  # scale = p / q, q a power of two
    ten = 10**d
    pattern = re.compile(r"-?\d+" + (rf"\.\d{{{d}}}" if d else ""))
    for text, raw in zip(texts, raws, strict=True):
        assert pattern.fullmatch(text), f"{text!r}: not {d} decimals for scale {scale!r}"
        n = int(text.replace(".", ""))  # the text is n / 10**d
        assert not (n == 0 and text.startswith("-")), f"{text!r}: negative zero"
        # |n / ten - raw * p / q| <= (1/2 + 2**-20 + |raw| * F / 2**41) / ten, F = |p| ten / q,
        # times 2**21 * ten * q:
        err = abs(n * q - raw * p * ten) * 2**21
        assert err <= (2**20 + 2) * q + abs(raw * p) * ten // 2**20 + 1, (text, raw, scale)
        if abs(raw) < 2**16 and p:
            # round(text / scale) == raw: |n * q / (ten * p) - raw| < 1/2
            assert 2 * abs(n * q - raw * ten * p) < ten * abs(p), f"{text!r} is not raw {raw}"
