"""Streaming encoder for the Edge Impulse data acquisition format: JSON, CBOR and binary.

The encoder walks a Recording's buffer one row at a time into one staging bytearray and hands
each full chunk to a sink: an HMAC, a byte counter, a file or a socket. The file is never built
in RAM, so its size is bounded by flash or the network, not by the heap.

Signing (HS256) needs the digest inside the file it covers. Two ways, identical bytes:
- `measure()` then `emit()`: pass 1 feeds the HMAC and counts bytes (the Content-Length),
  pass 2 writes the same bytes with the real signature. Works on any stream (sockets).
- `emit()` to a seekable file while hashing, then `patch()` the digest at its offset (one pass,
  as the Edge Impulse C SDK does).

Memory: the staging buffer (`stage_size` + 48 bytes, default 256), a header of 100-400 bytes
while a file is written, and two sha256 objects while signing. Nothing is allocated per row for
integer recordings, int16 with a scale and float32 (viper row kernels; the parameters of a
scale are prepared once per file); other scaled or float recordings go through the kernels'
plain twins, which box a float per value.
"""

import hashlib
import os
from array import array
from binascii import hexlify

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


_RESERVE = const(48)  # room past the stage for the longest single token
_BLOCK = const(64)  # SHA-256 block size, for HMAC
_INT_CODES = "bBhHiIlLqQ"

JSON = "json"
CBOR = "cbor"
BINARY = "binary"
FORMATS = (CBOR, JSON, BINARY)


def check_format(fmt):
    if fmt not in FORMATS:
        raise ValueError("fmt must be 'cbor', 'json' or 'binary', not %r" % (fmt,))


def check_text(field, value, empty_ok=False):
    """A string for the header: no control characters (they would break JSON and labels)."""
    if not isinstance(value, str):
        raise ValueError("%s must be a string, not %s" % (field, type(value).__name__))
    if not value and not empty_ok:
        raise ValueError("%s is empty" % field)
    for c in value:
        o = ord(c)
        if o < 0x20 or o == 0x7F:
            raise ValueError("%s contains a control character (0x%02x)" % (field, o))


def hmac_key_bytes(key):
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, (bytes, bytearray)):
        raise ValueError("hmac_key must be a string, bytes or None")
    if not key:
        raise ValueError("hmac_key is empty: pass None to send unsigned (alg none)")
    return bytes(key)


class Hmac:
    """HMAC-SHA256 by hand (MicroPython has no hmac module): RFC 2104 over hashlib.sha256."""

    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        pad = bytearray(_BLOCK)
        for i in range(len(key)):
            pad[i] = key[i]
        for i in range(_BLOCK):
            pad[i] ^= 0x36
        self._inner = hashlib.sha256(pad)
        for i in range(_BLOCK):
            pad[i] ^= 0x36 ^ 0x5C
        self._outer_pad = pad
        self.update = self._inner.update

    def hexdigest(self):
        outer = hashlib.sha256(self._outer_pad)
        outer.update(self._inner.digest())
        return hexlify(outer.digest())


def codec(fmt):
    """The module that writes one format: ei_cbor, ei_json, or ei_values (binary payloads).
    Each is loaded on first use, so a board pays only for the format it sends."""
    if fmt == CBOR:
        import ei_cbor

        return ei_cbor
    if fmt == JSON:
        import ei_json

        return ei_json
    import ei_values

    return ei_values


def header(rec, fmt, signed, device_type, device_name, iat):
    """Everything before the first row, and the offset of the 64-char signature (or -1)."""
    return codec(fmt).header(rec, signed, device_type, device_name, iat)


# --- the streaming writer ------------------------------------------------------------------------


