"""ei_ingest: collect sensor data on a MicroPython board and send it to Edge Impulse.

    import ei_ingest
    rec = ei_ingest.Recording((("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")),
                              interval_ms=10, capacity=1000, typecode="h", scale=9.81 / 16384)
    rec.append((x, y, z))
    ei_ingest.dump(rec, f, fmt="cbor", hmac_key="...", device_type="ESP32")
    client = ei_ingest.Client(api_key, hmac_key, "ESP32", ca="/ca.der")  # HTTPS, checked
    client.upload(rec, label="idle")

Memory: a Recording is one array of capacity x axes items (2 bytes each for "h") allocated at
construction, plus a few small objects. Writing a file costs the encoder's staging buffer
(256 bytes for dump, 1 KiB for uploads) and does not grow with the number of rows. Importing
this module loads the Recording and the encoder core only; the uploader, the spool and the
error classes load when first named (ei_ingest.Client, ei_ingest.Spool, ei_ingest.AuthError).
See BENCHMARKS.md for measured figures.
"""

import math
import struct
from array import array

from ei_encode import check_text, check_values, dump  # noqa: F401

_TYPECODES = "bBhHiIlLqQfd"
_FLOAT_CODES = "fd"


class _Zeros:
    """An iterable of n zeros with a length, so array() allocates its storage once, exactly."""

    def __init__(self, n):
        self._n = n

    def __len__(self):
        return self._n

    def __iter__(self):
        for _ in range(self._n):
            yield 0


def _check_number(field, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("%s must be a number, not %r" % (field, value))
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError("%s must be finite, not %r" % (field, value))
    if positive and value <= 0:
        raise ValueError("%s must be > 0, not %r" % (field, value))


class Recording:
    """Rows of readings, one number per axis, in one preallocated array.

    `sensors` is a sequence of (name, units) pairs, one per axis (units: SenML, e.g. "m/s2").
    `typecode` is the array typecode of the buffer. `scale` (one number, or one per axis)
    turns raw readings into physical units when the file is encoded.
    """

    def __init__(self, sensors, interval_ms, capacity, typecode="h", scale=None):
        sensors = tuple(sensors)
        if not sensors:
            raise ValueError("sensors is empty: give at least one (name, units) pair")
        if len(sensors) > 255:
            raise ValueError("sensors: at most 255 axes, not %d" % len(sensors))
        names = []
        for i, pair in enumerate(sensors):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError("sensors[%d] must be a (name, units) pair, not %r" % (i, pair))
            check_text("sensors[%d] name" % i, pair[0])
            check_text("sensors[%d] units" % i, pair[1], empty_ok=True)
            if pair[0] in names:
                raise ValueError("sensors[%d] name %r is a duplicate" % (i, pair[0]))
            names.append(pair[0])
        self.sensors = tuple((name, units) for name, units in sensors)
        _check_number("interval_ms", interval_ms, positive=True)
        self.interval_ms = interval_ms
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError("capacity must be an int >= 1 (rows), not %r" % (capacity,))
        if not isinstance(typecode, str) or len(typecode) != 1 or typecode not in _TYPECODES:
            raise ValueError(
                "typecode must be one of %s, not %r" % (", ".join(_TYPECODES), typecode)
            )
        self.axes = len(self.sensors)
        self.capacity = capacity
        self.typecode = typecode
        self.scale = self._scale(scale)
        self._floats = typecode in _FLOAT_CODES
        self._lo = self._hi = 0
        if not self._floats:
            bits = 8 * struct.calcsize(typecode)
            signed = typecode in "bhilq"
            self._lo = -(1 << (bits - 1)) if signed else 0
            self._hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        try:
            self.buffer = array(typecode, _Zeros(capacity * self.axes))
        except (ValueError, OverflowError):
            raise ValueError("typecode %r is not supported by this port's array" % typecode)
        self._rows = 0

    def _scale(self, scale):
        if scale is None:
            return None
        if isinstance(scale, (int, float)) and not isinstance(scale, bool):
            scale = (scale,) * self.axes
        scale = tuple(scale)
        if len(scale) != self.axes:
            raise ValueError("scale has %d values for %d axes" % (len(scale), self.axes))
        for i, s in enumerate(scale):
            _check_number("scale[%d]" % i, s)
        return tuple(float(s) for s in scale)

    def __len__(self):
        return self._rows

    def append(self, row):
        """Copy one row (a sequence of `axes` numbers) into the buffer."""
        if len(row) != self.axes:
            raise ValueError("row has %d values for %d axes" % (len(row), self.axes))
        if self._rows >= self.capacity:
            self._full(1)
        lo = self._lo
        axis = 0
        for v in row:
            if self._floats:
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v:
                    self._bad(axis, v, "a number")
                # math.isinf, not v == math.inf: mpy-cross folds math.inf into a float
                # constant that mpy-tool cannot write as C, and lib/ must freeze.
                if math.isinf(v):
                    self._bad(axis, v, "finite")
            elif not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= self._hi:
                self._bad(
                    axis, v, "an int in %d..%d for typecode %r" % (lo, self._hi, self.typecode)
                )
            axis += 1
        i = self._rows * self.axes
        buf = self.buffer
        for v in row:
            buf[i] = v
            i += 1
        self._rows += 1

    def _bad(self, axis, v, what):
        raise ValueError(
            "row %d axis %s: %r must be %s" % (self._rows, self.sensors[axis][0], v, what)
        )

    def commit_rows(self, n=1):
        """Count `n` rows written straight into `buffer` at offset len(self) * axes."""
        if n < 0 or self._rows + n > self.capacity:
            self._full(n)
        self._rows += n

    def _full(self, n):
        from ei_errors import RecordingFull

        raise RecordingFull(
            "recording is full: %d + %d rows > capacity %d" % (self._rows, n, self.capacity)
        )

    def clear(self):
        self._rows = 0

    def check(self):
        """Raise ValueError for the first value that could not be sent (NaN, inf, too large)."""
        check_values(self)


# What loads on first use: a board that only writes files (dump) never pays for sockets, TLS,
# the spool or the exception classes.
_LAZY = {
    "Client": "ei_http",
    "client_from_config": "ei_http",
    "Spool": "ei_spool",
    "SpoolFull": "ei_spool",
    "RecordingFull": "ei_errors",
    "ConnectionFailed": "ei_errors",
    "set_log": "ei_errors",
}


def __getattr__(name):
    module = _LAZY.get(name) or ("ei_errors" if name.endswith("Error") else None)
    if module is None:
        raise AttributeError("module 'ei_ingest' has no attribute %r" % name)
    return getattr(__import__(module), name)
