"""Property tests of the server's own parsers (CBOR reader, data acquisition validator).

The HTTP tests show behaviour end to end; these check the hand-written CBOR reader against
cbor2 on generated documents. Mutated valid documents (JSON, CBOR, multipart), with every
outcome checked against independent decoders, are in test_server_parsers_mutated.py.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest.cbor_reader import BinaryRef, CborError, decode_cbor

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_cbor_reader_matches_cbor2(value: Any) -> None:
    decoded, binary = decode_cbor(cbor2.dumps(value))
    assert binary is None
    assert decoded == value


def indefinite(items: list[bytes]) -> bytes:
    return b"\x9f" + b"".join(items) + b"\xff"


@given(st.lists(st.floats(width=16, allow_nan=False), min_size=1, max_size=10))
def test_half_floats_in_indefinite_arrays(values: list[float]) -> None:
    encoded = indefinite([b"\xf9" + struct.pack(">e", v) for v in values])
    decoded, _ = decode_cbor(encoded)
    assert decoded == values


def test_indefinite_strings_and_maps() -> None:
    encoded = b"\xbf\x7f\x62ab\x61c\xff\x5f\x41\x01\x42\x02\x03\xff\xff"
    assert decode_cbor(encoded) == ({"abc": b"\x01\x02\x03"}, None)


def test_binary_reference_stops_the_reader() -> None:
    head = b"\xa1\x66values\x9f\x6eREF-binary-F32\xff"
    decoded, binary = decode_cbor(head + b"\xff\xff\xff\xff")
    assert binary == BinaryRef("f32", len(head))
    assert decoded == {"values": binary}


def test_nan_map_key_and_deep_nesting_are_refused() -> None:
    for bad in (b"\xa1\xf9\x7e\x00\x01", b"\x81" * 100 + b"\x01"):
        try:
            decode_cbor(bad)
        except CborError as exc:
            assert "byte" in str(exc)
        else:
            raise AssertionError(f"accepted {bad!r}")
    assert math.isinf(decode_cbor(b"\xf9\x7c\x00")[0])
