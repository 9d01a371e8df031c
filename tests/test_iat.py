"""`iat` (issued at) reaches the file: from Spool.put(iat=...), from Client.upload(iat=...), and
from the Client's clock (Client(clock=...)) when upload() is given none. The stored and uploaded
files are decoded here (cbor2, json) and their signatures checked with the stdlib hmac."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ei_http
import ei_robust
import pytest
import spool_common
from daq import decode, signature_valid
from ei_spool import Spool
from harness import SCENARIOS, run_micropython
from serverproc import ServerProc

IAT = 1764150000
CLOCK_IAT = 1764150077


pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


def client(server: ServerProc, cls: Any = ei_http.Client, **kw: Any) -> Any:
    return cls(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", device_name="iat", host="127.0.0.1",
        port=server.port, tls=False, timeout=5, **kw,
    )  # fmt: skip


def stored(server: ServerProc, name: str) -> dict[str, Any]:
    (sample,) = [s for s in server.samples() if s["fileName"] == name]
    raw = server.raw(sample["id"])
    assert signature_valid(raw, spool_common.HMAC_KEY)
    return decode(raw)


@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_spool_put_writes_iat_into_the_file(tmp_path: Path, server: ServerProc, fmt: str) -> None:
    spool = Spool(str(tmp_path / "s"), hmac_key=spool_common.HMAC_KEY, device_type="SIM")
    spool.put(spool_common.recording(900), label="with", fmt=fmt, iat=IAT)
    spool.put(spool_common.recording(901), label="without", fmt=fmt)
    ext = "." + fmt
    with_iat = decode((tmp_path / "s" / f"00000001{ext}").read_bytes())
    without = decode((tmp_path / "s" / f"00000002{ext}").read_bytes())
    assert with_iat["protected"] == {"ver": "v1", "alg": "HS256", "iat": IAT}
    assert without["protected"] == {"ver": "v1", "alg": "HS256"}
    # What the server got is that file, iat and all.
    names = [json.loads((tmp_path / "s" / f"0000000{k}.m").read_text())["name"] for k in (1, 2)]
    assert spool.flush(client(server)) == 2
    assert stored(server, names[0])["protected"]["iat"] == IAT
    assert "iat" not in stored(server, names[1])["protected"]


@pytest.mark.parametrize("cls", [ei_http.Client, ei_robust.Client])
@pytest.mark.parametrize("fmt", ["cbor", "json"])
def test_client_clock_gives_iat_when_upload_has_none(
    server: ServerProc, cls: Any, fmt: str
) -> None:
    calls: list[int] = []

    def clock() -> int:
        calls.append(1)
        return CLOCK_IAT + len(calls)

    c = client(server, cls, clock=clock)
    rid = 910 if cls is ei_http.Client else 920
    name = c.upload(spool_common.recording(rid + (fmt == "json")), fmt=fmt, label="clock")
    assert calls == [1], "the clock is read once per upload"
    assert stored(server, name)["protected"]["iat"] == CLOCK_IAT + 1
    # An explicit iat wins over the clock (and the clock is not read).
    name = c.upload(spool_common.recording(rid + 2 + (fmt == "json")), fmt=fmt, iat=IAT)
    assert calls == [1]
    assert stored(server, name)["protected"]["iat"] == IAT


def test_clock_returning_none_and_no_clock_leave_iat_out(server: ServerProc) -> None:
    with_none = client(server, clock=lambda: None).upload(spool_common.recording(930))
    assert "iat" not in stored(server, with_none)["protected"]
    plain = client(server).upload(spool_common.recording(931))
    assert "iat" not in stored(server, plain)["protected"]


def test_bad_clock_value_is_a_clear_error_and_sends_nothing(server: ServerProc) -> None:
    server.clear_requests_seen()
    with pytest.raises(ValueError, match="iat"):
        client(server, clock=lambda: -5).upload(spool_common.recording(932))
    assert server.requests_seen() == []


def test_client_clock_on_micropython(server: ServerProc) -> None:
    code = (
        "import ei_ingest, spool_common\nspool_common.join_wifi()\n"
        f"c = ei_ingest.Client({spool_common.API_KEY!r}, {spool_common.HMAC_KEY!r}, 'SIM', "
        f"host='127.0.0.1', port={server.port}, tls=False, clock=lambda: {CLOCK_IAT})\n"
        "print(c.upload(spool_common.recording(940), label='mpclock'))\n"
    )
    proc = run_micropython(
        code, code=True, env={"MICROPYPATH": f"{SCENARIOS}:lib:boards/sim:.frozen"}
    )
    name = proc.stdout.decode().split()[-1]
    assert stored(server, name)["protected"]["iat"] == CLOCK_IAT
