"""Run the local ingestion server (tools/ingest_server.py) as a real subprocess in tests.

Public API (other upload tests build on it):

``ServerProc(data_dir=None, *, api_key=DEFAULT_API_KEY, hmac_key=VECTOR_HMAC_KEY, tls=None,
tls_cert=None, tls_key=None, max_body=None, require_valid_signature=False, enable_faults=True,
extra_args=(), host="127.0.0.1", port=0, startup_timeout=20.0, tls_self_signed=False,
connect_host=None)``
    A context manager: ``with ServerProc(tmp_path / "data") as server: ...`` starts
    ``sys.executable tools/ingest_server.py`` on a free loopback port (``--port 0``; the port is
    read from the server's "listening" line), waits until it listens, and on exit stops it
    (SIGTERM, then SIGKILL after 5 s). ``data_dir=None`` uses a fresh temporary directory
    (removed on exit). ``tls`` is a :class:`TestCA` (from :func:`make_test_ca`): the server then
    serves HTTPS with its certificate and the helper methods trust its CA. ``hmac_key=None``
    starts the server without ``--hmac-key``. ``enable_faults`` passes ``--enable-faults``.
    ``api_key=None`` starts it without keys: it uses (or makes) ``<data_dir>/keys.json``, and
    ``api_key``/``hmac_key`` are read from there once it listens. ``tls_self_signed`` passes
    ``--tls-self-signed`` (the helpers then trust ``<data_dir>/tls/ca.pem``). ``host`` is the
    bind address; requests go to ``connect_host`` (default: ``host``, or 127.0.0.1 / ::1 for
    the wildcards 0.0.0.0 / ::).

    Attributes: ``port`` (int), ``url`` (``http://127.0.0.1:PORT`` or ``https://...``),
    ``host``, ``scheme``, ``api_key``, ``hmac_key``, ``data_dir`` (Path), ``log_path`` (the
    server's stdout+stderr), ``ssl_context`` (client context trusting the test CA, or None),
    ``proc`` (the Popen).

    Methods:
      ``start()``, ``stop()``, ``restart(keep_port=True)`` (same data dir, same port),
      ``alive() -> bool``, ``log_text() -> str``;
      ``request(method, path, body=b"", headers=None, *, api_key=True, timeout=15)
      -> HttpResult``: one HTTP(S) request; ``api_key=True`` sends the server's key,
      ``False``/``None`` sends none, a string sends that string;
      ``post_data(category, body, file_name="sample.json", content_type="application/json",
      headers=None, *, api_key=True) -> HttpResult`` (``file_name=None`` omits x-file-name);
      ``post_files(category, files, headers=None, *, api_key=True) -> HttpResult`` where
      ``files`` is a list of ``(file_name, data, content_type)``, each sent as a part named
      ``data``;
      ``samples() -> list[dict]`` (GET /api/samples, the ``samples`` list);
      ``raw(sample_id) -> bytes`` (GET /api/samples/<id>/raw);
      ``set_fault(**spec)`` (POST /_faults, e.g. ``set_fault(status=500, count=2)``,
      ``set_fault(close_after_bytes=100)``, ``set_fault(stall_seconds=2)``);
      ``clear_faults()``; ``requests_seen() -> list[dict]`` (GET /_faults/log, one dict per
      upload request in arrival order: ``time``, ``method``, ``path``, ``headers`` (without
      x-api-key), ``bodySize`` (bytes read), ``outcome`` (status int, or "dropped"), and
      ``fault`` when one was applied; requests refused by the HTTP parser itself, e.g. header
      lines over 8190 bytes, never reach it);
      ``clear_requests_seen()``; ``stored_files() -> list[str]`` (paths relative to the data
      dir of every stored file, index excluded), for "nothing was stored" checks.

``HttpResult(status, headers, body)``: ``headers`` keys are lower-case; ``.text()``, ``.json()``.

``make_test_ca(directory, hosts=("127.0.0.1", "localhost")) -> TestCA``: a throwaway CA and a
server certificate for those hosts (RSA 2048, SHA-256, valid from yesterday for 30 days).
``TestCA`` fields: ``ca_pem`` (Path), ``ca_der`` (bytes), ``cert_pem`` (Path), ``key_pem``
(Path, unencrypted PKCS#8); ``client_context()`` returns an ``ssl.SSLContext`` trusting the CA.

``encode_multipart(files) -> (body, content_type)`` builds a multipart/form-data body.
``sign_json(doc, key) -> bytes`` and ``sign_cbor(doc, key) -> bytes`` serialise a data
acquisition document (a dict; its ``signature`` is replaced) and sign it HS256 the documented
way (64 '0' placeholder, HMAC-SHA256 of the bytes, digest written over the placeholder);
``key=None`` serialises ``doc`` exactly as given (no signing, e.g. for ``alg: none``).
Constants: ``DEFAULT_API_KEY``, ``VECTOR_HMAC_KEY`` (the key of tests/vectors),
``SERVER_SCRIPT`` (path of tools/ingest_server.py).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ROOT

SERVER_SCRIPT = ROOT / "tools" / "ingest_server.py"
DEFAULT_API_KEY = "ei_test_0123456789abcdef"
VECTOR_HMAC_KEY = "fed53116f20684c067774ebf9e7bcbdc"
LISTENING = re.compile(r"ingest_server listening on (https?)://(\[[^\]]+\]|[^:\s]+):(\d+)")


@dataclass(frozen=True)
class HttpResult:
    """One HTTP answer: status, lower-cased headers, body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class TestCA:
    """A throwaway CA (PEM path and DER bytes) and a server certificate and key it signed."""

    __test__ = False  # not a pytest test class

    ca_pem: Path
    ca_der: bytes
    cert_pem: Path
    key_pem: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        return context


