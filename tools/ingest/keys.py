"""The server's keys: the development defaults, and random keys kept in <data-dir>/keys.json.

On 127.0.0.1 the well-known development keys (``make server``) are fine: only this computer can
connect. On any other address they are refused: the server then takes the keys given with
--api-key/--hmac-key, or the ones in ``<data-dir>/keys.json``, creating that file (mode 0600) with
random keys on first use. New keys are shown once, on a terminal only (so they never land in a
redirected log), and afterwards live only in that file, where config generation reads them
(:func:`load_keys`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEV_API_KEY = "ei_local_dev_key"
DEV_HMAC_KEY = "local_dev_hmac_key"
KEYS_FILE = "keys.json"
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class KeysFileError(ValueError):
    """keys.json exists but cannot be used; the message says why."""


@dataclass(frozen=True)
class Keys:
    api_key: str
    hmac_key: str

    def __repr__(self) -> str:  # never show a key, even in a traceback
        return "Keys(api_key=<hidden>, hmac_key=<hidden>)"

    __str__ = __repr__


def is_loopback_host(host: str) -> bool:
    """True when binding ``host`` lets only this computer connect (127.0.0.0/8, ::1, localhost).

    Wildcards (0.0.0.0, ::) and every other name or address count as reachable from the LAN.
    """
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def keys_path(data_dir: Path) -> Path:
    return data_dir / KEYS_FILE


def load_keys(data_dir: Path) -> Keys | None:
    """The keys in <data-dir>/keys.json, or None when there is no such file."""
    path = keys_path(data_dir)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeysFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise KeysFileError(f"{path}: expected a JSON object with api_key and hmac_key")
    for field in ("api_key", "hmac_key"):
        value = doc.get(field)
        if not isinstance(value, str) or not value:
            raise KeysFileError(f"{path}: {field} must be a non-empty string")
    return Keys(doc["api_key"], doc["hmac_key"])


def new_keys() -> Keys:
    """Random keys shaped like Edge Impulse's: ``ei_`` + 64 hex, and 32 hex for HMAC."""
    return Keys("ei_" + secrets.token_hex(32), secrets.token_hex(16))


def save_keys(data_dir: Path, keys: Keys) -> Path:
    """Write keys.json readable by its owner only; refuse to overwrite an existing file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = keys_path(data_dir)
    body = json.dumps({"api_key": keys.api_key, "hmac_key": keys.hmac_key}, indent=2) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def dev_keys_in(api_keys: tuple[str, ...], hmac_key: str | None) -> list[str]:
    """Which development defaults are among the configured keys (named, never shown)."""
    found = []
    if DEV_API_KEY in api_keys:
        found.append(f"the development API key ({DEV_API_KEY!r} is public)")
    if hmac_key == DEV_HMAC_KEY:
        found.append(f"the development HMAC key ({DEV_HMAC_KEY!r} is public)")
    return found