class Encoder:
    """Turns Recordings into data acquisition files through one staging buffer.

    One Encoder can be reused for any number of files; it allocates its buffers once.
    """

    def __init__(self, stage_size=256):
        if stage_size < 64:
            raise ValueError("stage_size must be at least 64 bytes")
        self.size = stage_size
        self.buf = bytearray(stage_size + _RESERVE)
        self._head = memoryview(self.buf)[:stage_size]
        self.pos = 0
        self._count = 0
        self._sink = _discard
        self._rows = _no_rows
        self._end = _no_end
        self._state = array("i", (0, 0, 0, 0))  # row, stage position, axis, status: kernels
        self._plan = None
        self._planned = None

    # Chunks go to the sink whole: the stage fills past its size into the reserve, the first
    # stage_size bytes go out through a memoryview made once, the rest moves to the front.
    def spill(self):
        size = self.size
        self._sink(self._head)
        self._count += size
        buf = self.buf
        rest = self.pos - size
        for i in range(rest):
            buf[i] = buf[size + i]
        self.pos = rest

    def put_block(self, data):
        buf = self.buf
        size = self.size
        for b in data:
            buf[self.pos] = b
            self.pos += 1
            if self.pos >= size:
                self.spill()

    def fast_rows(self, kernel, rec, start, stop, params, twin=None):
        """Encode rows start..stop-1 with a row kernel (ei_cbor, ei_json, ei_fixed, ei_f32cbor,
        ei_f32text): it fills the stage from rec.buffer and keeps its place in
        state = [row, stage position, axis, status]; we spill, until all rows are out.
        Status 1: the kernel left one value to its plain `twin`; status 2: a value that is
        not a finite float32 (ValueError, as check_values would raise)."""
        state = self._state
        state[0] = start
        state[2] = 0
        data = rec.buffer
        axes = rec.axes
        size = self.size
        buf = self.buf
        while state[0] < stop:
            state[1] = self.pos
            state[3] = 0
            kernel(data, state, buf, size, axes, stop, params)
            if state[3] == 1:  # a single value for the twin: a stage 1 byte long takes it
                state[3] = 0
                twin(data, state, buf, state[1] + 1, axes, stop, params)
            if state[3]:
                _bad_value(rec, state[0], state[2])
            self.pos = state[1]
            if self.pos >= size:
                self.spill()

    def plan(self, rec, make):
        """What `make(rec)` prepares for a file (kernel, parameters), made once per file:
        begin() forgets it."""
        if self._planned is not rec:
            self._plan = make(rec)
            self._planned = rec
        return self._plan

    def begin(self, sink, head, fmt):
        """Start a file: the sink gets every chunk from here on, the header first."""
        mod = codec(fmt)
        self._rows = mod.rows
        self._end = mod.end
        self._sink = sink
        self._planned = None
        self.pos = 0
        self._count = 0
        self.put_block(head)

    def rows(self, rec, start, stop):
        """Encode rows start..stop-1 (called in order, any batch size: the bytes are the same)."""
        self._rows(self, rec, start, stop)

    def end(self):
        """Close the file, hand over the last partial chunk; return the file's length."""
        try:
            self._end(self)
            if self.pos:
                self._sink(memoryview(self.buf)[: self.pos])
                self._count += self.pos
                self.pos = 0
            return self._count
        finally:
            self._sink = _discard

    def emit(self, rec, fmt, head, sink):
        """Write one whole file (header `head`, then the rows) to `sink`; return its length."""
        try:
            self.begin(sink, head, fmt)
            self.rows(rec, 0, len(rec))
        except BaseException:
            self._sink = _discard
            raise
        return self.end()

    def measure(self, rec, fmt, head, key):
        """Pass 1: the file's length and its signature (None when `key` is None)."""
        if key is None:
            return self.emit(rec, fmt, head, _discard), None
        mac = Hmac(key)
        n = self.emit(rec, fmt, head, mac.update)
        return n, mac.hexdigest()


def _discard(chunk):
    pass


def _bad_value(rec, row, axis):
    import ei_values

    v = rec.buffer[row * rec.axes + axis]
    if rec.scale is not None:
        v = v * rec.scale[axis]
    ei_values.bad_value(v, row, axis, rec)


def _no_rows(enc, rec, start, stop):
    raise RuntimeError("Encoder.begin() first")


def _no_end(enc):
    raise RuntimeError("Encoder.begin() first")


