"""Uploads that survive a flaky network: ei_http.Client with bounded retries.

    import ei_robust
    client = ei_robust.Client(api_key, hmac_key, "ESP32", host=..., attempts=5, total_ms=60000)
    client.upload(rec, label="idle")          # or client.upload_file(path, "cbor"), spool.flush

The shape of micropython-lib's umqtt.robust: a thin subclass whose `send()` (which upload() and
upload_file() both go through) retries, and an overridable `delay(attempt)` (pass `delay=` to
inject one, e.g. in tests). Only retryable errors (connection refused, reset, closed early or
timed out; 5xx; 408, 429) are retried, at most `attempts` times in all and not after `total_ms`
have passed since the first attempt. The wait before attempt n+1 is exponential with jitter:
half of min(max_delay_ms, delay_ms * 2**(n-1)), plus a random part up to the other half, so
devices that lost the network together do not come back in step.

Exactly once: requests carry x-disallow-duplicates (the Client's default). When an attempt
fails after the server got the whole request (the answer was lost), the retry is refused as a
duplicate: after at least one failed attempt a DuplicateError means "delivered", and send()
returns None: the file is stored, under a name only the lost answer gave. A DuplicateError on
the first attempt is raised: that content was already in the dataset before this upload. An
upload sent with disallow_duplicates=False is retried too, but then a lost answer can store the
file twice.

Memory: importing ei_robust costs ~2.6 KB over ei_http (~16.6 KB), measured by bisecting
`-X heapsize=<n>w` on the unix port with lib/ as .mpy; an instance adds a few ints to
ei_http.Client. The request is streamed again on each attempt from the Recording or the file,
never buffered.
"""

import ei_http
from ei_errors import DuplicateError, IngestionError, log

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


from ei_time import sleep_ms as _sleep_ms
from ei_time import ticks_diff as _ticks_diff
from ei_time import ticks_ms as _ticks_ms

_MAX_SHIFT = const(20)


def _random(n):
    """A random int in 0..n-1 (n up to 2**24)."""
    if n <= 1:
        return 0
    try:
        import random

        return random.getrandbits(24) % n
    except (ImportError, AttributeError):
        return _ticks_ms() % n


def _check_int(field, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError("%s must be an int >= %d, not %r" % (field, low, value))
    return value


class Client(ei_http.Client):
    """ei_http.Client whose uploads retry retryable failures with backoff; same arguments, plus:

    attempts      tries in all, >= 1 (1: no retries)
    delay_ms      the first wait, in ms
    max_delay_ms  no wait is longer
    total_ms      no new attempt starts after this much time since the first one
    delay         a function(attempt) used instead of the delay() method (tests, schedulers)
    """

    ATTEMPTS = 5
    DELAY_MS = 1000
    MAX_DELAY_MS = 30000
    TOTAL_MS = 120000

    def __init__(
        self,
        *args,
        attempts=None,
        delay_ms=None,
        max_delay_ms=None,
        total_ms=None,
        delay=None,
        **kwargs,
    ):
        self.attempts = _check_int("attempts", self.ATTEMPTS if attempts is None else attempts, 1)
        self.delay_ms = _check_int("delay_ms", self.DELAY_MS if delay_ms is None else delay_ms, 0)
        self.max_delay_ms = _check_int(
            "max_delay_ms", self.MAX_DELAY_MS if max_delay_ms is None else max_delay_ms, 0
        )
        self.total_ms = _check_int("total_ms", self.TOTAL_MS if total_ms is None else total_ms, 0)
        if delay is not None and not callable(delay):
            raise ValueError("delay must be a function(attempt) or None, not %r" % (delay,))
        super().__init__(*args, **kwargs)
        if delay is not None:
            self.delay = delay  # type: ignore[method-assign]
        self.tries = 0  # attempts the last send() made
        self._left_ms = self.total_ms

    def backoff_ms(self, attempt):
        """The wait after failed attempt `attempt` (1, 2, ...): exponential, with jitter."""
        cap = self.delay_ms << min(attempt - 1, _MAX_SHIFT)
        if cap > self.max_delay_ms:
            cap = self.max_delay_ms
        half = cap // 2
        return cap - half + _random(half + 1)

    def delay(self, attempt):
        """Wait before the next attempt; override (or pass delay=) to change how."""
        ms = self.backoff_ms(attempt)
        _sleep_ms(ms if ms < self._left_ms else self._left_ms)

    def send(self, req):
        start = _ticks_ms()
        failed = False
        attempt = 0
        while True:
            attempt += 1
            self.tries = attempt
            try:
                return super().send(req)
            except DuplicateError:
                if not failed:
                    raise
                # An earlier attempt arrived; only its answer was lost.
                log("retry %d found %s already stored: delivered" % (attempt, req.filename))
                return None
            except IngestionError as e:
                if not e.retryable or attempt >= self.attempts:
                    raise e
                self._left_ms = self.total_ms - _ticks_diff(_ticks_ms(), start)
                if self._left_ms <= 0:
                    raise e
                failed = True
                log("attempt %d of %d failed (%s): retrying" % (attempt, self.attempts, e))
                self.delay(attempt)
                if _ticks_diff(_ticks_ms(), start) >= self.total_ms:
                    raise e
