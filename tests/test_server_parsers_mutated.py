"""The server's parsers fuzzed with mutated VALID documents, and every outcome checked.

Random bytes rarely get past the first byte of a parser; a valid JSON or CBOR data acquisition
file, or a valid multipart body, with a few bytes flipped, cut, repeated or moved reaches every
branch. Each outcome must be one of two things:
- the parser's own clear error (DaqError, CborError, MultipartError) with a message that says
  what and where; and then the independent decoder (json, cbor2, the email package) must not
  find a valid document there either;
- a result that the independent decoder agrees with, field by field.
The rules the independent side applies are the documented format (shared/docs/ingestion.md):
they are written here again, sharing no code with tools/ingest.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import io
import json
import math
import re
from typing import Any, TypeGuard

import cbor2
import pytest
from harness import VECTORS
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest.cbor_reader import CborError, decode_cbor
from ingest.daq import DaqError, parse_daq
from ingest.multipart import MultipartError, parse_multipart
from serverproc import encode_multipart, sign_cbor, sign_json

KEY = "fed53116f20684c067774ebf9e7bcbdc"


def doc(values: Any, sensors: int = 3, **payload: Any) -> dict[str, Any]:
    body = {
        "device_name": "ac:87:a3:0a:2d:1b",
        "device_type": "DISCO-L475VG-IOT01A",
        "interval_ms": 10,
        "sensors": [{"name": f"acc{k}", "units": "m/s2"} for k in range(sensors)],
        "values": values,
    }
    body.update(payload)
    return {"protected": {"ver": "v1", "alg": "HS256", "iat": 1564128599}, "signature": "",
            "payload": body}  # fmt: skip


DOCS = [
    doc([[-9.81, 0.03, 1.21], [-9.83, 0.04, 1.27]]),
    doc([1, 2, -3, 70000], sensors=1, interval_ms=0.0625),
    doc([[1, 2], [3, 4], [5, 6]], sensors=2, device_name=None),
]
JSON_SEEDS = [(VECTORS / "docs-example-compact.json").read_bytes()] + [
    sign_json(d, KEY) for d in DOCS
]
CBOR_SEEDS = [(VECTORS / "docs-example.cbor").read_bytes()] + [sign_cbor(d, KEY) for d in DOCS]


def _library_file(fmt: str) -> bytes:
    """A file written by lib/ (CBOR: indefinite values, float16 where exact, ints as ints)."""
    import ei_ingest

    rec = ei_ingest.Recording((("a", "g"), ("b", "")), 16.5, 3, typecode="f")
    for row in ((1.5, 65520.0), (-2.5, 1000.0), (0.1, -0.0)):
        rec.append(row)
    out = io.BytesIO()
    ei_ingest.dump(rec, out, fmt=fmt, hmac_key=KEY, device_type="T", iat=1764150000)
    return out.getvalue()


CBOR_SEEDS.append(_library_file("cbor"))
JSON_SEEDS.append(_library_file("json"))


# --- mutations ----------------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        j = draw(st.integers(i, min(len(data), i + 16)))
        op = draw(st.sampled_from(["byte", "bit", "low5", "delete", "insert", "repeat", "cut",
                                   "move"]))  # fmt: skip
        if op == "byte":
            data[i] = draw(st.integers(0, 255))
        elif op == "bit":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "low5":  # a CBOR head's length bits
            data[i] = (data[i] & 0xE0) | draw(st.integers(0, 31))
        elif op == "delete":
            del data[i:j]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "repeat":
            data[i:i] = data[i:j]
        elif op == "cut":
            del data[i:]
        else:
            chunk = data[i:j]
            del data[i:j]
            k = draw(st.integers(0, len(data)))
            data[k:k] = chunk
    return bytes(data)


# --- the independent side: decoders and the documented rules ------------------------------------


class NotPlain(Exception):
    """cbor2 decoded something the format never holds (tags, simple values, undefined)."""


def plain(value: Any, depth: int = 0) -> Any:
    """The decoded value when it uses only JSON-like types; NotPlain otherwise."""
    if depth > 64:
        raise NotPlain("deep")
    if value is None or isinstance(value, bool | int | str | bytes):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        for k in value:
            if isinstance(k, float) and math.isnan(k):
                raise NotPlain("NaN key")
            if not isinstance(k, str | int | bytes | bool | float) or k is None:
                raise NotPlain("key")
        return {k: plain(v, depth + 1) for k, v in value.items()}
    raise NotPlain(type(value).__name__)


def cbor_counts(raw: bytes) -> tuple[int, int]:
    """(key/value pairs the maps in `raw` declare, tags) for a well-formed `raw`. A duplicate
    key counts twice: against the pairs cbor2 kept, this tells whether a map repeated a key.
    A tiny CBOR walker."""
    pos = 0
    pairs = 0
    tags = 0

    def arg(info: int) -> int | None:
        nonlocal pos
        if info < 24:
            return info
        if info == 31:
            return None
        width = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        value = int.from_bytes(raw[pos : pos + width], "big")
        pos += width
        return value

    def item() -> bool:
        nonlocal pos, pairs, tags
        head = raw[pos]
        pos += 1
        major, info = head >> 5, head & 31
        if major == 7:
            if info == 31:
                return False
            pos += {24: 1, 25: 2, 26: 4, 27: 8}.get(info, 0)
            return True
        n = arg(info)
        if major in (2, 3):
            if n is None:
                while item():
                    pass
            else:
                pos += n
        elif major == 4:
            if n is None:
                while item():
                    pass
            else:
                for _ in range(n):
                    item()
        elif major == 5:
            if n is None:
                while item():
                    item()
                    pairs += 1
            else:
                for _ in range(n):
                    item()
                    item()
                    pairs += 1
        elif major == 6:
            tags += 1
            item()
        return True

    item()
    return pairs, tags


def kept_pairs(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(kept_pairs(v) for v in value.values())
    if isinstance(value, list):
        return sum(kept_pairs(v) for v in value)
    return 0


def cbor2_decode(raw: bytes) -> Any:
    """cbor2's reading of one whole document without trailing bytes, or ValueError."""
    fp = io.BytesIO(raw)
    try:
        value = cbor2.CBORDecoder(fp).decode()
    except (cbor2.CBORDecodeError, RecursionError, MemoryError, OverflowError) as e:
        raise ValueError(f"cbor2: {e}") from None
    if fp.tell() != len(raw):
        raise ValueError("cbor2: trailing bytes")
    return value


