"""Decode and validate Edge Impulse data acquisition files (JSON, CBOR, binary payload).

:func:`parse_daq` takes the raw bytes of one file and returns a :class:`DaqFile` describing it,
or raises :class:`DaqError` whose message names the offending field (and row), e.g.
``payload.values[17]: expected 3 values, got 2``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import chain
from typing import Any

from ingest.cbor_reader import BinaryRef, CborError, decode_cbor

ALGORITHMS = ("HS256", "none")
SIGNATURE_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
BINARY_SAMPLE_SIZES = {"i16": 2, "u16": 2, "f32": 4}
MAX_INT = 2**64


class DaqError(ValueError):
    """The file is not a valid data acquisition file; the message says why and where."""


@dataclass(frozen=True)
class Sensor:
    name: str
    units: str


@dataclass
class DaqFile:
    """What the server records about one valid data acquisition file."""

    encoding: str  # "json" or "cbor"
    alg: str
    signature: str | None
    device_type: str
    device_name: str | None
    interval_ms: float
    sensors: list[Sensor]
    rows: int
    binary_format: str | None = None  # "i16" | "u16" | "f32" for binary payloads

    @property
    def content_type(self) -> str:
        if self.binary_format:
            return "application/octet-stream"
        return "application/json" if self.encoding == "json" else "application/cbor"


def _first_meaningful_byte(raw: bytes) -> int | None:
    for byte in raw[:64]:
        if byte not in b" \t\r\n":
            return byte
    return None


def looks_like_json(raw: bytes) -> bool:
    """JSON starts with '{' or '[' after optional whitespace or a UTF-8 BOM; CBOR never does
    (a data acquisition CBOR document is a map, first byte 0xA0 to 0xBF)."""
    return _first_meaningful_byte(raw.removeprefix(b"\xef\xbb\xbf")) in (ord("{"), ord("["))


def _decode_json(raw: bytes) -> Any:
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DaqError(f"invalid JSON: not UTF-8 ({exc})") from None
    try:
        # NaN/Infinity literals decode to floats here so the validator can name their row.
        return json.loads(text, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise DaqError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise DaqError("invalid JSON: nested too deeply") from None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "byte string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_number(value: Any, where: str) -> None:
    if not _is_number(value):
        raise DaqError(f"{where}: expected a number, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DaqError(f"{where}: not a finite number ({value})")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise DaqError(f"{where}: integer too large (more than 64 bits)")


def _require_map(doc: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in doc:
        raise DaqError(f"{where}: required")
    value = doc[key]
    if not isinstance(value, dict):
        raise DaqError(f"{where}: expected an object, got {_type_name(value)}")
    return value


def _check_protected(doc: dict[str, Any]) -> str:
    protected = _require_map(doc, "protected", "protected")
    ver = protected.get("ver")
    if ver != "v1":
        raise DaqError(f'protected.ver: must be "v1", got {ver!r}')
    alg = protected.get("alg")
    if alg not in ALGORITHMS:
        raise DaqError(f'protected.alg: must be "HS256" or "none", got {alg!r}')
    iat = protected.get("iat")
    if iat is not None:
        _check_number(iat, "protected.iat")
        if iat < 0:
            raise DaqError(f"protected.iat: must not be negative, got {iat}")
    return str(alg)


def _check_signature(doc: dict[str, Any], alg: str) -> str | None:
    if "signature" not in doc:
        raise DaqError("signature: required (use 64 hex characters for HS256, '00' for none)")
    signature = doc["signature"]
    if alg == "HS256":
        if not isinstance(signature, str) or not SIGNATURE_HEX.match(signature):
            shown = signature if not isinstance(signature, str) else f"{len(signature)} chars"
            raise DaqError(
                f"signature: HS256 needs 64 hexadecimal characters, got {_type_name(signature)}"
                f" ({shown})"
            )
        return signature
    if signature is not None and not isinstance(signature, str):
        raise DaqError(f"signature: expected a string or null, got {_type_name(signature)}")
    return signature


def _check_sensors(payload: dict[str, Any]) -> list[Sensor]:
    if "sensors" not in payload:
        raise DaqError("payload.sensors: required")
    sensors = payload["sensors"]
    if not isinstance(sensors, list):
        raise DaqError(f"payload.sensors: expected an array, got {_type_name(sensors)}")
    if not sensors:
        raise DaqError("payload.sensors: must list at least one sensor")
    result = []
    for index, sensor in enumerate(sensors):
        where = f"payload.sensors[{index}]"
        if not isinstance(sensor, dict):
            raise DaqError(f"{where}: expected an object, got {_type_name(sensor)}")
        name = sensor.get("name")
        if not isinstance(name, str) or not name:
            raise DaqError(f"{where}.name: expected a non-empty string, got {name!r}")
        units = sensor.get("units")
        if not isinstance(units, str):
            raise DaqError(f"{where}.units: expected a string, got {_type_name(units)}")
        result.append(Sensor(name, units))
    return result


def _plain_rows(values: list[Any], width: int) -> bool:
    """True when every row is `width` finite numbers (ints within 64 bits): the common case,
    checked with C-level loops. False sends the rows through the loop that names the fault."""
    if width == 1:
        flat = values
    elif all(type(row) is list and len(row) == width for row in values):
        flat = list(chain.from_iterable(values))
    else:
        return False
    if not set(map(type, flat)) <= {int, float}:  # bool is its own type: refused below
        return False
    try:
        return all(map(math.isfinite, flat)) and -MAX_INT <= min(flat) and max(flat) <= MAX_INT
    except OverflowError:  # an int beyond a float's range
        return False


def _count_rows(values: Any, width: int) -> int:
    if not isinstance(values, list):
        raise DaqError(f"payload.values: expected an array, got {_type_name(values)}")
    if values and _plain_rows(values, width):
        return len(values)
    for index, row in enumerate(values):
        where = f"payload.values[{index}]"
        if isinstance(row, list):
            if len(row) != width:
                raise DaqError(f"{where}: expected {width} values, got {len(row)}")
            for column, value in enumerate(row):
                _check_number(value, f"{where}[{column}]")
        elif width == 1:
            _check_number(row, where)
        else:
            raise DaqError(f"{where}: expected an array of {width} values, got {_type_name(row)}")
    if not values:
        raise DaqError("payload.values: no rows (at least one row is required)")
    return len(values)


def _count_binary_rows(ref: BinaryRef, raw: bytes, width: int) -> int:
    if width != 1:
        raise DaqError(f"payload.values: a binary payload needs exactly one sensor, got {width}")
    size = BINARY_SAMPLE_SIZES[ref.sample_format]
    remaining = len(raw) - ref.data_offset
    if remaining % size:
        raise DaqError(
            f"payload.values: {remaining} bytes of binary samples are not a whole number of "
            f"{size}-byte {ref.sample_format} samples"
        )
    if remaining == 0:
        raise DaqError("payload.values: no rows (the binary payload has no samples)")
    return remaining // size


def validate_document(doc: Any, raw: bytes, encoding: str, binary: BinaryRef | None) -> DaqFile:
    """Check a decoded document against the data acquisition format rules."""
    if not isinstance(doc, dict):
        raise DaqError(f"document: expected an object, got {_type_name(doc)}")
    alg = _check_protected(doc)
    signature = _check_signature(doc, alg)
    payload = _require_map(doc, "payload", "payload")
    device_type = payload.get("device_type")
    if not isinstance(device_type, str) or not device_type:
        raise DaqError(f"payload.device_type: expected a non-empty string, got {device_type!r}")
    device_name = payload.get("device_name")
    if device_name is not None and not isinstance(device_name, str):
        raise DaqError(f"payload.device_name: expected a string, got {_type_name(device_name)}")
    if "interval_ms" not in payload:
        raise DaqError("payload.interval_ms: required")
    interval = payload["interval_ms"]
    _check_number(interval, "payload.interval_ms")
    if interval <= 0:
        raise DaqError(f"payload.interval_ms: must be greater than 0, got {interval}")
    sensors = _check_sensors(payload)
    if "values" not in payload:
        raise DaqError("payload.values: required")
    values = payload["values"]
    if isinstance(values, BinaryRef):
        rows = _count_binary_rows(values, raw, len(sensors))
    elif binary is not None:
        raise DaqError("payload.values: a binary sample reference may only appear in values")
    else:
        rows = _count_rows(values, len(sensors))
    return DaqFile(
        encoding=encoding,
        alg=alg,
        signature=signature,
        device_type=device_type,
        device_name=device_name,
        interval_ms=float(interval),
        sensors=sensors,
        rows=rows,
        binary_format=values.sample_format if isinstance(values, BinaryRef) else None,
    )


def parse_daq(raw: bytes) -> DaqFile:
    """Decode (JSON or CBOR, sniffed from the bytes) and validate one data acquisition file."""
    if not raw:
        raise DaqError("empty body: expected a data acquisition file (JSON or CBOR)")
    if looks_like_json(raw):
        return validate_document(_decode_json(raw), raw, "json", None)
    first = raw[0]
    if first >> 5 != 5:
        raise DaqError(
            f"not a data acquisition file: starts with byte 0x{first:02x}, expected a JSON "
            "object ('{') or a CBOR map"
        )
    try:
        doc, binary = decode_cbor(raw)
    except CborError as exc:
        raise DaqError(str(exc)) from None
    return validate_document(doc, raw, "cbor", binary)
