"""TLS for the local server on a LAN: a local CA and a server certificate, made on first use.

Files under ``<data-dir>/tls/`` (private keys mode 0600):

- ``ca.pem``, ``ca.key``: a CA of this data directory (RSA 2048, 10 years). ``ca.der`` is the
  same certificate as DER: the file a board loads (``make ca LOCAL=1`` copies it to build/).
- ``server.pem``, ``server.key``: the server's certificate, signed by that CA, for localhost,
  this computer's name, 127.0.0.1, ::1 and its LAN addresses (RSA 2048, about a year).

The CA is made once and kept, so a board's DER file stays good. The server certificate is
made again (by the same CA) when it misses an address the server now has, or is within 30 days
of expiry. RSA rather than ECDSA: every MicroPython mbedTLS build verifies RSA, and it is what
the board-side TLS tests use.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_DIR = "tls"
CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_DAYS = 30
KEY_BITS = 2048


@dataclass(frozen=True)
class LocalTLS:
    ca_pem: Path
    ca_der: Path
    server_pem: Path
    server_key: Path
    hosts: tuple[str, ...]
    reissued: bool


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_private(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _write_public(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: expected an RSA private key")
    return key


def _make_ca(directory: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"ei_ingest local CA ({socket.gethostname()})")]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    _write_private(directory / "ca.key", _key_pem(key))
    _write_public(directory / "ca.pem", cert.public_bytes(serialization.Encoding.PEM))
    _write_public(directory / "ca.der", cert.public_bytes(serialization.Encoding.DER))


def ensure_local_ca(data_dir: Path) -> tuple[Path, Path]:
    """(ca.pem, ca.der) of this data directory's CA, made now if missing."""
    directory = data_dir / TLS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "ca.pem").exists() or not (directory / "ca.key").exists():
        _make_ca(directory)
    if not (directory / "ca.der").exists():
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        _write_public(directory / "ca.der", cert.public_bytes(serialization.Encoding.DER))
    return directory / "ca.pem", directory / "ca.der"


def default_hosts(extra: Iterable[str] = ()) -> list[str]:
    """localhost, this computer's name, loopback addresses, and ``extra`` (LAN addresses)."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    name = socket.gethostname()
    for host in [name, *extra]:
        host = host.strip("[]")
        if host and host not in hosts and host not in ("0.0.0.0", "::"):
            hosts.append(host)
    return hosts


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _covers(cert: x509.Certificate, hosts: Iterable[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = set(san)
    return all(_general_name(host) in have for host in hosts)


def _server_cert_ok(directory: Path, hosts: list[str], ca: x509.Certificate) -> bool:
    pem, key = directory / "server.pem", directory / "server.key"
    if not pem.exists() or not key.exists():
        return False
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    if cert.issuer != ca.subject:
        return False
    if cert.not_valid_after_utc - _now() < datetime.timedelta(days=RENEW_DAYS):
        return False
    return _covers(cert, hosts)


def _make_server_cert(directory: Path, hosts: list[str], ca: x509.Certificate) -> None:
    ca_key = _load_key(directory / "ca.key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(directory / "server.key", _key_pem(key))
    _write_public(directory / "server.pem", cert.public_bytes(serialization.Encoding.PEM))


def ensure_server_tls(data_dir: Path, hosts: list[str]) -> LocalTLS:
    """The CA and a server certificate covering ``hosts``, made or renewed as needed."""
    ca_pem, ca_der = ensure_local_ca(data_dir)
    directory = ca_pem.parent
    ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    reissued = False
    if not _server_cert_ok(directory, hosts, ca):
        _make_server_cert(directory, hosts, ca)
        reissued = True
    return LocalTLS(
        ca_pem, ca_der, directory / "server.pem", directory / "server.key", tuple(hosts), reissued
    )
