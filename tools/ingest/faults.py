"""Test-only fault injection for the upload endpoints (enabled with --enable-faults).

Faults are queued by ``POST /_faults`` and consumed one upload request at a time, in order;
every upload request is logged so a test can check what the server saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_LOG = 10000


class FaultSpecError(ValueError):
    """A fault description that cannot be used."""


@dataclass
class Fault:
    """One fault applied to the next ``count`` upload requests.

    Exactly one of ``status``, ``close_after_bytes`` and ``stall_seconds`` is set.
    """

    count: int
    status: int | None = None
    body: str | None = None
    close_after_bytes: int | None = None
    stall_seconds: float | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"count": self.count}
        for key in ("status", "body", "close_after_bytes", "stall_seconds"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _int_field(spec: dict[str, Any], key: str, low: int, high: int) -> int:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultSpecError(f"{key}: expected an integer from {low} to {high}, got {value!r}")
    return value


def parse_fault(spec: Any) -> Fault:
    """Build a Fault from the JSON body of POST /_faults."""
    if not isinstance(spec, dict):
        raise FaultSpecError("expected a JSON object")
    known = {"status", "body", "close_after_bytes", "stall_seconds", "count"}
    unknown = set(spec) - known
    if unknown:
        raise FaultSpecError(f"unknown keys: {sorted(unknown)}")
    count = _int_field(spec, "count", 1, 1_000_000) if "count" in spec else 1
    kinds = [key for key in ("status", "close_after_bytes", "stall_seconds") if key in spec]
    if len(kinds) != 1:
        raise FaultSpecError("give exactly one of status, close_after_bytes, stall_seconds")
    fault = Fault(count=count)
    if "status" in spec:
        fault.status = _int_field(spec, "status", 100, 599)
        body = spec.get("body")
        if body is not None and not isinstance(body, str):
            raise FaultSpecError("body: expected a string")
        fault.body = body
    elif "close_after_bytes" in spec:
        fault.close_after_bytes = _int_field(spec, "close_after_bytes", 0, 2**40)
    else:
        stall = spec["stall_seconds"]
        if (
            isinstance(stall, bool)
            or not isinstance(stall, int | float)
            or not (math.isfinite(stall) and 0 <= stall <= 3600)
        ):
            raise FaultSpecError(f"stall_seconds: expected 0 to 3600, got {stall!r}")
        fault.stall_seconds = float(stall)
    return fault


class FaultState:
    """Queued faults and the log of upload requests."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.queue: list[Fault] = []
        self.log: list[dict[str, Any]] = []

    def add(self, fault: Fault) -> None:
        self.queue.append(fault)

    def clear(self) -> None:
        self.queue.clear()

    def take(self) -> Fault | None:
        """The fault for the next upload request (None when nothing is queued)."""
        if not self.enabled or not self.queue:
            return None
        fault = self.queue[0]
        fault.count -= 1
        if fault.count <= 0:
            self.queue.pop(0)
        return fault

    def record(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.log.append(entry)
        del self.log[:-MAX_LOG]
