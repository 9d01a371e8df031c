"""Build the board's CA file (DER) for HTTPS to ingestion.edgeimpulse.com from `certifi`.

    python tools/make_ca_bundle.py                     # default roots -> build/ca.der
    python tools/make_ca_bundle.py --roots "Amazon Root CA 1" --out build/ca.der
    python tools/make_ca_bundle.py --list              # every root certifi has
    python tools/make_ca_bundle.py --local data        # the local server's own CA instead

MicroPython's TLS (mbedTLS) takes DER only, and `load_verify_locations(cadata)` parses ONE
certificate per call, silently ignoring the bytes after it (checked on the unix port: with
DER(B)+DER(A) a server signed by A is refused; with DER(A)+DER(B) it is accepted). Calls add up,
so the file is several DER certificates back to back and the board loads them one by one
(`ei_ingest.Client(ca="/ca.der")` does: the library's TLS loader splits the bundle). On the
`tls` module the argument is positional only (`cadata=` is a TypeError; the `ssl` wrapper takes
it) and must be bytes, not a memoryview. The first certificate is the one
ingestion.edgeimpulse.com needs, so a loader that reads only the first one still works.

Default roots (`--roots`: comma-separated, each an exact CN or a CN substring; order kept):
- Amazon Root CA 1: ingestion.edgeimpulse.com is served from AWS with an Amazon-issued (ACM)
  certificate, whose chain ends at Amazon Root CA 1 (RSA). Not checked against the live host
  here (no internet): check with `openssl s_client -connect ingestion.edgeimpulse.com:443`.
  mbedTLS stops at the first trusted certificate in a chain, so the Starfield Services Root
  G2 cross-signature of Amazon Root CA 1 is not needed; add it with --roots if a chain needs it.
- Amazon Root CA 3: Amazon's ECDSA root, for an ECDSA certificate.
- ISRG Root X1 (Let's Encrypt) and DigiCert Global Root G2: common public roots, for a server
  of your own or a proxy.
Each root costs its DER size (~0.5-1.4 KB) in the file and about that again in RAM once parsed
(on the Pico W from the Python heap): keep the list short.

``--local DATA_DIR`` (``make ca LOCAL=1``) writes instead the CA of the local ingestion server
that runs with ``--tls-self-signed --data-dir DATA_DIR`` (made now if it does not exist yet, so
the board's file can be built before the server first starts): one RSA certificate, about
0.8 KB, that the server's certificate chains to whatever LAN address it has.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

DEFAULT_ROOTS = (
    "Amazon Root CA 1",
    "Amazon Root CA 3",
    "ISRG Root X1",
    "DigiCert Global Root G2",
)
DEFAULT_OUT = Path("build") / "ca.der"


def certifi_pem() -> Path:
    import certifi

    return Path(certifi.where())


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        return str(names[0].value)
    return cert.subject.rfc4514_string()


def load_roots(source: Path | None = None) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (default: certifi's)."""
    data = (source or certifi_pem()).read_bytes()
    with warnings.catch_warnings():
        # certifi carries old roots with a non-positive serial; we never pick those.
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificates(data)


def select(
    certs: Sequence[x509.Certificate], roots: Sequence[str], now: datetime.datetime | None = None
) -> list[x509.Certificate]:
    """Pick certificates by CN, in the order of `roots`; an exact CN wins over substrings.

    Raises ValueError naming a choice that matches nothing, or only expired certificates.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    chosen: list[x509.Certificate] = []
    for want in roots:
        want = want.strip()
        if not want:
            continue
        exact = [c for c in certs if common_name(c) == want]
        found = exact or [c for c in certs if want.lower() in common_name(c).lower()]
        if not found:
            raise ValueError(f"no root certificate has a CN matching {want!r} (try --list)")
        valid = [c for c in found if c.not_valid_after_utc > now]
        if not valid:
            raise ValueError(f"every root matching {want!r} has expired")
        for cert in valid:
            if cert not in chosen:
                chosen.append(cert)
    if not chosen:
        raise ValueError("no roots chosen")
    return chosen


def to_der(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(Encoding.DER) for c in certs)


def split_der(data: bytes) -> list[bytes]:
    """Split back-to-back DER certificates (what the board's loader does, on the host)."""
    out: list[bytes] = []
    i = 0
    while i < len(data):
        if data[i] != 0x30:
            raise ValueError(f"not DER at byte {i}")
        first = data[i + 1]
        if first < 0x80:
            size, head = first, 2
        else:
            n = first & 0x7F
            size, head = int.from_bytes(data[i + 2 : i + 2 + n], "big"), 2 + n
        end = i + head + size
        if end > len(data):
            raise ValueError(f"truncated certificate at byte {i}")
        out.append(data[i:end])
        i = end
    return out


def build(
    out: Path, roots: Sequence[str] = DEFAULT_ROOTS, source: Path | None = None
) -> list[x509.Certificate]:
    """Write the chosen roots as back-to-back DER to `out`; return them."""
    certs = select(load_roots(source), roots)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_der(certs))
    return certs


def write_local(data_dir: Path, out: Path) -> int:
    """The local server's CA (see ingest/selfsigned.py) as the board's DER file."""
    from ingest.selfsigned import ensure_local_ca

    _, der = ensure_local_ca(data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(der.read_bytes())
    cert = x509.load_der_x509_certificate(der.read_bytes())
    print(f"wrote {out} ({out.stat().st_size} bytes): {common_name(cert)}, the CA of the local")
    print(f"server started with --tls-self-signed --data-dir {data_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output DER file")
    p.add_argument(
        "--roots",
        default=",".join(DEFAULT_ROOTS),
        help='comma-separated CN or CN substrings, e.g. "Amazon Root CA 1,ISRG Root X1"',
    )
    p.add_argument("--source", type=Path, default=None, help="PEM bundle (default: certifi)")
    p.add_argument("--list", action="store_true", help="list the CNs in the source and exit")
    p.add_argument(
        "--local",
        type=Path,
        default=None,
        metavar="DATA_DIR",
        help="write the local server's CA (DATA_DIR/tls/ca.der, made if missing) instead",
    )
    args = p.parse_args(argv)
    if args.local is not None:
        return write_local(args.local, args.out)
    if args.list:
        for cert in load_roots(args.source):
            print(common_name(cert))
        return 0
    try:
        certs = build(args.out, args.roots.split(","), args.source)
    except ValueError as e:
        print(f"make_ca_bundle: {e}", file=sys.stderr)
        return 2
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size} bytes, {len(certs)} roots):")
    for cert in certs:
        print(f"  {common_name(cert)} (until {cert.not_valid_after_utc:%Y-%m-%d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
