"""A per-address budget of failed keys: guessing is slowed down, the loopback user never is.

Each address starts with ``capacity`` failures in hand and earns one back every
``refill_seconds``. A failed key spends one; with none left, that address is answered 429 (with
Retry-After) before its key is even looked at, until it has earned one back. So a guesser gets
``capacity`` tries, then one per ``refill_seconds``, while someone who mistyped a key once is not
held up. Loopback addresses are never counted or held (the person at the computer is not locked
out of their own server). The clock is injectable so the tests can prove the timing with a fake
one. Memory: one small entry per address seen failing, at most ``max_addresses`` (the oldest
are dropped first).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_CAPACITY = 10
DEFAULT_REFILL_SECONDS = 6.0
DEFAULT_MAX_ADDRESSES = 4096


def is_loopback_address(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


@dataclass
class _Entry:
    tokens: float
    updated: float
    exhausted: bool = False  # inside a burst: the budget ran out and has not refilled yet
    held: int = 0  # requests answered 429 during this burst


@dataclass(frozen=True)
class BurstEnd:
    """Reported once when an address's burst is over: how many requests were held back."""

    address: str
    held: int


class FailureBudget:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        refill_seconds: float = DEFAULT_REFILL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = DEFAULT_MAX_ADDRESSES,
    ) -> None:
        if capacity < 1 or refill_seconds <= 0 or max_addresses < 1:
            raise ValueError("capacity, refill_seconds and max_addresses must be positive")
        self.capacity = capacity
        self.refill_seconds = refill_seconds
        self.clock = clock
        self.max_addresses = max_addresses
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _refresh(self, address: str) -> _Entry | None:
        entry = self._entries.get(address)
        if entry is None:
            return None
        now = self.clock()
        earned = (now - entry.updated) / self.refill_seconds
        entry.tokens = min(float(self.capacity), entry.tokens + earned)
        entry.updated = now
        return entry

    def wait_seconds(self, address: str | None) -> float:
        """0 when ``address`` may try a key now, else the seconds until it may."""
        if address is None or is_loopback_address(address):
            return 0.0
        entry = self._refresh(address)
        if entry is None or entry.tokens >= 1:
            return 0.0
        return (1 - entry.tokens) * self.refill_seconds

    def hold(self, address: str) -> None:
        """Count a request answered 429 (reported at the end of the burst, not one by one)."""
        entry = self._entries.get(address)
        if entry is not None:
            entry.held += 1

    def failed(self, address: str | None) -> bool:
        """Spend one failure; True when this one used up the budget (log the burst once)."""
        if address is None or is_loopback_address(address):
            return False
        entry = self._refresh(address)
        if entry is None:
            entry = _Entry(float(self.capacity), self.clock())
            self._entries[address] = entry
            while len(self._entries) > self.max_addresses:
                self._entries.popitem(last=False)
        self._entries.move_to_end(address)
        entry.tokens = max(0.0, entry.tokens - 1)
        if entry.tokens < 1 and not entry.exhausted:
            entry.exhausted = True
            return True
        return False

    def burst_over(self, address: str | None) -> BurstEnd | None:
        """After a request that was let through: the end of this address's burst, once."""
        if address is None or is_loopback_address(address):
            return None
        entry = self._refresh(address)
        if entry is None or not entry.exhausted or entry.tokens < 1:
            return None
        entry.exhausted = False
        held, entry.held = entry.held, 0
        return BurstEnd(address, held)
