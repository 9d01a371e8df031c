"""HTTPS with insecure=True against a real TLS server (tools/ingest_server.py with a throwaway
CA): the upload goes through without a CA file and whatever the certificate, and the one
warning is logged once, when the Client is made. Without insecure, the same server and the
wrong CA (or no CA) are refused: the controls that show insecure=True is what made the
difference. CPython in-process and the micropython interpreter (mbedTLS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ei_http
import pytest
import spool_common
from daq import decode, signature_valid
from ei_errors import TLSError
from harness import SCENARIOS, run_micropython
from serverproc import ServerProc, TestCA, make_test_ca

WARNING = "TLS certificate checks are OFF for {} (insecure=True)"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    ca: TestCA = make_test_ca(tmp_path_factory.mktemp("ca"), hosts=("127.0.0.1",))
    with ServerProc(tmp_path_factory.mktemp("data"), tls=ca) as server:
        yield server


def client(server: ServerProc, host: str = "127.0.0.1", **kw: object) -> ei_http.Client:
    return ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host=host, port=server.port,
        tls=True, timeout=10, **kw,
    )  # fmt: skip


def stored(server: ServerProc, name: str) -> dict:
    (sample,) = [s for s in server.samples() if s["fileName"] == name]
    raw = server.raw(sample["id"])
    assert signature_valid(raw, spool_common.HMAC_KEY)
    return decode(raw)


def test_insecure_uploads_without_a_ca_and_warns_once(
    tls_server: ServerProc, logs: list[str]
) -> None:
    c = client(tls_server, insecure=True)
    assert logs == [WARNING.format("127.0.0.1")]
    names = [c.upload(spool_common.recording(rid), label="insecure") for rid in (1500, 1501)]
    assert logs == [WARNING.format("127.0.0.1")], "once, when the Client is made"
    for rid, name in zip((1500, 1501), names, strict=True):
        got = stored(tls_server, name)["payload"]["values"]
        assert spool_common.rid_of(got) == rid
    for text in logs:
        assert spool_common.API_KEY not in text and spool_common.HMAC_KEY not in text


def test_insecure_skips_the_host_name_check_too(tls_server: ServerProc, logs: list[str]) -> None:
    # The certificate names 127.0.0.1 only; "localhost" is the same server by another name.
    name = client(tls_server, host="localhost", insecure=True).upload(spool_common.recording(1502))
    assert spool_common.rid_of(stored(tls_server, name)["payload"]["values"]) == 1502
    assert logs == [WARNING.format("localhost")]


def test_controls_without_insecure_are_refused(
    tls_server: ServerProc, tmp_path: Path, logs: list[str]
) -> None:
    before = len(tls_server.samples())
    with pytest.raises(ValueError, match="HTTPS needs a CA certificate"):
        client(tls_server)
    other = make_test_ca(tmp_path / "other")
    with pytest.raises(TLSError):
        client(tls_server, ca=other.ca_der).upload(spool_common.recording(1503))
    with pytest.raises(TLSError):
        assert tls_server.tls is not None
        client(tls_server, host="localhost", ca=tls_server.tls.ca_der).upload(
            spool_common.recording(1504)
        )
    assert len(tls_server.samples()) == before
    assert logs == [], "no warning without insecure=True"


def test_insecure_without_tls_warns_nothing(logs: list[str]) -> None:
    c = ei_http.Client(
        spool_common.API_KEY, None, "SIM", host="127.0.0.1", tls=False, insecure=True
    )
    assert c.port == 80 and logs == []


def test_insecure_on_micropython(tls_server: ServerProc) -> None:
    code = (
        "import json, ei_errors, ei_ingest, spool_common\nspool_common.join_wifi()\n"
        "logs = []\n"
        "ei_errors.set_log(logs.append)\n"
        f"c = ei_ingest.Client({spool_common.API_KEY!r}, {spool_common.HMAC_KEY!r}, 'SIM', "
        f"host='127.0.0.1', port={tls_server.port}, tls=True, insecure=True, timeout=10)\n"
        "made = list(logs)\n"
        "name = c.upload(spool_common.recording(1505), label='mp-insecure')\n"
        "print(json.dumps({'made': made, 'after': logs, 'name': name}))\n"
    )
    proc = run_micropython(
        code, code=True, env={"MICROPYPATH": f"{SCENARIOS}:lib:boards/sim:.frozen"}
    )
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert out["made"] == out["after"] == [WARNING.format("127.0.0.1")]
    assert spool_common.rid_of(stored(tls_server, out["name"])["payload"]["values"]) == 1505
