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
integer recordings; float values (float typecodes or a scale) allocate a boxed float each.
"""

import hashlib
import math
import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc,no-redef]
        return x


_RESERVE = const(48)  # room past the stage for the longest single token
_BLOCK = const(64)  # SHA-256 block size, for HMAC
_FLT_MAX = 3.4028234663852886e38
_INT_CODES = "bBhHiIlLqQ"
_BINARY_CODES = {"h": "i16", "H": "u16", "f": "f32"}
_SIG_ZEROS = b"0" * 64
_HEX = b"0123456789abcdef"

JSON = "json"
CBOR = "cbor"
BINARY = "binary"
FORMATS = (CBOR, JSON, BINARY)
CONTENT_TYPES = {
    CBOR: "application/cbor",
    JSON: "application/json",
    BINARY: "application/octet-stream",
}
EXTENSIONS = {CBOR: ".cbor", JSON: ".json", BINARY: ".cbor"}


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
        digest = outer.digest()
        out = bytearray(64)
        for i in range(32):
            out[2 * i] = _HEX[digest[i] >> 4]
            out[2 * i + 1] = _HEX[digest[i] & 15]
        return bytes(out)


# --- numbers as text ----------------------------------------------------------------------------


def _cmp_pow10(num, den, k):
    """Sign of num/den - 10**k, exactly."""
    if k >= 0:
        a, b = num, den * 10**k
    else:
        a, b = num * 10 ** (-k), den
    return (a > b) - (a < b)


def f32_text(bits):
    """The shortest decimal that reads back as this float32 (given by its bit pattern).

    Pure integer arithmetic, so CPython and MicroPython (any float width) write the same text.
    """
    neg = bits >> 31
    e8 = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if e8 == 0:
        if m == 0:
            return "0"
        e = -149
    else:
        m |= 0x800000
        e = e8 - 150
    # The value is m * 2**e; anything between lo and hi (units of 2**(e-2)) reads back, the ends
    # too when m is even (readers round half to even).
    even = m % 2 == 0
    lo = 4 * m - (1 if m == 0x800000 and e8 > 1 else 2)
    hi = 4 * m + 2
    if e >= 0:
        num, den = m << e, 1
    else:
        num, den = m, 1 << (-e)
    k = int(math.floor(math.log10(m) + e * 0.3010299956639812))
    while _cmp_pow10(num, den, k) < 0:
        k -= 1
    while _cmp_pow10(num, den, k + 1) >= 0:
        k += 1
    s2 = 1 << (e - 2) if e >= 2 else 1
    t2 = 1 << (2 - e) if e < 2 else 1
    for p in range(1, 10):
        d = k - p + 1
        if d >= 0:
            n = (2 * num + den * 10**d) // (2 * den * 10**d)
            scaled, bound = n * 10**d * t2, s2
        else:
            n = (2 * num * 10 ** (-d) + den) // (2 * den)
            scaled, bound = n * t2, s2 * 10 ** (-d)
        if lo * bound < scaled < hi * bound or (
            even and (scaled == lo * bound or scaled == hi * bound)
        ):
            break
    digits = str(n)
    while len(digits) > 1 and digits[-1] == "0":
        digits = digits[:-1]
        d += 1
    point = len(digits) + d  # value = 0.<digits> * 10**point
    if d >= 0 and point <= 21:
        text = digits + "0" * d
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * (-point) + digits
    else:
        exp = point - 1
        text = digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + "e"
        text += ("+" if exp > 0 else "-") + str(abs(exp))
    return "-" + text if neg else text


def _f32_bits(value, scratch):
    struct.pack_into(">f", scratch, 0, value)
    return (scratch[0] << 24) | (scratch[1] << 16) | (scratch[2] << 8) | scratch[3]


def _half_bits(bits):
    """The float16 bit pattern of a float32 when the conversion is exact, else -1."""
    sign = (bits >> 16) & 0x8000
    e8 = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if e8 == 0:
        return sign if m == 0 else -1
    e = e8 - 127
    if -14 <= e <= 15:
        return sign | ((e + 15) << 10) | (m >> 13) if m & 0x1FFF == 0 else -1
    if -24 <= e < -14:
        full = m | 0x800000
        shift = -(e + 1)
        return sign | (full >> shift) if full & ((1 << shift) - 1) == 0 else -1
    return -1


def number_text(value, scratch):
    """Header numbers (interval, iat) as JSON text."""
    if isinstance(value, int):
        return str(value)
    return f32_text(_f32_bits(value, scratch))


# --- the header ----------------------------------------------------------------------------------


def _js_str(out, s):
    out.append(0x22)
    for c in s:
        o = ord(c)
        if o == 0x22 or o == 0x5C:
            out.append(0x5C)
            out.append(o)
        elif o < 0x20:
            out.extend(b"\\u00")
            out.append(_HEX[o >> 4])
            out.append(_HEX[o & 15])
        elif o < 0x80:
            out.append(o)
        else:
            out.extend(c.encode())
    out.append(0x22)


def _cb_head(out, major, n):
    if n < 24:
        out.append(major | n)
    elif n < 0x100:
        out.append(major | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(major | 25)
        out.extend(struct.pack(">H", n))
    elif n < 0x100000000:
        out.append(major | 26)
        out.extend(struct.pack(">I", n))
    else:
        out.append(major | 27)
        out.extend(struct.pack(">Q", n))


def _cb_str(out, s):
    b = s.encode()
    _cb_head(out, 0x60, len(b))
    out.extend(b)


def _cb_number(out, value, scratch):
    if isinstance(value, int):
        if value < 0:
            _cb_head(out, 0x20, -1 - value)
        else:
            _cb_head(out, 0x00, value)
        return
    bits = _f32_bits(value, scratch)
    half = _half_bits(bits)
    if half >= 0:
        out.append(0xF9)
        out.append(half >> 8)
        out.append(half & 0xFF)
    else:
        out.append(0xFA)
        out.extend(scratch)


def binary_tag(rec):
    kind = _BINARY_CODES.get(rec.typecode)
    if rec.axes != 1 or kind is None:
        raise ValueError(
            "fmt 'binary' needs a single-axis recording of typecode 'h', 'H' or 'f', "
            "not %d axes of %r" % (rec.axes, rec.typecode)
        )
    if kind != "f32" and rec.scale is not None:
        raise ValueError(
            "fmt 'binary' sends raw %s samples: scale works only with typecode 'f'" % kind
        )
    return "Ref-BINARY-" + kind


def header(rec, fmt, signed, device_type, device_name, iat):
    """Everything before the first row, and the offset of the 64-char signature (or -1)."""
    scratch = bytearray(4)
    out = bytearray()
    if fmt == JSON:
        out.extend(b'{"protected":{"ver":"v1","alg":')
        out.extend(b'"HS256"' if signed else b'"none"')
        if iat is not None:
            out.extend(b',"iat":' + str(iat).encode())
        out.extend(b'},"signature":"')
        sig_at = len(out) if signed else -1
        out.extend(_SIG_ZEROS if signed else b"00")
        out.extend(b'","payload":{')
        if device_name is not None:
            out.extend(b'"device_name":')
            _js_str(out, device_name)
            out.append(0x2C)
        out.extend(b'"device_type":')
        _js_str(out, device_type)
        out.extend(b',"interval_ms":' + number_text(rec.interval_ms, scratch).encode())
        out.extend(b',"sensors":[')
        for i, (name, units) in enumerate(rec.sensors):
            out.extend(b',{"name":' if i else b'{"name":')
            _js_str(out, name)
            out.extend(b',"units":')
            _js_str(out, units)
            out.append(0x7D)
        out.extend(b'],"values":[')
        return out, sig_at
    out.append(0xA3)
    _cb_str(out, "protected")
    out.append(0xA3 if iat is not None else 0xA2)
    _cb_str(out, "ver")
    _cb_str(out, "v1")
    _cb_str(out, "alg")
    _cb_str(out, "HS256" if signed else "none")
    if iat is not None:
        _cb_str(out, "iat")
        _cb_number(out, iat, scratch)
    _cb_str(out, "signature")
    if signed:
        out.extend(b"\x78\x40")
        sig_at = len(out)
        out.extend(_SIG_ZEROS)
    else:
        sig_at = -1
        _cb_str(out, "00")
    _cb_str(out, "payload")
    out.append(0xA5 if device_name is not None else 0xA4)
    if device_name is not None:
        _cb_str(out, "device_name")
        _cb_str(out, device_name)
    _cb_str(out, "device_type")
    _cb_str(out, device_type)
    _cb_str(out, "interval_ms")
    _cb_number(out, rec.interval_ms, scratch)
    _cb_str(out, "sensors")
    _cb_head(out, 0x80, len(rec.sensors))
    for name, units in rec.sensors:
        out.append(0xA2)
        _cb_str(out, "name")
        _cb_str(out, name)
        _cb_str(out, "units")
        _cb_str(out, units)
    _cb_str(out, "values")
    out.append(0x9F)  # indefinite, as the official example and the C SDK write it
    if fmt == BINARY:
        tag = binary_tag(rec)
        # Pad the reference with spaces so the samples start 4-byte aligned in the file.
        while (len(out) + len(tag) + (1 if len(tag) < 24 else 2) + 1) % 4:
            tag += " "
        _cb_str(out, tag)
        out.append(0xFF)
    return out, sig_at


# --- the streaming writer ------------------------------------------------------------------------


class Encoder:
    """Turns Recordings into data acquisition files through one staging buffer.

    One Encoder can be reused for any number of files; it allocates its buffers once.
    """

    def __init__(self, stage_size=256):
        if stage_size < 64:
            raise ValueError("stage_size must be at least 64 bytes")
        self._size = stage_size
        self._buf = bytearray(stage_size + _RESERVE)
        self._head = memoryview(self._buf)[:stage_size]
        self._scratch = bytearray(4)
        self._pos = 0
        self._count = 0
        self._sink = _discard

    # Chunks go to the sink whole: the stage fills past its size into the reserve, the first
    # stage_size bytes go out through a memoryview made once, the rest moves to the front.
    def _spill(self):
        size = self._size
        self._sink(self._head)
        self._count += size
        buf = self._buf
        rest = self._pos - size
        for i in range(rest):
            buf[i] = buf[size + i]
        self._pos = rest

    def _put_block(self, data):
        buf = self._buf
        size = self._size
        for b in data:
            buf[self._pos] = b
            self._pos += 1
            if self._pos >= size:
                self._spill()

    def _put_byte(self, b):
        self._buf[self._pos] = b
        self._pos += 1

    def _json_int(self, v):
        buf = self._buf
        p = self._pos
        if v < 0:
            buf[p] = 0x2D
            p += 1
            v = -v
        n = 1
        t = v
        while t >= 10:
            t //= 10
            n += 1
        end = p + n
        while n:
            n -= 1
            buf[p + n] = 0x30 + v % 10
            v //= 10
        self._pos = end

    def _cbor_int(self, v):
        buf = self._buf
        p = self._pos
        major = 0
        if v < 0:
            major = 0x20
            v = -1 - v
        if v < 24:
            buf[p] = major | v
            self._pos = p + 1
        elif v < 0x100:
            buf[p] = major | 24
            buf[p + 1] = v
            self._pos = p + 2
        elif v < 0x10000:
            buf[p] = major | 25
            buf[p + 1] = v >> 8
            buf[p + 2] = v & 0xFF
            self._pos = p + 3
        else:
            wide = v >= 0x100000000
            n = 8 if wide else 4
            buf[p] = major | (27 if wide else 26)
            while n:
                buf[p + n] = v & 0xFF
                v >>= 8
                n -= 1
            self._pos = p + (9 if wide else 5)

    def _check_float(self, v, row, axis, rec):
        if not -_FLT_MAX <= v <= _FLT_MAX:
            _bad_value(v, row, axis, rec)

    def _json_float(self, v, row, axis, rec):
        self._check_float(v, row, axis, rec)
        text = f32_text(_f32_bits(v, self._scratch))
        buf = self._buf
        p = self._pos
        for c in text:
            buf[p] = ord(c)
            p += 1
        self._pos = p

    def _cbor_float(self, v, row, axis, rec):
        self._check_float(v, row, axis, rec)
        buf = self._buf
        p = self._pos
        struct.pack_into(">f", buf, p + 1, v)
        bits = (buf[p + 1] << 24) | (buf[p + 2] << 16) | (buf[p + 3] << 8) | buf[p + 4]
        half = _half_bits(bits)
        if half >= 0:
            buf[p] = 0xF9
            buf[p + 1] = half >> 8
            buf[p + 2] = half & 0xFF
            self._pos = p + 3
        else:
            buf[p] = 0xFA
            self._pos = p + 5

    def _rows_json(self, rec, start, stop):
        data = rec.buffer
        axes = rec.axes
        scale = rec.scale
        as_int = scale is None and rec.typecode in _INT_CODES
        nested = axes > 1
        size = self._size
        i = start * axes
        for row in range(start, stop):
            if row:
                self._put_byte(0x2C)
            if nested:
                self._put_byte(0x5B)
            for axis in range(axes):
                if axis:
                    self._put_byte(0x2C)
                if as_int:
                    self._json_int(data[i])
                elif scale is None:
                    self._json_float(data[i], row, axis, rec)
                else:
                    self._json_float(data[i] * scale[axis], row, axis, rec)
                i += 1
                if self._pos >= size:
                    self._spill()
            if nested:
                self._put_byte(0x5D)

    def _rows_cbor(self, rec, start, stop):
        data = rec.buffer
        axes = rec.axes
        scale = rec.scale
        as_int = scale is None and rec.typecode in _INT_CODES
        row_head = 0x80 | axes if 1 < axes < 24 else -1
        size = self._size
        i = start * axes
        for row in range(start, stop):
            if row_head >= 0:
                self._put_byte(row_head)
            elif axes > 1:
                self._put_byte(0x98)
                self._put_byte(axes)
            for axis in range(axes):
                if as_int:
                    self._cbor_int(data[i])
                elif scale is None:
                    self._cbor_float(data[i], row, axis, rec)
                else:
                    self._cbor_float(data[i] * scale[axis], row, axis, rec)
                i += 1
                if self._pos >= size:
                    self._spill()

    def _samples_binary(self, rec, start, stop):
        data = rec.buffer
        code = "<" + rec.typecode
        scale = rec.scale
        width = 4 if rec.typecode == "f" else 2
        size = self._size
        buf = self._buf
        for i in range(start, stop):
            v = data[i]
            if width == 4:
                if scale is not None:
                    v = v * scale[0]
                self._check_float(v, i, 0, rec)
            struct.pack_into(code, buf, self._pos, v)
            self._pos += width
            if self._pos >= size:
                self._spill()

    def begin(self, sink, head):
        """Start a file: the sink gets every chunk from here on, the header first."""
        self._sink = sink
        self._pos = 0
        self._count = 0
        self._put_block(head)

    def rows(self, rec, fmt, start, stop):
        """Encode rows start..stop-1 (called in order, any batch size: the bytes are the same)."""
        if fmt == JSON:
            self._rows_json(rec, start, stop)
        elif fmt == CBOR:
            self._rows_cbor(rec, start, stop)
        else:
            self._samples_binary(rec, start, stop)

    def end(self, fmt):
        """Close the file, hand over the last partial chunk; return the file's length."""
        try:
            if fmt == JSON:
                self._put_block(b"]}}")
            elif fmt == CBOR:
                self._put_byte(0xFF)
                if self._pos >= self._size:
                    self._spill()
            if self._pos:
                self._sink(memoryview(self._buf)[: self._pos])
                self._count += self._pos
                self._pos = 0
            return self._count
        finally:
            self._sink = _discard

    def emit(self, rec, fmt, head, sink):
        """Write one whole file (header `head`, then the rows) to `sink`; return its length."""
        try:
            self.begin(sink, head)
            self.rows(rec, fmt, 0, len(rec))
        except BaseException:
            self._sink = _discard
            raise
        return self.end(fmt)

    def measure(self, rec, fmt, head, key):
        """Pass 1: the file's length and its signature (None when `key` is None)."""
        if key is None:
            return self.emit(rec, fmt, head, _discard), None
        mac = Hmac(key)
        n = self.emit(rec, fmt, head, mac.update)
        return n, mac.hexdigest()


