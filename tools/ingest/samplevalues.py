"""A stored sample's values for the page: decoded once, drawn decimated, downloaded whole.

:func:`load_series` turns a stored file into columns of numbers (data acquisition JSON, CBOR and
binary payloads, WAV audio, numeric CSV); images, video and other files have no series.
:func:`plot_points` reduces each axis to at most two points per pixel column (the minimum and
the maximum of the rows that column covers, in the order they occur), so a 100,000-row sample
draws as fast as a short one and no peak is lost; short samples are sent whole.
:func:`csv_chunks` writes every row, never decimated, for the download.

Memory: a decoded series holds its values as Python numbers (about 8 bytes per value in an
array for binary payloads and WAV, a list of floats otherwise); the page keeps the last few.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import wave
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cbor2

from ingest.cbor_reader import BinaryRef, CborError, decode_cbor

MAX_WIDTH = 8000
CSV_CHUNK_ROWS = 2000
BINARY_TYPECODES = {"i16": "h", "u16": "H", "f32": "f"}
WAV_TYPECODES = {1: "B", 2: "h", 4: "i"}
TIME_HEADERS = ("timestamp", "time", "time_ms", "t", "ms")


@dataclass
class Series:
    """Columns of one sample: ``axes`` is (name, units) per column."""

    axes: list[tuple[str, str]]
    columns: list[Sequence[float]]
    interval_ms: float
    times: list[float] | None = None  # explicit times in ms (CSV with a timestamp column)
    x_unit: str = "ms"

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def time_at(self, index: int) -> float:
        if self.times is not None:
            return self.times[index]
        return index * self.interval_ms


class SeriesError(ValueError):
    """The stored file could not be decoded into values (the message says why)."""


def _columns_from_rows(values: list[Any], width: int) -> list[Sequence[float]]:
    if width == 1:
        return [[row[0] if isinstance(row, list) else row for row in values]]
    return [[row[axis] for row in values] for axis in range(width)]


def _from_document(doc: Any, raw: bytes, binary: BinaryRef | None) -> Series:
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict):
        raise SeriesError("not a data acquisition document")
    payload = doc["payload"]
    axes = [(str(s.get("name", "")), str(s.get("units", ""))) for s in payload.get("sensors", [])]
    interval = float(payload.get("interval_ms", 1))
    values = payload.get("values")
    if binary is not None:
        column = array(BINARY_TYPECODES[binary.sample_format])
        usable = len(raw) - binary.data_offset
        usable -= usable % column.itemsize
        column.frombytes(raw[binary.data_offset : binary.data_offset + usable])
        if sys.byteorder == "big":
            column.byteswap()
        return Series(axes, [column], interval)
    if not isinstance(values, list) or not axes:
        raise SeriesError("payload.values is not a list of rows")
    return Series(axes, _columns_from_rows(values, len(axes)), interval)


def _daq(raw: bytes, content_type: str) -> Series:
    if content_type == "application/json":
        return _from_document(json.loads(raw), raw, None)
    if content_type == "application/octet-stream":
        # Binary payload: only the small CBOR header is decoded here, the samples are raw.
        doc, binary = decode_cbor(raw)
        return _from_document(doc, raw, binary)
    try:
        doc = cbor2.loads(raw)  # fast C decoder for the whole document
    except (cbor2.CBORDecodeError, ValueError):
        doc, binary = decode_cbor(raw)
        return _from_document(doc, raw, binary)
    return _from_document(doc, raw, None)


def _wav(raw: bytes) -> Series:
    with wave.open(io.BytesIO(raw)) as reader:
        channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    if width not in WAV_TYPECODES or rate <= 0:
        raise SeriesError(f"WAV with {width}-byte samples at {rate} Hz is not drawn")
    samples = array(WAV_TYPECODES[width])
    samples.frombytes(frames[: len(frames) - len(frames) % width])
    if sys.byteorder == "big":
        samples.byteswap()
    columns: list[Sequence[float]] = [samples[c::channels] for c in range(channels)]
    axes = [(f"channel {c + 1}" if channels > 1 else "audio", "wav") for c in range(channels)]
    return Series(axes, columns, 1000.0 / rate)


def _csv(raw: bytes) -> Series:
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    header = next(reader, None)
    if not header:
        raise SeriesError("empty CSV")
    try:
        rows = [[float(cell) for cell in row] for row in reader if row]
    except ValueError as exc:
        raise SeriesError(f"CSV values are not all numbers ({exc})") from None
    if not rows or any(len(row) != len(header) for row in rows):
        raise SeriesError("CSV rows do not match the header")
    times = None
    names = [name.strip() for name in header]
    if names[0].lower() in TIME_HEADERS and len(names) > 1:
        times = [row[0] for row in rows]
        rows = [row[1:] for row in rows]
        names = names[1:]
    axes = [(name, "") for name in names]
    series = Series(axes, _columns_from_rows(rows, len(axes)), 1.0, times)
    if times is None:
        series.x_unit = "row"  # no timestamp column: rows are drawn by their index
    return series


def load_series(raw: bytes, content_type: str) -> Series | None:
    """The values of a stored file, or None for a type without values (images, video)."""
    try:
        if content_type in ("application/json", "application/cbor", "application/octet-stream"):
            return _daq(raw, content_type)
        if content_type == "audio/wav":
            return _wav(raw)
        if content_type == "text/csv":
            return _csv(raw)
    except (CborError, ValueError, KeyError, IndexError, TypeError, wave.Error, EOFError) as exc:
        if isinstance(exc, SeriesError):
            raise
        raise SeriesError(f"cannot read the values: {exc}") from None
    return None


def plot_points(series: Series, width: int) -> dict[str, Any]:
    """Per axis the points to draw for ``width`` pixel columns (all rows when few enough)."""
    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"width must be 1 to {MAX_WIDTH}, got {width}")
    rows = series.rows
    decimated = rows > 2 * width
    axes = []
    for (name, units), column in zip(series.axes, series.columns, strict=True):
        times: list[float] = []
        values: list[float] = []
        if not decimated:
            times = [series.time_at(i) for i in range(rows)]
            values = list(column)
        else:
            for bucket in range(width):
                start, end = bucket * rows // width, (bucket + 1) * rows // width
                part = column[start:end]
                low, high = min(part), max(part)
                at_low, at_high = part.index(low), part.index(high)
                first, second = sorted(((at_low, low), (at_high, high)))
                times += [series.time_at(start + first[0]), series.time_at(start + second[0])]
                values += [first[1], second[1]]
        axes.append({"name": name, "units": units, "t": times, "v": values})
    return {
        "rows": rows,
        "decimated": decimated,
        "buckets": width if decimated else None,
        "xUnit": series.x_unit,
        "intervalMs": series.interval_ms if series.times is None else None,
        "axes": axes,
    }


def csv_chunks(series: Series) -> Iterator[str]:
    """The whole series as CSV text: a timestamp column in ms, then one column per axis."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp"] + [name for name, _ in series.axes])
    for start in range(0, series.rows, CSV_CHUNK_ROWS):
        for index in range(start, min(start + CSV_CHUNK_ROWS, series.rows)):
            writer.writerow(
                [_number(series.time_at(index))] + [_number(c[index]) for c in series.columns]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
