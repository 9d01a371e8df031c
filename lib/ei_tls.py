"""TLS for uploads: a DER CA bundle checked up front, certificate and host name verification.

ei_http loads this module only for HTTPS. mbedTLS (MicroPython) reads one DER certificate per
`load_verify_locations()` call, so a bundle of several roots is split here; CPython's ssl takes
the whole bundle at once.

Memory: the CA bundle's bytes (about 1 KiB per root) for as long as the Client lives; the TLS
session itself (~20-35 KiB during the handshake) is mbedTLS's, on Pico W from the Python heap.
"""

import sys

from ei_log import log

try:
    import tls  # MicroPython
except ImportError:  # CPython
    import ssl as tls  # type: ignore[no-redef]

_CPYTHON = sys.implementation.name == "cpython"


def load_ca(ca):
    """The CA bundle as (DER bytes, [(start, end) of each certificate]), checked."""
    if isinstance(ca, str):
        try:
            with open(ca, "rb") as f:
                ca = f.read()
        except OSError as e:
            raise ValueError("ca file %r cannot be read: %s" % (ca, e))
    if not isinstance(ca, (bytes, bytearray)) or not ca:
        raise ValueError("ca must be DER bytes or the path of a DER file")
    if ca[:1] != b"\x30":
        raise ValueError("ca must be DER (binary), not PEM: convert with tools/make_ca_bundle.py")
    ca = bytes(ca)
    return ca, der_spans(ca)


def der_spans(data):
    """(start, end) of each certificate in concatenated DER, checked before anything is sent."""
    spans = []
    i = 0
    end = len(data)
    while i < end:
        if data[i] != 0x30 or i + 4 > end:
            raise ValueError("ca: not a DER certificate at byte %d" % i)
        n = data[i + 1]
        if n < 0x80:
            size = n + 2
        elif n == 0x81:
            size = data[i + 2] + 3
        elif n == 0x82:
            size = ((data[i + 2] << 8) | data[i + 3]) + 4
        else:
            raise ValueError("ca: unsupported DER length at byte %d" % i)
        if i + size > end:
            raise ValueError("ca: certificate truncated at byte %d" % i)
        spans.append((i, i + size))
        i += size
    return spans


def wrap(sock, host, ca, spans, insecure):
    """The TLS socket over a connected `sock`; certificate problems raise TLSError."""
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    # verify_mode is a documented SSLContext attribute that the board stubs lack.
    if insecure:
        if hasattr(ctx, "check_hostname"):
            ctx.check_hostname = False
        ctx.verify_mode = tls.CERT_NONE  # type: ignore[attr-defined]
    elif _CPYTHON:
        ctx.verify_mode = tls.CERT_REQUIRED  # type: ignore[attr-defined]
        ctx.load_verify_locations(cadata=ca)
    else:
        ctx.verify_mode = tls.CERT_REQUIRED  # type: ignore[attr-defined]
        for start, end in spans:
            ctx.load_verify_locations(ca[start:end])
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except ValueError as e:  # MicroPython: certificate or host name refused
        _refused(host, e)
    except OSError as e:
        if _is_cert_error(e):
            _refused(host, e)
        raise


def warn_insecure(host):
    log("TLS certificate checks are OFF for %s (insecure=True)" % host)


def _is_cert_error(e):
    if _CPYTHON:
        return isinstance(e, getattr(tls, "SSLCertVerificationError", ()))
    # mbedTLS: MBEDTLS_ERR_X509_CERT_VERIFY_FAILED and MBEDTLS_ERR_SSL_... certificate codes.
    return bool(e.args) and e.args[0] in (-9984, -0x2700)


def _refused(host, e):
    from ei_errors import TLSError

    raise TLSError(_tls_text(host, e))


def _tls_text(host, e):
    return (
        "TLS certificate check failed for %s (%s): check the CA file, the host name, and that "
        "the board's clock is set (NTP)" % (host, e)
    )