def is_number(v: Any) -> TypeGuard[int | float]:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    if isinstance(v, float):
        return math.isfinite(v)
    return abs(v) <= 2**64


def documented_fields(d: Any) -> dict[str, Any] | None:
    """The fields of a valid data acquisition document, by the documented rules; None if the
    document breaks one."""
    if not isinstance(d, dict) or not isinstance(d.get("protected"), dict):
        return None
    prot = d["protected"]
    alg = prot.get("alg")
    if prot.get("ver") != "v1" or alg not in ("HS256", "none"):
        return None
    iat = prot.get("iat")
    if iat is not None and not (is_number(iat) and iat >= 0):
        return None
    if "signature" not in d:
        return None
    sig = d["signature"]
    if alg == "HS256" and not (isinstance(sig, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sig)):
        return None
    if alg == "none" and sig is not None and not isinstance(sig, str):
        return None
    p = d.get("payload")
    if not isinstance(p, dict):
        return None
    dtype, dname = p.get("device_type"), p.get("device_name")
    if not isinstance(dtype, str) or not dtype or not (dname is None or isinstance(dname, str)):
        return None
    interval = p.get("interval_ms")
    if "interval_ms" not in p or not is_number(interval) or interval <= 0:
        return None
    sensors = p.get("sensors")
    if not isinstance(sensors, list) or not sensors:
        return None
    for s in sensors:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
            return None
        if not isinstance(s.get("units"), str):
            return None
    values = p.get("values")
    if not isinstance(values, list) or not values:
        return None
    width = len(sensors)
    for row in values:
        if isinstance(row, list):
            if len(row) != width or not all(is_number(v) for v in row):
                return None
        elif width != 1 or not is_number(row):
            return None
    return {
        "alg": alg,
        "signature": sig,
        "device_type": dtype,
        "device_name": dname,
        "interval_ms": float(interval),
        "sensors": [(s["name"], s["units"]) for s in sensors],
        "rows": len(values),
    }


def server_fields(f: Any) -> dict[str, Any]:
    return {
        "alg": f.alg,
        "signature": f.signature,
        "device_type": f.device_type,
        "device_name": f.device_name,
        "interval_ms": f.interval_ms,
        "sensors": [(s.name, s.units) for s in f.sensors],
        "rows": f.rows,
    }


CLEAR_DAQ = re.compile(
    r"^(protected|signature|payload|document|invalid JSON|CBOR|not a data acquisition|empty)"
)


