"""The API key and the HMAC key are never printed: not by repr() or str() of a Client, a robust
Client or a Spool, and not in anything the library logs or raises while it uploads, refuses,
retries and flushes. Keys are recognisable strings, looked for in every text produced; both
runtimes."""

from __future__ import annotations

import json
from pathlib import Path

import ei_errors
import ei_http
import ei_robust
import pytest
import spool_common
from ei_spool import Spool
from harness import SCENARIOS, refusing_port, run_micropython
from serverproc import ServerProc

API_KEY = "ei_API-KEY-SECRET-0123456789abcdef"
HMAC_KEY = "HMAC-KEY-SECRET-fedcba9876543210"
SECRETS = (API_KEY, HMAC_KEY, "API-KEY-SECRET", "HMAC-KEY-SECRET")


def no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a key was shown: {text!r}"


def test_repr_and_str_never_show_keys(tmp_path: Path) -> None:
    objects = [
        ei_http.Client(API_KEY, HMAC_KEY, "SIM", host="127.0.0.1", tls=False),
        ei_http.Client(API_KEY, HMAC_KEY.encode(), "SIM", host="127.0.0.1", tls=False),
        ei_robust.Client(API_KEY, HMAC_KEY, "SIM", host="127.0.0.1", tls=False),
        Spool(str(tmp_path / "a"), hmac_key=HMAC_KEY, device_type="SIM"),
        Spool(str(tmp_path / "b"), hmac_key=HMAC_KEY.encode(), device_type="SIM"),
    ]
    objects.append(Spool(str(tmp_path / "c"), client=objects[0]))
    for obj in objects:
        for text in (repr(obj), str(obj), f"{obj!r}", f"{obj}", repr([obj])):
            no_secret(text)
    # They still say something useful.
    assert repr(objects[0]) == "<Client 127.0.0.1:80 tls=False>"
    assert repr(objects[3]).startswith(f"<Spool {tmp_path / 'a'}: 0 pending")


def test_uploads_refusals_retries_and_flushes_never_show_keys(
    tmp_path: Path, logs: list[str]
) -> None:
    texts: list[str] = []
    with ServerProc(tmp_path / "data", api_key=API_KEY, hmac_key=HMAC_KEY) as server:
        c = ei_robust.Client(
            API_KEY, HMAC_KEY, "SIM", host="127.0.0.1", port=server.port, tls=False,
            delay=lambda attempt, left_ms: None,
        )  # fmt: skip
        server.set_fault(status=503, count=1)
        c.upload(spool_common.recording(1600), label="keys")
        for status in (400, 401, 421):
            server.set_fault(status=status, count=1)
            with pytest.raises(ei_errors.IngestionError) as err:
                c.upload(spool_common.recording(1601))
            texts += [str(err.value), repr(err.value), err.value.text]
        wrong = ei_http.Client("ei_wrong", HMAC_KEY, "SIM", host="127.0.0.1", port=server.port,
                               tls=False)  # fmt: skip
        with pytest.raises(ei_errors.AuthError) as auth:
            wrong.upload(spool_common.recording(1602))
        texts += [str(auth.value), repr(auth.value)]
        spool = Spool(str(tmp_path / "s"), hmac_key=HMAC_KEY, device_type="SIM")
        spool.put(spool_common.recording(1603))
        spool.put(spool_common.recording(1603))  # a duplicate: refused, moved to failed/
        with refusing_port() as port:
            down = ei_http.Client(API_KEY, HMAC_KEY, "SIM", host="127.0.0.1", port=port,
                                  tls=False)  # fmt: skip
            with pytest.raises(ei_errors.ConnectionFailed) as failed:
                spool.flush(down)
            texts += [str(failed.value), repr(failed.value)]
        assert spool.flush(c) == 1
        texts += [reason for _, reason in spool.failed()]
        texts += [repr(spool), repr(c)]
    assert logs, "something was logged (retries, the failed duplicate)"
    for text in texts + logs:
        no_secret(text)
    server_log = (tmp_path / "data.server.log").read_text()
    no_secret(server_log)


def test_micropython_never_shows_keys(tmp_path: Path) -> None:
    code = (
        "import ei_errors, ei_ingest, ei_robust, ei_spool, spool_common\n"
        "logs = []\n"
        "ei_errors.set_log(logs.append)\n"
        f"c = ei_ingest.Client({API_KEY!r}, {HMAC_KEY!r}, 'SIM', host='127.0.0.1', tls=False)\n"
        f"r = ei_robust.Client({API_KEY!r}, {HMAC_KEY!r}, 'SIM', host='127.0.0.1', tls=False)\n"
        f"s = ei_spool.Spool({str(tmp_path / 's')!r}, hmac_key={HMAC_KEY!r}, device_type='SIM')\n"
        "s.put(spool_common.recording(1))\n"
        "print(repr(c)); print(str(c)); print(repr(r)); print(repr(s)); print(str(s))\n"
        "print(repr([c, r, s])); print(logs)\n"
    )
    proc = run_micropython(
        code, code=True, env={"MICROPYPATH": f"{SCENARIOS}:lib:boards/sim:.frozen"}
    )
    out = proc.stdout.decode() + proc.stderr.decode()
    no_secret(out)
    lines = out.splitlines()
    assert lines[0] == "<Client 127.0.0.1:80 tls=False>" and "<Spool " in lines[3], out
    assert json.loads(lines[-1].replace("'", '"')) == []