def make_test_ca(directory: Path, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> TestCA:
    """Create a CA and a server certificate for ``hosts`` (IPs or DNS names) in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ei_ingest test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = directory / "test-ca.pem"
    cert_pem = directory / "server-cert.pem"
    key_pem = directory / "server-key.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TestCA(ca_pem, ca_cert.public_bytes(serialization.Encoding.DER), cert_pem, key_pem)


def encode_multipart(files: Sequence[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body with one part named ``data`` per (name, bytes, type)."""
    boundary = "----eiTestBoundary" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for name, data, content_type in files:
        chunks.append(
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="data"; filename="{name}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
        )
        chunks.append(data)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _sign_placeholder(encoded: bytes, key: str | None) -> bytes:
    placeholder = b"0" * 64
    if key is None:
        return encoded
    if encoded.count(placeholder) != 1:
        raise ValueError("the serialised document must contain the placeholder exactly once")
    digest = hmac.new(key.encode(), encoded, hashlib.sha256).hexdigest().encode()
    return encoded.replace(placeholder, digest)


def sign_json(doc: dict[str, Any], key: str | None) -> bytes:
    """Compact JSON of ``doc`` with an HS256 signature (``key=None``: unsigned as given)."""
    body = dict(doc, signature="0" * 64) if key is not None else doc
    return _sign_placeholder(json.dumps(body, separators=(",", ":")).encode(), key)


def sign_cbor(doc: dict[str, Any], key: str | None) -> bytes:
    """CBOR (cbor2, definite lengths, float64) of ``doc`` with an HS256 signature."""
    import cbor2

    body = dict(doc, signature="0" * 64) if key is not None else doc
    return _sign_placeholder(cbor2.dumps(body), key)


class ServerProc:
    """The ingestion server as a subprocess; see the module docstring for the API."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        hmac_key: str | None = VECTOR_HMAC_KEY,
        tls: TestCA | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        max_body: int | None = None,
        require_valid_signature: bool = False,
        enable_faults: bool = True,
        extra_args: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 20.0,
        tls_self_signed: bool = False,
        connect_host: str | None = None,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="ingest-")) if data_dir is None else data_dir
        self.data_dir = self.data_dir.resolve()
        self.keys_from_file = api_key is None
        self.api_key = api_key or ""
        self.hmac_key = hmac_key
        self.tls_self_signed = tls_self_signed
        self.tls = tls
        self.tls_cert = tls.cert_pem if tls else tls_cert
        self.tls_key = tls.key_pem if tls else tls_key
        self.ssl_context: ssl.SSLContext | None = tls.client_context() if tls else None
        if self.ssl_context is None and self.tls_cert is not None:
            self.ssl_context = ssl.create_default_context(cafile=str(self.tls_cert))
        self.max_body = max_body
        self.require_valid_signature = require_valid_signature
        self.enable_faults = enable_faults
        self.extra_args = list(extra_args)
        self.host = host
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
        self.connect_host = connect_host or wildcard.get(host, host)
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.scheme = "https" if self.tls_cert or tls_self_signed else "http"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.server.log"
        self._log_offset = 0

    @property
    def url(self) -> str:
        host = f"[{self.connect_host}]" if ":" in self.connect_host else self.connect_host
        return f"{self.scheme}://{host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, str(SERVER_SCRIPT), "--host", self.host]
        cmd += ["--port", str(self.requested_port), "--data-dir", str(self.data_dir)]
        if not self.keys_from_file:
            cmd += ["--api-key", self.api_key]
            if self.hmac_key is not None:
                cmd += ["--hmac-key", self.hmac_key]
        if self.tls_self_signed:
            cmd.append("--tls-self-signed")
        if self.tls_cert is not None and self.tls_key is not None:
            cmd += ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)]
        if self.max_body is not None:
            cmd += ["--max-body", str(self.max_body)]
        if self.require_valid_signature:
            cmd.append("--require-valid-signature")
        if self.enable_faults:
            cmd.append("--enable-faults")
        return cmd + self.extra_args

    def start(self) -> ServerProc:
        if self.proc is not None:
            raise RuntimeError("server already started")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            match = LISTENING.search(self._new_log())
            if match:
                self.port = int(match.group(3))
                self._after_start()
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        output = self._new_log()
        self.stop()
        raise RuntimeError(f"ingest server did not start: {self.command()}\n{output}")

    def _after_start(self) -> None:
        if self.keys_from_file:
            keys = json.loads((self.data_dir / "keys.json").read_text())
            self.api_key, self.hmac_key = keys["api_key"], keys["hmac_key"]
        if self.tls_self_signed:
            self.ssl_context = ssl.create_default_context(
                cafile=str(self.data_dir / "tls" / "ca.pem")
            )

    def _new_log(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode("utf-8", "replace")

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def restart(self, keep_port: bool = True) -> ServerProc:
        """Stop and start again on the same data dir (and, by default, the same port)."""
        self.stop()
        requested = self.requested_port
        if keep_port and self.port:
            self.requested_port = self.port
        try:
            return self.start()
        finally:
            self.requested_port = requested

    def __enter__(self) -> ServerProc:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            if self.log_path.exists():
                os.unlink(self.log_path)

    # ---- HTTP helpers -------------------------------------------------------------------------

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.connect_host, self.port, timeout=timeout, context=self.ssl_context
            )
        return http.client.HTTPConnection(self.connect_host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        api_key: str | bool | None = True,
        timeout: float = 15.0,
    ) -> HttpResult:
        """One request on a fresh connection; raises on connection errors."""
        all_headers = dict(headers or {})
        if api_key is True:
            all_headers["x-api-key"] = self.api_key
        elif isinstance(api_key, str):
            all_headers["x-api-key"] = api_key
        conn = self._connection(timeout)
        try:
            conn.request(
                method, path, body=body if body or method != "GET" else None, headers=all_headers
            )
            response = conn.getresponse()
            data = response.read()
            found = {k.lower(): v for k, v in response.getheaders()}
            return HttpResult(response.status, found, data)
        finally:
            conn.close()

    def post_data(
        self,
        category: str,
        body: bytes,
        file_name: str | None = "sample.json",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        *,
        api_key: str | bool | None = True,
    ) -> HttpResult:
        """POST /api/<category>/data with x-file-name and Content-Type set."""
        all_headers = {"Content-Type": content_type}
        if file_name is not None:
            all_headers["x-file-name"] = file_name
        all_headers.update(headers or {})
        return self.request("POST", f"/api/{category}/data", body, all_headers, api_key=api_key)

    def post_files(
        self,
        category: str,
        files: Sequence[tuple[str, bytes, str]],
        headers: dict[str, str] | None = None,
        *,
        api_key: str | bool | None = True,
    ) -> HttpResult:
        """POST /api/<category>/files with each (name, data, content type) as a 'data' part."""
        body, content_type = encode_multipart(files)
        all_headers = {"Content-Type": content_type}
        all_headers.update(headers or {})
        return self.request("POST", f"/api/{category}/files", body, all_headers, api_key=api_key)

    def _ok_json(self, method: str, path: str, body: bytes = b"") -> Any:
        result = self.request(method, path, body, {"Content-Type": "application/json"})
        if result.status != 200:
            raise AssertionError(f"{method} {path}: {result.status} {result.text()}")
        return result.json()

    def samples(self) -> list[dict[str, Any]]:
        return list(self._ok_json("GET", "/api/samples")["samples"])

    def raw(self, sample_id: int) -> bytes:
        result = self.request("GET", f"/api/samples/{sample_id}/raw")
        if result.status != 200:
            raise AssertionError(f"raw {sample_id}: {result.status} {result.text()}")
        return result.body

    def set_fault(self, **spec: Any) -> None:
        self._ok_json("POST", "/_faults", json.dumps(spec).encode())

    def clear_faults(self) -> None:
        self._ok_json("DELETE", "/_faults")

    def requests_seen(self) -> list[dict[str, Any]]:
        return list(self._ok_json("GET", "/_faults/log"))

    def clear_requests_seen(self) -> None:
        self._ok_json("DELETE", "/_faults/log")

    def stored_files(self) -> list[str]:
        if not self.data_dir.exists():
            return []
        return sorted(
            str(path.relative_to(self.data_dir))
            for path in self.data_dir.rglob("*")
            if path.is_file() and not path.name.startswith("index.sqlite")
        )
