"""HS256 signature check of data acquisition files by zero substitution over the raw bytes.

The signer serialised the document with 64 ASCII '0' in place of the signature, HMAC-SHA256'd
those bytes with the HMAC key string's bytes, then wrote the hex digest over the zeros. So the
check finds the 64 hex characters in the body, puts the zeros back and recomputes the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac

VALID = "valid"
INVALID = "invalid"
NONE = "none"
UNVERIFIED = "unverified"
PLACEHOLDER = b"0" * 64


def hmac_sha256_hex(key: str, data: bytes) -> str:
    return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()


def verify_signature(raw: bytes, alg: str, signature: str | None, hmac_key: str | None) -> str:
    """Return "valid", "invalid", "none" (not signed) or "unverified" (no key configured)."""
    if alg != "HS256" or signature is None:
        return NONE
    if hmac_key is None:
        return UNVERIFIED
    needle = signature.encode("ascii")
    start = raw.find(needle)
    while start != -1:
        candidate = raw[:start] + PLACEHOLDER + raw[start + len(needle) :]
        if hmac.compare_digest(hmac_sha256_hex(hmac_key, candidate), signature.lower()):
            return VALID
        start = raw.find(needle, start + 1)
    return INVALID