def writer(stream, mac=None):
    """A sink that writes every byte to `stream`, even where write() takes only part; with
    `mac`, it also feeds every byte to that HMAC (one-pass signing of a seekable file)."""
    write = stream.write

    def write_all(chunk):
        if mac is not None:
            mac.update(chunk)
        n = write(chunk)
        if n is None or n == len(chunk):
            return
        view = memoryview(chunk)
        while n < len(view):
            m = write(view[n:])
            if not m:
                raise OSError("stream accepted no bytes")
            n += m

    return write_all


def dump(
    rec,
    stream,
    fmt=CBOR,
    hmac_key=None,
    device_type=None,
    device_name=None,
    iat=None,
    stage_size=256,
):
    """Write a complete data acquisition file for `rec` to `stream`; return the bytes written.

    `stream` is anything with write(), or a file name: that file is created (or replaced) and
    written in one pass, the digest patched in place at the end, as the Edge Impulse C SDK does
    (if writing fails, the file is removed).
    Any other stream gets two passes over the buffer (pass 1 signs), unless it says it is a file
    opened for writing in place (a `mode` with "w" or "+" and no "a"): an append-mode file would
    put the patch at its end. The bytes are the same either way.
    """
    check_format(fmt)
    key = None if hmac_key is None else hmac_key_bytes(hmac_key)
    device_type = check_device_type(device_type)
    if device_name is not None:
        check_text("device_name", device_name)
    iat = check_iat(iat)
    if len(rec) == 0:
        raise ValueError("the recording is empty: nothing to send")
    head, sig_at = header(rec, fmt, key is not None, device_type, device_name, iat)
    enc = Encoder(stage_size)
    if isinstance(stream, str):
        check_values(rec)
        try:
            with open(stream, "wb") as f:
                return _one_pass(enc, rec, fmt, head, sig_at, key, f, 0)
        except BaseException:
            try:
                os.remove(stream)  # never a half-written file
            except OSError:
                pass
            raise
    if key is not None and not _writes_in_place(stream):
        # Pass 1 checks every value and signs, so a bad value writes nothing.
        n, sig = enc.measure(rec, fmt, head, key)
        head[sig_at : sig_at + 64] = sig
        enc.emit(rec, fmt, head, writer(stream))
        return n
    return _one_pass(enc, rec, fmt, head, sig_at, key, stream, stream.tell() if key else 0)


def _writes_in_place(stream):
    mode = getattr(stream, "mode", None)
    return isinstance(mode, str) and "a" not in mode and ("w" in mode or "+" in mode)


def _one_pass(enc, rec, fmt, head, sig_at, key, f, start):
    check_values(rec)
    if key is None:
        return enc.emit(rec, fmt, head, writer(f))
    mac = Hmac(key)
    n = enc.emit(rec, fmt, head, writer(f, mac))
    f.seek(start + sig_at)
    f.write(mac.hexdigest())
    f.seek(start + n)
    return n


def check_values(rec):
    """Raise the ValueError for the first value that cannot be sent, before anything is written.

    Integer recordings cannot hold such a value unless their scale is large enough to take
    the typecode's largest reading past float32 (3.4e38): most have nothing to scan.
    """
    code = rec.typecode
    if code in _INT_CODES:
        if rec.scale is None:
            return
        top = 2.0**64 if code in "lLqQ" else 2.0**32 if code in "iI" else 2.0**16
        if max(abs(s) for s in rec.scale) * top < 1e38:
            return
    import ei_values

    ei_values.check_values(rec)


def check_device_type(device_type):
    if device_type is None:
        import sys

        device_type = sys.platform.upper()
    check_text("device_type", device_type)
    return device_type


def check_iat(iat):
    """Unix seconds (after 2001-09-09, before 2106) or None: not milliseconds, not 0."""
    if iat is None:
        return None
    if not isinstance(iat, int) or isinstance(iat, bool) or not 1000000000 < iat < 1 << 32:
        raise ValueError(
            "iat must be Unix seconds (an int between 1e9 and 2**32) or None, not %r" % (iat,)
        )
    return iat
