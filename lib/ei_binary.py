"""Binary payloads (audio, long single-axis signals): a CBOR header whose `values` is
["Ref-BINARY-i16"] (or u16, f32), then the raw little-endian samples, as the data forwarder
and the daemon send them to /data as application/octet-stream (ingestion.md, section 2).

Memory: the module's code (~1 KiB as .mpy); nothing per sample but a float for f32 with a scale.
"""

import struct

_BINARY_CODES = {"h": "i16", "H": "u16", "f": "f32"}
_FLT_MAX = 3.4028234663852886e38
END = b""  # the header already closed `values`


def tag(rec):
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


def header(rec, signed, device_type, device_name, iat):
    """A binary payload's header: CBOR, ending with the 0xFF of `values`."""
    import ei_cbor

    return ei_cbor.header(rec, signed, device_type, device_name, iat, tag(rec))


def plan(rec):
    """(kernel, twin, params): the samples as they are in the buffer."""
    tag(rec)
    return _samples, None, ("<" + rec.typecode, 4 if rec.typecode == "f" else 2, rec.scale)


def _samples(data, state, out, size, axes, stop, params):
    """Raw little-endian samples from data[state[0]] into out[state[1]:] until `stop` or the
    position reaches `size`; state[3] = 2 for a value that is not a finite float32."""
    code, width, scale = params
    i = state[0]
    pos = state[1]
    while i < stop and pos < size:
        v = data[i]
        if width == 4:
            if scale is not None:
                v = v * scale[0]
            if not -_FLT_MAX <= v <= _FLT_MAX:
                state[3] = 2
                break
        struct.pack_into(code, out, pos, v)
        pos += width
        i += 1
    state[0] = i
    state[1] = pos