def check_daq(raw: bytes, independent: Any) -> str:
    """parse_daq(raw) against `independent` (the decoded document, or an exception); returns
    which way it went, for the tests' coverage checks."""
    try:
        result = parse_daq(raw)
    except DaqError as e:
        message = str(e)
        assert CLEAR_DAQ.match(message), f"unclear error: {message!r}"
        if not isinstance(independent, Exception):
            assert documented_fields(independent) is None, (
                f"server refused ({message}) a document the rules accept: {raw!r}"
            )
        return "refused"
    assert not isinstance(independent, Exception), f"server accepted what {independent} refused"
    expected = documented_fields(independent)
    assert expected is not None, f"server accepted a document the rules refuse: {raw!r}"
    assert server_fields(result) == expected
    return "accepted"


# --- the tests ----------------------------------------------------------------------------------


def test_seeds_are_valid_documents() -> None:
    for raw in JSON_SEEDS:
        assert check_daq(raw, json.loads(raw)) == "accepted"
    for raw in CBOR_SEEDS:
        assert check_daq(raw, plain(cbor2_decode(raw))) == "accepted"


@settings(max_examples=400)
@given(mutated(JSON_SEEDS))
def test_mutated_json_documents(raw: bytes) -> None:
    body = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark may lead JSON text
    if body.lstrip(b" \t\r\n")[:1] not in (b"{", b"["):
        # Sniffed as CBOR: the CBOR test's business. The server still must refuse clearly.
        try:
            parse_daq(raw)
        except DaqError as e:
            assert CLEAR_DAQ.match(str(e)), str(e)
        return
    try:
        independent: Any = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as e:
        independent = e
    check_daq(raw, independent)


@settings(max_examples=600)
@given(mutated(CBOR_SEEDS))
def test_mutated_cbor_documents(raw: bytes) -> None:
    if not raw or raw[0] >> 5 != 5 or raw.lstrip(b" \t\r\n")[:1] in (b"{", b"["):
        with_error = None
        try:
            parse_daq(raw)
        except DaqError as e:
            with_error = str(e)
        assert with_error is not None and CLEAR_DAQ.match(with_error), with_error
        return
    # The reader itself, against cbor2.
    try:
        value, binary = decode_cbor(raw)
    except CborError as e:
        assert re.search(r"at byte \d+|\(it ends at byte \d+\)", str(e)), f"unclear: {e}"
        try:
            theirs = plain(cbor2_decode(raw))
        except (ValueError, NotPlain):
            pass  # cbor2 refuses too, or holds what the format never does
        else:
            assert cbor_counts(raw)[0] != kept_pairs(theirs), (
                f"reader refused ({e}) what cbor2 reads as plain data without repeated keys"
            )
        independent: Any = e
    else:
        if binary is None:
            try:
                theirs = cbor2_decode(raw)
            except ValueError as e:
                # The reader passes tags through (bignums aside); cbor2 checks what they hold.
                assert cbor_counts(raw)[1], f"reader accepted what cbor2 refused ({e}): {raw!r}"
            else:
                try:
                    assert _nan_equal(plain(theirs), value), "reader and cbor2 disagree"
                except NotPlain:
                    pass  # e.g. a tag the reader passes through and cbor2 turns into an object
            independent = value
        else:
            independent = value  # binary payloads: the reader's own offsets; checked below
    if isinstance(independent, Exception):
        try:
            parse_daq(raw)
        except DaqError as e:
            assert CLEAR_DAQ.match(str(e)), str(e)
        else:
            raise AssertionError(f"parse_daq accepted what its reader refused: {raw!r}")
        return
    if binary is None:
        check_daq(raw, independent)


def _nan_equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_nan_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_nan_equal(a[k], b[k]) for k in a)
    return bool(a == b)


MULTIPART_SEEDS = [
    encode_multipart([("a.json", JSON_SEEDS[0], "application/json")]),
    encode_multipart(
        [
            ("a.cbor", CBOR_SEEDS[0], "application/cbor"),
            ("b.json", b'{"x": "--"}\r\n', "application/json"),
        ]
    ),  # fmt: skip
    encode_multipart([("x y.json", b"", "text/plain"), ("c.json", b"\r\n\r\n", "text/plain")]),
]


# A Content-Disposition in the form RFC 7578 gives (quoted name and filename, printable ASCII):
# only there are the two parsers' readings of the parameters compared; a mangled header is a
# matter of taste, and raw UTF-8 in a filename is read as UTF-8 by the server (as browsers send
# it) but as Latin-1 by the email package.
_QUOTED = r'"[ !#-\[\]-~]*"'
STRICT_DISPOSITION = re.compile(f"form-data; name={_QUOTED}; filename={_QUOTED}")