def _discard(chunk):
    pass


class _Tee:
    """Pass-through sink that feeds an HMAC with everything written."""

    def __init__(self, write, mac):
        self._write = write
        self._mac = mac

    def __call__(self, chunk):
        self._mac.update(chunk)
        self._write(chunk)


def writer(stream):
    """A sink that writes every byte to `stream`, even where write() takes only part."""
    write = stream.write

    def write_all(chunk):
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

    A stream with seek() and tell() (a file) is written in one pass and the digest patched in
    place; any other stream gets two passes over the buffer. The bytes are the same.
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
    start = None if key is None else _tell(stream)
    if key is not None and start is None:
        # Not seekable: pass 1 checks every value and signs, so a bad value writes nothing.
        n, sig = enc.measure(rec, fmt, head, key)
        head[sig_at : sig_at + 64] = sig
        enc.emit(rec, fmt, head, writer(stream))
        return n
    check_values(rec)
    if key is None:
        return enc.emit(rec, fmt, head, writer(stream))
    # Seekable: one pass, hashing while writing, then the digest patched at its offset.
    mac = Hmac(key)
    n = enc.emit(rec, fmt, head, _Tee(writer(stream), mac))
    stream.seek(start + sig_at)
    stream.write(mac.hexdigest())
    stream.seek(start + n)
    return n


