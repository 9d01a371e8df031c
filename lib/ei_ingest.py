"""ei_ingest: a Recording of sensor rows in one preallocated array, and the encoder that writes
it as an Edge Impulse data acquisition file (CBOR, JSON or binary), signed with HMAC-SHA256.

    rec = ei_ingest.Recording((("accX", "m/s2"), ("accY", "m/s2")), 10, 1000, "h", 9.81 / 16384)
    rec.append((x, y)); ei_ingest.dump(rec, "/a.cbor", "cbor", hmac_key="...", device_type="ESP32")
    ei_ingest.Client(api_key, hmac_key, "ESP32", ca="/ca.der").upload(rec, label="idle")

Encoder.chunks() yields the file as full stages of one bytearray: the header, the rows that a
format's kernel writes (ei_cbor, ei_json, ei_binary: header(), plan(rec) -> (kernel, twin,
params), END; a kernel fills the stage, keeps its place in state = [row, position, axis,
status] and never calls back), the end. Pass 1 signs and counts, pass 2 writes the same bytes;
a file of our own takes one pass and the digest patched in, as the C SDK does. dump, Client and
Spool share the checks of a file's fields here (signer, check_iat, check_text).

Memory: a Recording is its array (capacity x axes items, 2 bytes each for "h"); writing, the
stage (`stage_size` + 48 bytes), the header and two sha256 objects, whatever the rows.
"""

import hashlib
import math
import os
import struct
from array import array
from binascii import hexlify

from micropython import const

_RESERVE = const(48)  # room past the stage for the longest single row or value a kernel writes
_BLOCK = const(64)  # SHA-256 block size, for HMAC
_TYPECODES = "bBhHiIlLqQfd"
_INT_CODES = "bBhHiIlLqQ"
FORMATS = ("cbor", "json", "binary")


class Recording:
    """Rows of readings, one number per axis, in one preallocated array: `sensors` are (name,
    units) pairs, one per axis (SenML units, e.g. "m/s2"); `typecode` is the array's; `scale`
    (one number, or one per axis) turns raw readings into physical units in the file."""

    def __init__(self, sensors, interval_ms, capacity, typecode="h", scale=None):
        sensors = tuple(sensors)
        if not 0 < len(sensors) <= 255:
            raise ValueError("sensors: give 1 to 255 (name, units) pairs, not %d" % len(sensors))
        names = []
        for i, pair in enumerate(sensors):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError("sensors[%d] must be a (name, units) pair, not %r" % (i, pair))
            check_text("sensors[%d] name" % i, pair[0])
            check_text("sensors[%d] units" % i, pair[1], True)
            if pair[0] in names:
                raise ValueError("sensors[%d] name %r is a duplicate" % (i, pair[0]))
            names.append(pair[0])
        self.sensors = tuple((name, units) for name, units in sensors)
        self.axes = n = len(names)
        _number("interval_ms", interval_ms, True)
        # As the file holds it: below 2**32 (an int's CBOR head), and not 0 as a float32.
        if interval_ms >= 1 << 32 or struct.pack(">f", interval_ms) == b"\0\0\0\0":
            raise ValueError("interval_ms %r is 0 or too large as the file holds it" % interval_ms)
        self.interval_ms = interval_ms
        if type(capacity) is not int or capacity < 1:
            raise ValueError("capacity must be an int >= 1 (rows), not %r" % (capacity,))
        if not isinstance(typecode, str) or len(typecode) != 1 or typecode not in _TYPECODES:
            raise ValueError("typecode must be one of %s, not %r" % (_TYPECODES, typecode))
        self.capacity = capacity
        self.typecode = typecode
        if scale is not None:
            scale = (scale,) * n if isinstance(scale, (int, float)) else tuple(scale)
            if len(scale) != n:
                raise ValueError("scale has %d values for %d axes" % (len(scale), n))
            for i, s in enumerate(scale):
                _number("scale[%d]" % i, s)
            scale = tuple(float(s) for s in scale)
        self.scale = scale
        self._lo = None  # float buffers: any finite number (and no _hi)
        if typecode in _INT_CODES:
            bits = 8 * struct.calcsize(typecode) - (typecode in "bhilq")
            self._lo = -(1 << bits) if typecode in "bhilq" else 0
            self._hi = (1 << bits) - 1
        try:
            self.buffer = array(typecode, _Zeros(capacity * n))
        except (ValueError, OverflowError):
            raise ValueError("typecode %r is not supported by this port's array" % typecode)
        self._rows = 0

    def __len__(self):
        return self._rows

    def append(self, row):
        """Copy one row (a sequence of `axes` numbers) into the buffer."""
        if len(row) != self.axes:
            raise ValueError("row has %d values for %d axes" % (len(row), self.axes))
        if self._rows >= self.capacity:
            self._full(1)
        lo = self._lo
        for axis, v in enumerate(row):
            if lo is None:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                    self._bad(axis, v, "a number")
                if math.isinf(v):
                    self._bad(axis, v, "finite")
            elif isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= self._hi:
                self._bad(
                    axis, v, "an int in %d..%d for typecode %r" % (lo, self._hi, self.typecode)
                )
        i = self._rows * self.axes
        for v in row:
            self.buffer[i] = v
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
        _check_values(self)


