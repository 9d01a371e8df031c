"""Sample files of every kind the dataset page draws, built here with independent code.

``motion(rows, ...)`` CBOR 3-axis with known extremes, ``small_json`` 2-axis JSON, ``audio_i16``
a binary payload, ``wav_file`` a PCM WAV, ``csv_file`` with a timestamp column, ``png_file`` a
real 4x3 image. Each returns the file bytes; ``motion_values`` and friends give the values the
page must show. ``upload_all(server)`` stores a mixed dataset and returns {name: listing entry}.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
import wave
import zlib
from typing import Any

import cbor2
from serverproc import ServerProc, sign_cbor, sign_json

SPIKE_ROW, DIP_ROW = 54321, 77777


def motion_values(rows: int) -> list[list[int]]:
    values = [[(i * 37) % 2001 - 1000, (i * 11) % 500, -((i * 7) % 300)] for i in range(rows)]
    if rows > DIP_ROW:
        values[SPIKE_ROW][0] = 30000  # one-row peaks a naive every-Nth decimation would miss
        values[DIP_ROW][0] = -30000
    return values


def daq_doc(
    values: list[Any], sensors: list[tuple[str, str]], interval: float, device: str
) -> dict[str, Any]:
    return {
        "protected": {"ver": "v1", "alg": "HS256", "iat": 1764000000},
        "signature": "0" * 64,
        "payload": {
            "device_name": device,
            "device_type": "PAGE_TEST",
            "interval_ms": interval,
            "sensors": [{"name": n, "units": u} for n, u in sensors],
            "values": values,
        },
    }


XYZ = [("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")]


def motion(rows: int, hmac_key: str | None, device: str = "aa:bb:cc:00:00:01") -> bytes:
    return sign_cbor(daq_doc(motion_values(rows), XYZ, 10, device), hmac_key)


def small_values() -> list[list[float]]:
    return [[i * 0.5, 100 - i] for i in range(50)]


def small_json(hmac_key: str | None) -> bytes:
    doc = daq_doc(small_values(), [("temp", "Cel"), ("hum", "%RH")], 20, "aa:bb:cc:00:00:02")
    return sign_json(doc, hmac_key)


def audio_values() -> list[int]:
    return [(i * 7919) % 65536 - 32768 for i in range(4000)]


def audio_i16(hmac_key: str | None) -> bytes:
    text = cbor2.dumps
    head = b"\xa3" + text("protected") + cbor2.dumps({"ver": "v1", "alg": "HS256"})
    head += text("signature") + b"\x78\x40" + b"0" * 64
    head += text("payload") + b"\xa4"
    head += text("device_type") + text("MIC") + text("interval_ms") + cbor2.dumps(0.0625)
    head += text("sensors") + cbor2.dumps([{"name": "audio", "units": "wav"}])
    head += text("values") + b"\x9f" + text("Ref-BINARY-i16") + b"\xff"
    body = head + struct.pack(f"<{len(audio_values())}h", *audio_values())
    if hmac_key is None:
        return body
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).hexdigest().encode()
    return body.replace(b"0" * 64, digest, 1)


def wav_values() -> list[int]:
    return [((i * 97) % 200 - 100) * 100 for i in range(1600)]


def wav_file() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(struct.pack(f"<{len(wav_values())}h", *wav_values()))
    return out.getvalue()


def csv_file() -> bytes:
    lines = ["timestamp,x,y"] + [f"{t * 15},{t % 7},{-t}" for t in range(40)]
    return ("\n".join(lines) + "\n").encode()


def png_file() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([x * 60, 100, 200 - x * 40] * 4) for x in range(3))
    header = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def upload_all(server: ServerProc, big_rows: int = 100_000) -> dict[str, dict[str, Any]]:
    """A mixed dataset: every kind of file, several labels and categories, one unlabeled."""
    key = server.hmac_key
    uploads: list[tuple[str, str, bytes, str, dict[str, str]]] = [
        ("training", "motion.big.cbor", motion(big_rows, key), "application/cbor",
         {"x-label": "wave", "x-metadata": '{"site":"lab 3","run":"1"}'}),
        ("testing", "climate.01.json", small_json(key), "application/json",
         {"x-label": "idle"}),
        ("training", "noise.01.cbor", audio_i16(key), "application/octet-stream",
         {"x-label": "noise"}),
        ("testing", "clap.01.wav", wav_file(), "audio/wav", {"x-label": "clap"}),
        ("training", "track.01.csv", csv_file(), "text/csv", {"x-label": "track"}),
        ("anomaly", "photo.01.png", png_file(), "image/png", {"x-no-label": "1"}),
    ]  # fmt: skip
    for category, name, body, content_type, headers in uploads:
        result = server.post_files(category, [(name, body, content_type)], headers)
        assert result.status == 200, result.text()
    return {s["fileName"]: s for s in server.samples()}