def check_values(rec):
    """Raise the encoder's ValueError for the first value that cannot be sent, before writing.

    Integer recordings without a scale cannot hold such a value: nothing to scan.
    """
    if rec.scale is None and rec.typecode in _INT_CODES:
        return
    data = rec.buffer
    axes = rec.axes
    scale = rec.scale
    i = 0
    for row in range(len(rec)):
        for axis in range(axes):
            v = data[i] if scale is None else data[i] * scale[axis]
            if not -_FLT_MAX <= v <= _FLT_MAX:
                _bad_value(v, row, axis, rec)
            i += 1


def _bad_value(v, row, axis, rec):
    raise ValueError(
        "row %d axis %s: %r is not a finite float32 value" % (row, rec.sensors[axis][0], v)
    )


def _tell(stream):
    if not (hasattr(stream, "seek") and hasattr(stream, "tell")):
        return None
    try:
        return stream.tell()
    except (OSError, AttributeError, ValueError):
        return None


def check_device_type(device_type):
    if device_type is None:
        import sys

        device_type = sys.platform.upper()
    check_text("device_type", device_type)
    return device_type


def check_iat(iat):
    if iat is None:
        return None
    if not isinstance(iat, int) or isinstance(iat, bool) or iat < 0:
        raise ValueError("iat must be Unix seconds as a non-negative int, or None, not %r" % (iat,))
    return iat
