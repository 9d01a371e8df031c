"""The ``split`` category: the server picks training or testing, as the real service does.

Edge Impulse divides uploads to ``/api/split/...`` between training and testing (about 80/20).
Here the choice is deterministic, from the SHA-256 of the file's bytes: the first 32 bits of the
digest modulo 100 below 80 means training, else testing. The same file always lands in the same
category, on this server and in an export or push of its dataset.
"""

from __future__ import annotations

SPLIT = "split"
TRAINING_PERCENT = 80


def split_category(sha256_hex: str) -> str:
    """ "training" or "testing" for a file whose SHA-256 (hex) is given."""
    if len(sha256_hex) < 8:
        raise ValueError(f"expected a SHA-256 hex digest, got {sha256_hex!r}")
    bucket = int(sha256_hex[:8], 16) % 100
    return "training" if bucket < TRAINING_PERCENT else "testing"


def resolve_category(category: str, sha256_hex: str) -> str:
    """The category a sample is stored (or exported, or pushed) under."""
    return split_category(sha256_hex) if category == SPLIT else category