def email_parts(body: bytes, content_type: str) -> list[tuple[Any, Any, bytes]] | None:
    """The parts as the email package reads them; None if it found defects."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart() or message.defects:
        return None
    out = []
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        if part.defects:
            return None
        disposition = str(part.get("Content-Disposition", ""))
        payload = part.get_payload(decode=True)
        if STRICT_DISPOSITION.fullmatch(disposition):
            names = (part.get_param("name", header="content-disposition"), part.get_filename())
        else:
            names = (None, None)
        out.append((*names, payload if isinstance(payload, bytes) else b""))
    return out


def delimiters_follow_crlf(body: bytes, content_type: str) -> bool:
    """No delimiter follows a bare CR or LF, the header lines of every part end with CRLF (no
    bare CR or LF) and no header comes twice. Where this fails, the email package (which also
    splits lines at a bare CR or LF) and RFC 2046 (CRLF only) read the body differently. A
    delimiter mid-line (after any other byte) is no delimiter for either: that is compared."""
    delimiter = b"--" + content_type.split("boundary=")[1].encode()
    at = body.find(delimiter, 1)
    while at >= 0:
        if body[at - 1 : at] in (b"\r", b"\n") and body[max(at - 2, 0) : at] != b"\r\n":
            return False
        at = body.find(delimiter, at + 1)
    for segment in body.split(b"\r\n" + delimiter):
        head = segment.split(b"\r\n\r\n", 1)[0]
        if re.search(rb"\r(?!\n)|(?<!\r)\n", head):
            return False
        names = [line.split(b":")[0].strip().lower() for line in head.split(b"\r\n")[1:]]
        if len(names) != len(set(names)):
            return False  # a header given twice: which one counts is anyone's guess
    return True


def test_first_delimiter_must_start_a_line() -> None:
    body, content_type = MULTIPART_SEEDS[1]
    raw = b"-" + body  # the first line is no longer a delimiter but preamble: one part left
    assert [names[1] for names in email_parts(raw, content_type) or []] == ["b.json"]
    assert [p.filename for p in parse_multipart(raw, content_type)] == ["b.json"]


def test_a_part_without_headers_has_no_disposition() -> None:
    body, content_type = MULTIPART_SEEDS[0]
    first_line_end = body.index(b"\r\n") + 2
    raw = body[:first_line_end] + b"\r\n" + body[first_line_end:]  # empty header section
    (part,) = email_parts(raw, content_type) or []
    assert part[:2] == (None, None) and part[2].startswith(b"Content-Disposition")
    with pytest.raises(MultipartError, match="no Content-Disposition"):
        parse_multipart(raw, content_type)


@settings(max_examples=400)
@given(st.sampled_from(range(len(MULTIPART_SEEDS))), st.data())
def test_mutated_multipart_bodies(which: int, data: st.DataObject) -> None:
    body, content_type = MULTIPART_SEEDS[which]
    raw = data.draw(mutated([body]))
    try:
        parts = parse_multipart(raw, content_type)
    except MultipartError as e:
        assert re.match(r"^(part \d+: |multipart)", str(e)), f"unclear: {e}"
        return
    theirs = email_parts(raw, content_type)
    if theirs is None:
        return  # the email package saw defects: it is no judge of this body
    if not delimiters_follow_crlf(raw, content_type):
        return  # the email package also takes a bare LF or CR before a delimiter; RFC 2046 not
    # (get_filename() strips spaces at the ends: so do we, for the comparison only)
    ours = [
        (p.name, (p.filename or "").strip(), p.data)
        if names[0] is not None
        else (None, None, p.data)
        for p, names in zip(parts, theirs, strict=False)
    ]
    assert len(parts) == len(theirs) and ours == theirs, (
        f"parse_multipart and the email package disagree on {raw!r}"
    )


def test_mutations_reach_past_the_first_byte() -> None:
    """Guards the guard: mutated documents are mostly still decodable CBOR/JSON that the
    validator (not the sniffing of the first byte) has to judge."""
    import random

    outcomes: dict[str, int] = {}
    rng = random.Random(18)
    for _ in range(300):
        raw = bytearray(rng.choice(CBOR_SEEDS))
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            parse_daq(bytes(raw))
            kind = "accepted"
        except DaqError as e:
            kind = str(e).split(":")[0].split(".")[0]
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert outcomes.get("accepted", 0) > 30, outcomes
    assert sum(n for k, n in outcomes.items() if k.startswith("payload")) > 10, outcomes
