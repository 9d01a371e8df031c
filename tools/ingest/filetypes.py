"""Which files the ingestion API accepts, and a sanity check of each one's magic bytes.

Data acquisition files (.json/.cbor) are validated in depth by :mod:`ingest.daq`; every other
accepted type is stored as it is once its first bytes look like that type.
"""

from __future__ import annotations

from dataclasses import dataclass


class FileTypeError(ValueError):
    """The file's name or content does not match an accepted type."""


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str


DAQ_EXTENSIONS = (".json", ".cbor")
PLAIN_TYPES = {
    ".wav": FileType(".wav", "audio/wav"),
    ".jpg": FileType(".jpg", "image/jpeg"),
    ".jpeg": FileType(".jpeg", "image/jpeg"),
    ".png": FileType(".png", "image/png"),
    ".csv": FileType(".csv", "text/csv"),
    ".txt": FileType(".txt", "text/plain"),
    ".mp4": FileType(".mp4", "video/mp4"),
    ".avi": FileType(".avi", "video/x-msvideo"),
    ".parquet": FileType(".parquet", "application/vnd.apache.parquet"),
    ".labels": FileType(".labels", "application/json"),
}
DAQ_CONTENT_TYPES = ("application/json", "application/cbor", "application/octet-stream")


def extension_of(name: str) -> str:
    """Lower-case extension with its dot ('' when the name has none)."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_magic(file_type: FileType, data: bytes) -> None:
    """Raise FileTypeError when ``data`` does not start the way this file type must."""
    ext = file_type.extension
    ok = {
        ".wav": lambda: data[:4] == b"RIFF" and data[8:12] == b"WAVE",
        ".avi": lambda: data[:4] == b"RIFF" and data[8:12] == b"AVI ",
        ".jpg": lambda: data[:3] == b"\xff\xd8\xff",
        ".jpeg": lambda: data[:3] == b"\xff\xd8\xff",
        ".png": lambda: data[:8] == b"\x89PNG\r\n\x1a\n",
        ".mp4": lambda: data[4:8] == b"ftyp",
        ".parquet": lambda: len(data) >= 8 and data[:4] == b"PAR1" and data[-4:] == b"PAR1",
        ".csv": lambda: _is_text(data),
        ".txt": lambda: _is_text(data),
        ".labels": lambda: _is_text(data) and data.lstrip()[:1] == b"{",
    }[ext]()
    if not data:
        raise FileTypeError(f"empty {ext} file")
    if not ok:
        what = "UTF-8 text" if ext in (".csv", ".txt") else f"a {ext} file"
        raise FileTypeError(f"content is not {what} (its first bytes are {data[:12]!r})")
