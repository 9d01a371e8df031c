"""Uploads that survive a flaky network: ei_http.Client with bounded retries.

    import ei_robust
    client = ei_robust.Client(api_key, hmac_key, "ESP32", host=..., attempts=5, total_ms=60000)
    client.upload(rec, label="idle")          # or client.upload_file(path, "cbor"), spool.flush

The shape of micropython-lib's umqtt.robust: a thin subclass whose send() (which upload() and
upload_file() both go through) retries, settings as class attributes that a subclass or an
instance overrides (the keyword arguments set them on the instance, checked), and one hook,
delay(attempt, left_ms), to override (or pass delay=) for another way of waiting. Only retryable
errors (connection refused, reset, closed early or timed out; 5xx; 408, 429; an answer that is
not the API's) are retried, at most `attempts` times in all and not after `total_ms` have passed
since the first attempt. The wait before attempt n+1 is exponential with jitter: half of
min(max_delay_ms, delay_ms * 2**(n-1)), plus a random part up to the other half, so devices
that lost the network together do not come back in step.

Exactly once: requests carry x-disallow-duplicates (the Client's default). When an attempt
fails after the server got the whole request (the answer was lost), the retry is refused as a
duplicate: after at least one failed attempt a DuplicateError means "delivered", and send()
returns None: the file is stored, under a name only the lost answer gave. A DuplicateError on
the first attempt is raised: that content was already in the dataset before this upload.

Memory: the module's code on top of ei_http's; an instance adds a few ints. The request is
streamed again on each attempt from the Recording or the file, never buffered.
"""

import ei_http
from ei_log import log
from ei_time import sleep_ms, ticks_diff, ticks_ms


class Client(ei_http.Client):
    """ei_http.Client whose uploads retry retryable failures with backoff; same arguments, plus
    keyword settings (defaults: the class attributes)."""

    attempts = 5  # tries in all, >= 1 (1: no retries)
    delay_ms = 1000  # the first wait
    max_delay_ms = 30000  # no wait is longer
    total_ms = 120000  # no new attempt starts after this long since the first one

    def __init__(self, *args, delay=None, **kwargs):
        for name in ("attempts", "delay_ms", "max_delay_ms", "total_ms"):
            if name in kwargs:
                value = kwargs.pop(name)
                low = 1 if name == "attempts" else 0
                if isinstance(value, bool) or not isinstance(value, int) or value < low:
                    raise ValueError("%s must be an int >= %d, not %r" % (name, low, value))
                setattr(self, name, value)
        if delay is not None:
            if not callable(delay):
                raise ValueError("delay must be a function(attempt, left_ms), not %r" % (delay,))
            self.delay = delay  # type: ignore[method-assign]
        super().__init__(*args, **kwargs)
        self.tries = 0  # attempts the last send() made

    def backoff_ms(self, attempt):
        """The wait after failed attempt `attempt` (1, 2, ...): exponential, with jitter."""
        cap = self.delay_ms << min(attempt - 1, 20)
        if cap > self.max_delay_ms:
            cap = self.max_delay_ms
        half = cap // 2
        return cap - half + (_random(half + 1) if half else 0)

    def delay(self, attempt, left_ms):
        """Wait before attempt `attempt` + 1, at most `left_ms`; override to change how."""
        sleep_ms(min(self.backoff_ms(attempt), left_ms))

    def send(self, req):
        start = ticks_ms()
        attempt = 0
        while True:
            attempt += 1
            self.tries = attempt
            try:
                return super().send(req)
            except Exception as e:  # an IngestionError has these (ei_errors loads only then)
                if not hasattr(e, "retryable"):
                    raise
                if getattr(e, "duplicate", False) and attempt > 1:
                    # An earlier attempt arrived; only its answer was lost.
                    log("retry %d found %s already stored: delivered" % (attempt, req.filename))
                    return None
                left = self.total_ms - ticks_diff(ticks_ms(), start)
                if not getattr(e, "retryable") or attempt >= self.attempts or left <= 0:
                    raise
                log("attempt %d of %d failed (%s): retrying" % (attempt, self.attempts, e))
                self.delay(attempt, left)
                if ticks_diff(ticks_ms(), start) >= self.total_ms:
                    raise


def _random(n):
    """A random int in 0..n-1 (n up to 2**24)."""
    try:
        import random

        return random.getrandbits(24) % n
    except (ImportError, AttributeError):
        return ticks_ms() % n
