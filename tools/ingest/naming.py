"""File names and labels: decoding the headers, inferring labels, safe on-disk names.

Nothing a client sends can make a stored path leave the data directory: file names with path
parts are refused, and labels become directory names through a reversible escape.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import unquote

LABEL_FROM_NAME = re.compile(r"^[a-zA-Z0-9\s\-_]+")
MAX_NAME_BYTES = 200
UNLABELED_DIR = "_unlabeled"
_SAFE_DIR_CHARS = re.compile(r"[A-Za-z0-9 _\-.]")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class FileNameError(ValueError):
    """A file name that cannot be stored (path parts, control characters, too long)."""


def header_text(value: str) -> str:
    """A header value as text: UTF-8 if its bytes are UTF-8, else Latin-1 (what Python's
    http.client, under the official SDK, sends for non-ASCII text)."""
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_header(value: str) -> str:
    """Node clients URL-encode x-file-name and x-label; a raw value passes through unchanged."""
    value = header_text(value)
    return unquote(value, errors="strict") if "%" in value else value


def check_file_name(name: str, where: str) -> str:
    """Return ``name`` if it is a plain file name; raise FileNameError naming ``where`` if not."""
    if not name or not name.strip():
        raise FileNameError(f"{where}: empty file name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise FileNameError(
            f"{where}: {name!r} is not a plain file name (no '/', '\\' or '..' allowed)"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise FileNameError(f"{where}: {name!r} contains control characters")
    if name.startswith("."):
        raise FileNameError(f"{where}: {name!r} starts with '.' (hidden names are not stored)")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise FileNameError(f"{where}: file name longer than {MAX_NAME_BYTES} bytes")
    return name


def infer_label(file_name: str) -> str | None:
    """The label the service infers from a file name: ``idle.01`` gives ``idle``."""
    match = LABEL_FROM_NAME.match(file_name)
    return match.group(0) if match else None


def label_dir_name(label: str | None) -> str:
    """A directory name for a label: safe characters kept, anything else as %XX (UTF-8)."""
    if label is None:
        return UNLABELED_DIR
    out = []
    for index, ch in enumerate(label):
        if _SAFE_DIR_CHARS.match(ch) and not (index == 0 and ch in ". _"):
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)[:MAX_NAME_BYTES] or "%00"


def date_id() -> str:
    """A short unique id like the service's (8 base-36 characters)."""
    number = secrets.randbits(41)
    chars = []
    for _ in range(8):
        number, digit = divmod(number, 36)
        chars.append(_BASE36[digit])
    return "".join(chars)


def with_id(name: str, unique: str) -> str:
    """Insert ``unique`` before the extension: ``idle01.json`` -> ``idle01.3lan8ief.json``."""
    dot = name.rfind(".")
    if dot <= 0:
        return f"{name}.{unique}"
    return f"{name[:dot]}.{unique}{name[dot:]}"
