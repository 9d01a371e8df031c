"""The board's CA file: built from certifi, parsed back, and used by MicroPython's TLS client
against a local TLS server (127.0.0.1, free port) whose certificate a throwaway CA signed."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import make_ca_bundle
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from harness import SCENARIOS, run_micropython

NOW = datetime.datetime.now(datetime.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


class TLSServer:
    """Python's ssl on 127.0.0.1: answers each handshake with b'hello' and closes."""

    def __init__(self, tmp: Path) -> None:
        self.ca_key, self.ca = _ca("EI Test CA A")
        _, self.other_ca = _ca("EI Test CA B")
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(_name("localhost"))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(self.ca_key, hashes.SHA256())
        )
        (tmp / "leaf.pem").write_bytes(_pem(leaf))
        (tmp / "leaf.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    self.handshakes += 1
                    tls_conn.sendall(b"hello")
            except (OSError, ssl.SSLError):
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServer]:
    srv = TLSServer(tmp_path)
    yield srv
    srv.stop()


def _client(bundle: Path, port: int, mode: str = "split") -> dict[str, Any]:
    proc = run_micropython(SCENARIOS / "net_tls.py", str(bundle), str(port), mode, timeout=60)
    return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))


def test_default_bundle_from_certifi(tmp_path: Path) -> None:
    out = tmp_path / "ca.der"
    certs = make_ca_bundle.build(out)
    parts = make_ca_bundle.split_der(out.read_bytes())
    assert len(parts) == len(certs) == len(make_ca_bundle.DEFAULT_ROOTS)
    parsed = [x509.load_der_x509_certificate(p) for p in parts]
    names = [make_ca_bundle.common_name(c) for c in parsed]
    assert names == list(make_ca_bundle.DEFAULT_ROOTS)
    assert names[0] == "Amazon Root CA 1"
    for cert in parsed:
        assert cert.subject == cert.issuer, "a root is self-issued"
        assert cert.not_valid_after_utc > NOW
    # The same certificates certifi ships, byte for byte.
    certifi_der = {c.public_bytes(serialization.Encoding.DER) for c in make_ca_bundle.load_roots()}
    assert set(parts) <= certifi_der


def test_roots_option_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.der"
    assert make_ca_bundle.main(["--roots", "ISRG Root X1", "--out", str(out)]) == 0
    (only,) = make_ca_bundle.split_der(out.read_bytes())
    assert make_ca_bundle.common_name(x509.load_der_x509_certificate(only)) == "ISRG Root X1"
    # A substring picks every match ("Amazon Root CA" -> 1..4), in certifi's order.
    many = make_ca_bundle.select(make_ca_bundle.load_roots(), ["Amazon Root CA"])
    assert sorted(make_ca_bundle.common_name(c) for c in many) == [
        f"Amazon Root CA {i}" for i in range(1, 5)
    ]
    assert make_ca_bundle.main(["--roots", "No Such Root", "--out", str(out)]) == 2
    assert "No Such Root" in capsys.readouterr().err
    with pytest.raises(ValueError, match="expired"):
        make_ca_bundle.select(
            make_ca_bundle.load_roots(), ["ISRG Root X1"], now=NOW + datetime.timedelta(days=9000)
        )


def test_default_bundle_loads_in_micropython(tmp_path: Path) -> None:
    """Every default root parses in mbedTLS (one load_verify_locations() call each)."""
    out = tmp_path / "ca.der"
    make_ca_bundle.build(out)
    parts = make_ca_bundle.split_der(out.read_bytes())
    ends = [sum(len(p) for p in parts[: i + 1]) for i in range(len(parts))]
    spans = list(zip([0, *ends[:-1]], ends, strict=True))
    code = (
        "import tls\n"
        "ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)\n"
        f"data = open({str(out)!r}, 'rb').read()\n"
        f"for a, b in {spans!r}:\n"
        "    ctx.load_verify_locations(data[a:b])\n"
        "print('loaded')\n"
    )
    proc = run_micropython(code, code=True)
    assert proc.stdout.decode().strip() == "loaded"


def _bundle(tmp: Path, name: str, roots: str, *certs: x509.Certificate) -> Path:
    src = tmp / (name + ".pem")
    src.write_bytes(_pem(*certs))
    out = tmp / (name + ".der")
    assert make_ca_bundle.main(["--source", str(src), "--roots", roots, "--out", str(out)]) == 0
    return out


def test_tls_accepts_bundle_with_the_ca_anywhere(tmp_path: Path, tls_server: TLSServer) -> None:
    # Test CA last, after a decoy and all the default public roots.
    public = make_ca_bundle.select(make_ca_bundle.load_roots(), make_ca_bundle.DEFAULT_ROOTS)
    certs = [tls_server.other_ca, *public, tls_server.ca]
    roots = ",".join(make_ca_bundle.common_name(c) for c in certs)
    bundle = _bundle(tmp_path, "with_ca", roots, *certs)
    assert len(make_ca_bundle.split_der(bundle.read_bytes())) == len(certs)
    out = _client(bundle, tls_server.port)
    assert out == {"loaded": len(certs), "ok": True, "reply": "hello"}


def test_tls_refuses_bundle_without_the_ca(tmp_path: Path, tls_server: TLSServer) -> None:
    public = make_ca_bundle.select(make_ca_bundle.load_roots(), make_ca_bundle.DEFAULT_ROOTS)
    certs = [tls_server.other_ca, *public]
    roots = ",".join(make_ca_bundle.common_name(c) for c in certs)
    bundle = _bundle(tmp_path, "without_ca", roots, *certs)
    out = _client(bundle, tls_server.port)
    assert out["ok"] is False
    assert "not correctly signed" in out["error"] or "ValueError" in out["error"]
    assert tls_server.handshakes == 0


def test_single_cadata_call_reads_only_the_first_certificate(
    tmp_path: Path, tls_server: TLSServer
) -> None:
    """Why the board's loader splits the file: one load_verify_locations() call on the unix
    port (mbedTLS) takes the first DER certificate and ignores the rest."""
    first = _bundle(
        tmp_path, "ca_first", "EI Test CA A,EI Test CA B", tls_server.ca, tls_server.other_ca
    )
    second = _bundle(
        tmp_path, "ca_second", "EI Test CA B,EI Test CA A", tls_server.ca, tls_server.other_ca
    )
    assert _client(first, tls_server.port, "single")["ok"] is True
    assert _client(second, tls_server.port, "single")["ok"] is False
    assert _client(second, tls_server.port, "split")["ok"] is True