class _Zeros:
    """n zeros with a length, so that array() allocates its storage once, exactly."""

    def __init__(self, n):
        self._n = n

    def __len__(self):
        return self._n

    def __iter__(self):
        return (0 for _ in range(self._n))


def _number(field, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("%s must be a number, not %r" % (field, value))
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError("%s must be finite, not %r" % (field, value))
    if positive and value <= 0:
        raise ValueError("%s must be > 0, not %r" % (field, value))


def check_text(field, value, empty_ok=False):
    """A string for the header: no control characters (they would break JSON and labels)."""
    if not isinstance(value, str):
        raise ValueError("%s must be a string, not %s" % (field, type(value).__name__))
    if not value and not empty_ok:
        raise ValueError("%s is empty" % field)
    for c in value:
        if c < " " or c == "\x7f":
            raise ValueError("%s contains a control character (0x%02x)" % (field, ord(c)))


def signer(hmac_key, device_type, device_name):
    """(key bytes or None, device type, device name), checked: who signs and describes a file."""
    if hmac_key is not None:
        hmac_key = key_bytes(hmac_key)
    if device_type is None:
        device_type = __import__("sys").platform.upper()
    check_text("device_type", device_type)
    if device_name is not None:
        check_text("device_name", device_name)
    return hmac_key, device_type, device_name


def key_bytes(key):
    key = key.encode() if isinstance(key, str) else key
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise ValueError("hmac_key must be a non-empty string or bytes (None: send unsigned)")
    return bytes(key)


def check_iat(iat):
    """Unix seconds (after 2001-09-09, before 2106) or None: not milliseconds, not 0."""
    if iat is None or type(iat) is int and 1000000000 < iat < 1 << 32:
        return iat
    raise ValueError("iat must be Unix seconds (an int between 1e9 and 2**32), not %r" % (iat,))


def codec(fmt):
    """The module that writes one format, loaded on first use: a board pays for what it sends."""
    if fmt not in FORMATS:
        raise ValueError("fmt must be 'cbor', 'json' or 'binary', not %r" % (fmt,))
    return __import__("ei_" + fmt)


def header(rec, fmt, signed, device_type, device_name, iat):
    """Everything before the first row (a bytearray), and the offset of the signature (or -1)."""
    mod = codec(fmt)
    if len(rec) == 0:
        raise ValueError("the recording is empty: nothing to send")
    return mod.header(rec, signed, device_type, device_name, check_iat(iat))


def _check_values(rec):
    """The ValueError for the first value that cannot be sent, before anything is written. An
    integer recording holds none unless its scale takes its largest reading past float32."""
    if rec.typecode in _INT_CODES:
        if rec.scale is None:
            return
        top = 2.0**64 if rec.typecode in "lLqQ" else 2.0**32 if rec.typecode in "iI" else 2.0**16
        if max(abs(s) for s in rec.scale) * top < 1e38:
            return
    import ei_float

    ei_float.check_values(rec)


class Hmac:
    """HMAC-SHA256 by hand (MicroPython has no hmac module): RFC 2104 over hashlib.sha256."""

    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        pad = bytearray(_BLOCK)
        for i in range(_BLOCK):
            pad[i] = (key[i] if i < len(key) else 0) ^ 0x36
        self._inner = hashlib.sha256(pad)
        for i in range(_BLOCK):
            pad[i] ^= 0x36 ^ 0x5C
        self._outer_pad = pad
        self.update = self._inner.update

    def hexdigest(self):
        outer = hashlib.sha256(self._outer_pad)
        outer.update(self._inner.digest())
        return hexlify(outer.digest())


class Encoder:
    """Writes Recordings as files through one staging buffer, allocated once; reuse it."""

    def __init__(self, stage_size=256):
        if stage_size < 64:
            raise ValueError("stage_size must be at least 64 bytes")
        self.size = stage_size
        self.buf = bytearray(stage_size + _RESERVE)
        self.full = memoryview(self.buf)[:stage_size]
        self._state = array("i", (0, 0, 0, 0))  # row, stage position, axis, status

    def chunks(self, rec, fmt, head, post=b"", pos=0):
        """The file (header `head`, rows, end), then `post`: full stages and a short last one,
        each a memoryview that is valid until the next one is asked for. `pos`: bytes already
        in the stage (copied there by the caller)."""
        mod = codec(fmt)
        kernel, twin, params = mod.plan(rec)
        buf = self.buf
        size = self.size
        state = self._state
        pos = yield from self.copy(head, pos)
        state[0] = state[2] = 0
        stop = len(rec)
        while state[0] < stop:
            state[1] = pos
            state[3] = 0
            kernel(rec.buffer, state, buf, size, rec.axes, stop, params)
            if state[3] == 1:  # one value for the plain twin: a stage 1 byte long takes it
                state[3] = 0
                twin(rec.buffer, state, buf, state[1] + 1, rec.axes, stop, params)
            if state[3]:
                __import__("ei_float").bad_value(rec, state[0], state[2])
            pos = state[1]
            if pos >= size:
                yield self.full
                for i in range(pos - size):  # the reserve's bytes to the front
                    buf[i] = buf[size + i]
                pos -= size
        pos = yield from self.copy(mod.END, pos)
        pos = yield from self.copy(post, pos)
        if pos:
            yield memoryview(buf)[:pos]

    def copy(self, data, pos):
        """`data` into the stage from `pos`, yielding each stage it fills; the new position."""
        n = len(data)
        if pos + n < self.size:  # the usual case: one slice assignment (it allocates nothing)
            self.buf[pos : pos + n] = data
            return pos + n
        for b in data:  # across a stage's end: a byte at a time (a slice of data would allocate)
            self.buf[pos] = b
            pos += 1
            if pos == self.size:
                yield self.full
                pos = 0
        return pos

    def run(self, rec, fmt, head, mac=None, write=None):
        """One pass: every chunk to `mac` and `write` (either may be None); return the length."""
        n = 0
        for chunk in self.chunks(rec, fmt, head):
            if mac is not None:
                mac.update(chunk)
            if write is not None:
                write_all(write, chunk)
            n += len(chunk)
        return n

    def measure(self, rec, fmt, head, key):
        """Pass 1: the file's length and its signature (None when `key` is None)."""
        mac = None if key is None else Hmac(key)
        n = self.run(rec, fmt, head, mac)
        return n, None if mac is None else mac.hexdigest()


def write_all(write, chunk):
    """write(chunk) until every byte went, where a stream takes only part (None means all)."""
    n = write(chunk)
    if n is None or n == len(chunk):
        return
    view = memoryview(chunk)
    while n < len(view):
        m = write(view[n:])
        if not m:
            raise OSError("stream accepted no bytes")
        n += m


def dump(
    rec, stream, fmt="cbor", hmac_key=None, device_type=None, device_name=None, iat=None,
    stage_size=256, encoder=None):  # fmt: skip
    """Write a complete data acquisition file for `rec` to `stream`; return the bytes written.

    `stream` is anything with write(), or a file name: that file is created (or replaced) and
    written in one pass, the digest patched in place at the end (if writing fails, the file is
    removed). Any other stream gets two passes (pass 1 checks every value and signs, so a bad
    value writes nothing), unless it is a file opened for writing in place (a `mode` with "w"
    or "+" and no "a": in append mode the patch would land at its end). Same bytes either way.
    `encoder`: an Encoder to write through (a Spool keeps one) instead of a new one.
    """
    key, device_type, device_name = signer(hmac_key, device_type, device_name)
    head, sig_at = header(rec, fmt, key is not None, device_type, device_name, iat)
    enc = Encoder(stage_size) if encoder is None else encoder
    if isinstance(stream, str):
        try:
            with open(stream, "wb") as f:
                return _write(enc, rec, fmt, head, sig_at, key, f, True)
        except BaseException:
            try:
                os.remove(stream)  # never a half-written file
            except OSError:
                pass
            raise
    mode = getattr(stream, "mode", "")
    in_place = isinstance(mode, str) and "a" not in mode and ("w" in mode or "+" in mode)
    return _write(enc, rec, fmt, head, sig_at, key, stream, in_place)


def _write(enc, rec, fmt, head, sig_at, key, stream, in_place):
    if key is not None and not in_place:
        n, sig = enc.measure(rec, fmt, head, key)
        head[sig_at : sig_at + 64] = sig
        enc.run(rec, fmt, head, None, stream.write)
        return n
    _check_values(rec)  # before the first byte: the one pass cannot take a bad value back
    start = stream.tell() if key else 0
    mac = None if key is None else Hmac(key)
    n = enc.run(rec, fmt, head, mac, stream.write)
    if mac is not None:
        stream.seek(start + sig_at)
        stream.write(mac.hexdigest())
        stream.seek(start + n)
    return n


# Loaded when first named, then cached: a board that only writes files never pays for the rest.
_LAZY = (
    "ei_http Client client_from_config|ei_spool Spool SpoolFull SpoolError|ei_log set_log|"
    "ei_net WifiError|ei_errors IngestionError AuthError InvalidError DuplicateError "
    "MissingHeaderError UnexpectedAnswer ServerError ConnectionFailed TLSError RecordingFull"
)


def __getattr__(name):
    for entry in _LAZY.split("|"):
        names = entry.split()
        if name in names[1:]:
            globals()[name] = value = getattr(__import__(names[0]), name)
            return value
    raise AttributeError("module 'ei_ingest' has no attribute %r" % name)
