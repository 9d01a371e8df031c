"""ei_spool.Spool: what it writes to flash, and what flush() does with each server answer.

CPython drives the library in-process against the local server (a real process); the LittleFS
case runs in the micropython interpreter with os.VfsLfs2 on a RAM block device.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import ei_errors
import ei_http
import pytest
import spool_common
from daq import decode, rows, signature_valid
from ei_errors import AuthError, ConnectionFailed
from ei_spool import Spool, SpoolFull
from faultproxy import FaultProxy
from harness import SCENARIOS, refusing_port, run_micropython
from serverproc import ServerProc
from stored import server_ids

pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


def make_spool(path: Path, **kw: object) -> Spool:
    args: dict[str, object] = dict(
        max_bytes=1 << 20, hmac_key=spool_common.HMAC_KEY, device_type="SIM",
        device_name="spool-test",
    )  # fmt: skip
    args.update(kw)
    return Spool(str(path), **args)  # type: ignore[arg-type]


def plain_client(port: int, **kw: object) -> ei_http.Client:
    args: dict[str, object] = dict(
        device_name="spool-test", host="127.0.0.1", port=port, tls=False, timeout=2
    )
    args.update(kw)
    return ei_http.Client(spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", **args)


def files(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def test_put_writes_a_signed_file_and_its_metadata(tmp_path: Path) -> None:
    spool = make_spool(tmp_path / "s")
    assert len(spool) == 0
    assert spool.put(spool_common.recording(1), label="idle") == 1
    assert spool.put(spool_common.recording(2), label="idle", fmt="json", metadata={"a": "b"}) == 2
    assert len(spool) == 2
    assert files(tmp_path / "s") == [
        "00000001.cbor", "00000001.m", "00000002.json", "00000002.m", "failed",
    ]  # fmt: skip
    for seq, ext in ((1, "cbor"), (2, "json")):
        raw = (tmp_path / "s" / f"0000000{seq}.{ext}").read_bytes()
        meta = json.loads((tmp_path / "s" / f"0000000{seq}.m").read_text())
        assert signature_valid(raw, spool_common.HMAC_KEY)
        assert rows(decode(raw)) == [list(spool_common.row(seq, j)) for j in range(20)]
        assert meta["size"] == len(raw)
        assert meta["sha256"] == hashlib.sha256(raw).hexdigest()
        assert meta["fmt"] == ext and meta["label"] == "idle" and meta["category"] == "training"
        assert meta["name"] == f"idle.{meta['sha256'][:12]}.{ext}"
        assert decode(raw)["payload"]["device_name"] == "spool-test"
    assert spool.used == sum((tmp_path / "s" / n).stat().st_size for n in files(tmp_path / "s")[:4])


def test_order_and_sequence_survive_a_restart(tmp_path: Path, fresh_server: ServerProc) -> None:
    spool = make_spool(tmp_path / "s")
    for rid in range(10, 15):
        spool.put(spool_common.recording(rid), label=f"r{rid}")
    again = make_spool(tmp_path / "s")  # a reboot
    assert len(again) == 5
    client = plain_client(fresh_server.port)
    assert again.flush(client, limit=2) == 2
    assert len(again) == 3
    assert again.put(spool_common.recording(15), label="r15") == 6, "numbers never go back"
    assert again.flush(client) == 4
    stored = [s["label"] for s in sorted(fresh_server.samples(), key=lambda s: s["id"])]
    assert stored == [f"r{rid}" for rid in range(10, 16)], "oldest first"
    assert files(tmp_path / "s") == ["failed"]
    assert make_spool(tmp_path / "s").put(spool_common.recording(16)) == 1, "empty: restart at 1"


def test_crash_leftovers_are_cleaned_never_uploaded(
    tmp_path: Path, fresh_server: ServerProc
) -> None:
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(20), label="kept")
    d = tmp_path / "s"
    good = (d / "00000001.cbor").read_bytes()
    (d / "00000002.d.tmp").write_bytes(good[:50])  # killed while writing
    (d / "00000002.m.tmp").write_text("{")
    (d / "00000003.cbor").write_bytes(good)  # killed between the two renames: no metadata
    (d / "failed" / "00000004.why.tmp").write_text("half a reason")
    (d / "failed" / "00000001.why").write_text("a move to failed/ cut short: still pending")
    (d / "notes.txt").write_text("not the spool's")
    again = make_spool(d)
    assert files(d) == ["00000001.cbor", "00000001.m", "failed", "notes.txt"]
    assert files(d / "failed") == []
    assert len(again) == 1
    assert again.put(spool_common.recording(21)) == 4, "numbers seen in leftovers are skipped"
    assert again.flush(plain_client(fresh_server.port)) == 2
    assert sorted(server_ids(fresh_server)) == [20, 21]


def test_start_up_mends_what_crashes_or_hands_left_in_failed(
    tmp_path: Path, logs: list[str]
) -> None:
    """States no single crash of ours leaves, but two crashes or a person with a file manager
    can: a failed recording whose reason is gone, a stale reason beside a put that never
    finished, a move to failed/ cut after its metadata. The restart mends each, and counts
    what failed/ holds."""
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(30), label="kept")
    d = tmp_path / "s"
    data, meta = (d / "00000001.cbor").read_bytes(), (d / "00000001.m").read_bytes()
    for seq in (5, 7):
        (d / "failed" / f"0000000{seq}.m").write_bytes(meta)
    (d / "failed" / "00000005.cbor").write_bytes(data)  # its .why deleted
    (d / "00000003.cbor").write_bytes(data)  # a put that never finished...
    (d / "failed" / "00000003.why").write_text("stale")  # ...beside an old reason
    (d / "00000007.cbor").write_bytes(data)  # a move to failed/ cut after the metadata
    (d / "failed" / "00000007.why").write_text("HTTP 400: refused")
    (d / "failed" / "00000009.cbor").write_bytes(data)  # a discard cut short...
    (d / "failed" / "00000009.why").write_text("HTTP 400: refused")  # ...and its reason
    (d / "00000011.m").write_bytes(meta)  # its data file deleted by hand
    again = make_spool(d)
    assert again.failed() == [
        (5, "reason lost in a crash"), (7, "HTTP 400: refused"), (11, "data file missing"),
    ]  # fmt: skip
    assert files(d) == ["00000001.cbor", "00000001.m", "failed"]
    assert files(d / "failed") == [
        f"{n:08d}.{e}" for n in (5, 7, 11) for e in ("cbor", "m", "why") if (n, e) != (11, "cbor")
    ]
    assert "spool: removing 00000003.cbor, left by a put that never finished" in logs, logs
    assert again.failed_bytes == 2 * (len(data) + len(meta)) + len(meta)
    assert (len(again), again.used) == (1, len(data) + len(meta))


def test_a_spool_in_a_relative_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders are made one by one, the first one too: "q/spool" from the current folder."""
    monkeypatch.chdir(tmp_path)
    spool = make_spool(Path("q/spool"))
    assert spool.put(spool_common.recording(31)) == 1
    assert files(tmp_path / "q" / "spool") == ["00000001.cbor", "00000001.m", "failed"]


def test_a_write_error_is_a_spool_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError other than a full flash while putting (here: the rename that commits) is a
    SpoolError naming the recording; no file is left and the number is used again."""
    import ei_spool

    class FailingRename:
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def rename(self, a: str, b: str) -> None:
            raise OSError(5, "Input/output error")

    spool = make_spool(tmp_path / "s")
    monkeypatch.setattr(ei_spool, "os", FailingRename())
    with pytest.raises(ei_spool.SpoolError, match=r"/s: cannot write recording 00000001: flash e"):
        spool.put(spool_common.recording(32))
    monkeypatch.undo()
    assert files(tmp_path / "s") == ["failed"] and (len(spool), spool.used) == (0, 0)
    assert spool.put(spool_common.recording(32)) == 1


def test_a_file_in_the_way_is_named_whatever_its_mode(tmp_path: Path) -> None:
    """A file where the spool needs a folder, executable or not (only the type bits count)."""
    for mode in (0o644, 0o755, 0o000):
        in_the_way = tmp_path / f"f{mode:o}"
        in_the_way.write_text("not a folder")
        in_the_way.chmod(mode)
        for path in (in_the_way, in_the_way / "s"):
            with pytest.raises(ValueError, match=r"is a file, not a directory"):
                make_spool(path)


def test_files_that_are_not_the_spools_are_left_alone(tmp_path: Path) -> None:
    """Names without the 8 digits and a dot are someone else's: never read, sent or deleted."""
    spool = make_spool(tmp_path / "s")
    assert spool.put(spool_common.recording(33)) == 1
    theirs = ["12345678", "1234567.m", "abcdefgh.cbor", "notes.txt", "123456789.m", ".m"]
    for folder in (tmp_path / "s", tmp_path / "s" / "failed"):
        for name in theirs:
            (folder / name).write_text("theirs")
    again = make_spool(tmp_path / "s")
    assert (len(again), again.failed(), again.put(spool_common.recording(34))) == (1, [], 2)
    for folder in (tmp_path / "s", tmp_path / "s" / "failed"):
        assert set(theirs) <= set(files(folder))


def test_a_full_spool_refuses_before_it_writes_and_bad_input_before_that(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filled to the byte: put() is refused before a file is encoded, and a bad iat or a thing
    that is not a Recording is named as such even then; flush() names a client that is not
    one before it looks at a file."""
    import ei_ingest

    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(35))
    spool.max_bytes = spool.used

    def no_encoding(*args: object, **kw: object) -> None:
        raise AssertionError("a full spool encoded a file")

    monkeypatch.setattr(ei_ingest, "dump", no_encoding)
    with pytest.raises(SpoolFull, match=r"\+ 0 new > max_bytes"):
        spool.put(spool_common.recording(35))
    with pytest.raises(ValueError, match="iat must be Unix seconds"):
        spool.put(spool_common.recording(35), iat=5)

    class SensorsOnly:
        sensors = (("x", "u"),)

    for not_a_recording in (SensorsOnly(), bytearray(8)):
        with pytest.raises(ValueError, match="rec must be an ei_ingest.Recording"):
            spool.put(not_a_recording)
    for not_a_client in (None, object(), "http://127.0.0.1"):
        with pytest.raises(ValueError, match="client must be an ei_ingest Client"):
            spool.flush(not_a_client)
    assert (len(spool), files(tmp_path / "s")) == (1, ["00000001.cbor", "00000001.m", "failed"])


def test_a_flash_error_while_starting_is_a_spool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ei_spool

    def broken_mkdir(path: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ei_spool.os, "mkdir", broken_mkdir)
    with pytest.raises(ei_spool.SpoolError, match=r"^spool .*/s: \[Errno 5\] Input/output"):
        make_spool(tmp_path / "s")


def test_a_flash_error_during_a_flush_keeps_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename that marks a file as tried fails: a SpoolError, nothing sent, nothing lost."""
    import ei_spool

    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(36))

    def broken_rename(a: str, b: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ei_spool.os, "rename", broken_rename)
    client = FakeClient()
    with pytest.raises(ei_spool.SpoolError, match=r"/s: flash error .* every file stays$"):
        spool.flush(client)
    monkeypatch.undo()
    assert client.sent == [], "sent although the flash failed"
    assert (len(spool), len(make_spool(tmp_path / "s"))) == (1, 1)


class FakeClient:
    """send_file() records each file's name, or raises `error`; close() is counted."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[str] = []
        self.closed = 0
        self.error = error

    def send_file(self, path: str, opts: dict[str, object]) -> None:
        assert not self.closed, "sent on a closed client"
        if self.error:
            raise self.error
        self.sent.append(os.path.basename(path))

    def close(self) -> None:
        self.closed += 1


def test_a_flush_closes_the_connection_it_kept(tmp_path: Path) -> None:
    """Once per flush, delivered or stopped by an error: a kept TLS session is heap on rp2."""
    spool = make_spool(tmp_path / "s")
    for n in range(3):
        spool.put(spool_common.recording(37 + n))
    down = FakeClient(ConnectionFailed("host unreachable"))
    with pytest.raises(ConnectionFailed):
        spool.flush(down)
    assert (down.closed, len(spool)) == (1, 3)
    up = FakeClient()
    assert spool.flush(up) == 3
    assert (up.sent, up.closed) == (["00000001.cbor", "00000002.cbor", "00000003.cbor"], 1)


def test_used_is_what_the_pending_files_take_after_each_delivery(tmp_path: Path) -> None:
    d = tmp_path / "s"
    spool = make_spool(d)
    for n in range(4):
        spool.put(spool_common.recording(40 + n), label="x" * (n + 1))
    while len(spool):
        assert spool.used == sum(f.stat().st_size for f in d.iterdir() if f.is_file())
        assert spool.flush(FakeClient(), limit=1) == 1
    assert spool.used == 0


def test_what_a_client_raises_decides_where_the_file_goes(tmp_path: Path, logs: list[str]) -> None:
    """ValueError: this file cannot be sent (failed/, the flush goes on); anything that does
    not say it refuses the file (a bug, a network error) stops the flush and keeps it."""
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(44))
    spool.put(spool_common.recording(45))
    for error in (RuntimeError("a bug in a client"), ConnectionFailed("reset")):
        with pytest.raises(type(error)):
            spool.flush(FakeClient(error))
        assert (len(spool), spool.failed()) == (2, [])
    assert spool.flush(FakeClient(ValueError("too large for this client"))) == 0
    assert spool.failed() == [
        (1, "not sendable: too large for this client"),
        (2, "not sendable: too large for this client"),
    ]
    assert len(spool) == 0
    assert "spool: 00000002 moved to failed/: not sendable: too large for this client" in logs
    assert make_spool(tmp_path / "s").put(spool_common.recording(46)) == 3, "a number reused"


def test_max_bytes_is_256_kib_unless_given_and_any_int_above_0(tmp_path: Path) -> None:
    assert Spool(str(tmp_path / "s"), device_type="SIM").max_bytes == 256 * 1024
    one = make_spool(tmp_path / "one", max_bytes=1)
    with pytest.raises(SpoolFull, match="max_bytes 1$"):
        one.put(spool_common.recording(46))


@pytest.mark.parametrize("damage", ["flip", "truncate", "metadata", "missing"])
def test_a_damaged_file_goes_to_failed_never_sent(
    tmp_path: Path, fresh_server: ServerProc, damage: str
) -> None:
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(30), label="bad")
    spool.put(spool_common.recording(31), label="fine")
    d = tmp_path / "s"
    data = d / "00000001.cbor"
    if damage == "flip":
        raw = bytearray(data.read_bytes())
        raw[-5] ^= 0x01
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        size = data.stat().st_size
        data.write_bytes(data.read_bytes()[:-3])
    elif damage == "metadata":
        (d / "00000001.m").write_text('{"fmt": "cbor", "si')
    else:
        data.unlink()
    spool = make_spool(d) if damage == "missing" else spool
    assert spool.flush(plain_client(fresh_server.port)) == 1
    assert len(spool) == 0
    assert [s["label"] for s in fresh_server.samples()] == ["fine"], (
        "the damaged file was never sent"
    )
    assert len(fresh_server.requests_seen()) == 1
    ((seq, why),) = spool.failed()
    assert seq == 1
    expected = {
        "flip": "checksum mismatch",
        "truncate": "size {}, expected {}: the file changed on flash",
        "metadata": "metadata unreadable",
        "missing": "data file missing",
    }[damage]
    if damage == "truncate":
        expected = expected.format(size - 3, size)
    assert expected in why
    assert "00000001.why" in files(d / "failed")
    assert files(d) == ["failed"]
    in_failed = [f for f in (d / "failed").iterdir() if f.suffix != ".why"]
    assert (spool.used, spool.failed_bytes) == (0, sum(f.stat().st_size for f in in_failed))


@pytest.mark.parametrize("status", [400, 413])
def test_refused_file_moves_to_failed_with_the_server_text(
    tmp_path: Path, fresh_server: ServerProc, status: int
) -> None:
    spool = make_spool(tmp_path / "s")
    for rid in (40, 41, 42):
        spool.put(spool_common.recording(rid), label=f"r{rid}")
    fresh_server.set_fault(status=status, body=f"no thanks ({status})", count=1)
    assert spool.flush(plain_client(fresh_server.port)) == 2, "refused one, the flush went on"
    ((seq, why),) = spool.failed()
    assert seq == 1 and f"no thanks ({status})" in why and str(status) in why
    assert files(tmp_path / "s" / "failed") == ["00000001.cbor", "00000001.s", "00000001.why"]
    assert sorted(server_ids(fresh_server)) == [41, 42]


def test_a_wrong_key_keeps_every_file_pending_until_it_is_fixed(
    tmp_path: Path, fresh_server: ServerProc
) -> None:
    spool = make_spool(tmp_path / "s")
    for rid in (50, 51, 52):
        spool.put(spool_common.recording(rid))
    wrong = ei_http.Client(
        "ei_wrong",
        spool_common.HMAC_KEY,
        "SIM",
        host="127.0.0.1",
        port=fresh_server.port,
        tls=False,
    )
    for _ in range(3):  # a collect loop flushing each cycle with a typo in the key
        with pytest.raises(AuthError):
            spool.flush(wrong)
    assert len(spool) == 3 and spool.failed() == [], "a 401 says nothing about the file"
    assert spool.flush(plain_client(fresh_server.port)) == 3, "the fixed key delivers everything"
    assert sorted(server_ids(fresh_server)) == [50, 51, 52]


@pytest.mark.parametrize("status", [403, 404, 421, 408, 429, 502])
def test_answers_about_anything_but_the_file_keep_it_pending(
    tmp_path: Path, fresh_server: ServerProc, status: int
) -> None:
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(53))
    fresh_server.set_fault(status=status, body=f"not about the file ({status})", count=1)
    with pytest.raises(ei_errors.IngestionError) as e:
        spool.flush(plain_client(fresh_server.port))
    assert e.value.status == status and not e.value.refuses_file
    assert len(spool) == 1 and spool.failed() == []
    assert spool.flush(plain_client(fresh_server.port)) == 1 and server_ids(fresh_server) == {53: 1}


def test_retryable_failure_stops_and_keeps_the_file(
    tmp_path: Path, fresh_server: ServerProc
) -> None:
    spool = make_spool(tmp_path / "s")
    for rid in (60, 61):
        spool.put(spool_common.recording(rid))
    with refusing_port() as port, pytest.raises(ConnectionFailed):
        spool.flush(plain_client(port))
    assert len(spool) == 2 and spool.failed() == []
    assert "00000001.s" in files(tmp_path / "s"), "marked as sent at least once"
    fresh_server.set_fault(status=503, count=1)
    with pytest.raises(ei_errors.ServerError):
        spool.flush(plain_client(fresh_server.port))
    assert len(spool) == 2
    assert spool.flush(plain_client(fresh_server.port)) == 2
    assert sorted(server_ids(fresh_server)) == [60, 61]


def test_lost_answer_then_duplicate_counts_as_delivered(
    tmp_path: Path, fresh_server: ServerProc
) -> None:
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(70))
    with FaultProxy(fresh_server.port) as proxy:
        proxy.queue("truncate")  # the server stores the file; its answer never arrives
        with pytest.raises(ConnectionFailed):
            spool.flush(plain_client(proxy.port))
    assert len(spool) == 1 and server_ids(fresh_server) == {70: 1}
    make_spool(tmp_path / "s").flush(plain_client(fresh_server.port))  # after a reboot, even
    assert server_ids(fresh_server) == {70: 1}
    assert [r["outcome"] for r in fresh_server.requests_seen()] == [200, 400]
    assert files(tmp_path / "s") == ["failed"] and files(tmp_path / "s" / "failed") == []


def test_duplicate_on_a_first_attempt_is_a_refusal(
    tmp_path: Path, fresh_server: ServerProc
) -> None:
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(80))
    spool.put(spool_common.recording(80))  # the same bytes again
    assert spool.flush(plain_client(fresh_server.port)) == 1
    ((seq, why),) = spool.failed()
    assert seq == 2 and "duplicate" in why
    assert server_ids(fresh_server) == {80: 1}


def test_full_spool_refuses_and_drops_nothing(tmp_path: Path, fresh_server: ServerProc) -> None:
    spool = make_spool(tmp_path / "s", max_bytes=2000)
    accepted = []
    with pytest.raises(SpoolFull):
        for rid in range(90, 120):
            spool.put(spool_common.recording(rid))
            accepted.append(rid)
    assert 1 <= len(accepted) < 30 and len(spool) == len(accepted)
    assert spool.used <= 2000
    assert not [n for n in files(tmp_path / "s") if n.endswith(".tmp")]
    assert spool.flush(plain_client(fresh_server.port)) == len(accepted)
    assert sorted(server_ids(fresh_server)) == accepted
    spool.put(spool_common.recording(200))  # room again
    assert len(spool) == 1


def test_max_bytes_is_a_bound_that_can_be_filled_exactly(tmp_path: Path) -> None:
    probe = make_spool(tmp_path / "probe")
    probe.put(spool_common.recording(33))
    size = probe.used
    assert make_spool(tmp_path / "exact", max_bytes=size).put(spool_common.recording(33)) == 1
    with pytest.raises(SpoolFull):
        make_spool(tmp_path / "short", max_bytes=size - 1).put(spool_common.recording(33))


@pytest.mark.parametrize(("bad", "words"), [
    ({"limit": -1}, "limit must be None or an int >= 0, not -1"),
    ({"budget_ms": "5"}, "budget_ms must be None or an int >= 0, not '5'"),
])  # fmt: skip
def test_flush_names_a_bad_limit(tmp_path: Path, bad: dict[str, object], words: str) -> None:
    spool = make_spool(tmp_path / "s")
    with pytest.raises(ValueError) as err:
        spool.flush(plain_client(1), **bad)  # type: ignore[arg-type]
    assert str(err.value) == words


def test_spool_on_littlefs_in_micropython(tmp_path: Path, fresh_server: ServerProc) -> None:
    proc = run_micropython(SCENARIOS / "spool_lfs.py", str(fresh_server.port), "300")
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert "00000006.d.tmp" in out["before_reboot"] and "00000007.cbor" in out["before_reboot"]
    assert out["after_reboot"] == [
        *[f"0000000{i}.{e}" for i in range(1, 6) for e in (("cbor", "json")[(i - 1) % 2], "m")],
        "failed",
    ]  # fmt: skip
    assert out["pending"] == 5 and out["delivered"] == 5 and out["after_flush"] == ["failed"]
    assert out["full"] and "flash is full" in out["full"], out
    assert out["puts_until_full"] > 5 and out["temps_after_full"] == []
    assert out["pending_after_full"] == out["files_after_full"] == out["puts_until_full"]
    assert sorted(server_ids(fresh_server)) == list(range(300, 305))


def test_collecting_offline_never_imports_the_network(tmp_path: Path) -> None:
    code = (
        "import sys, ei_spool, spool_common\n"
        f"s = ei_spool.Spool({str(tmp_path / 's')!r}, hmac_key='k', device_type='SIM')\n"
        "s.put(spool_common.recording(1), label='x', metadata={'a': 'b'})\n"
        "print(sorted(m for m in ('ei_http', 'socket', 'tls', 'ei_robust') if m in sys.modules))\n"
    )
    proc = run_micropython(
        code, code=True, env={"MICROPYPATH": f"{SCENARIOS}:lib:boards/sim:.frozen"}
    )
    assert proc.stdout.decode().strip().splitlines()[-1] == "[]"


def test_keys_come_from_a_client(tmp_path: Path, fresh_server: ServerProc) -> None:
    c = plain_client(fresh_server.port, device_name="from-client")
    spool = Spool(str(tmp_path / "s"), client=c)
    spool.put(spool_common.recording(400))
    raw = (tmp_path / "s" / "00000001.cbor").read_bytes()
    assert signature_valid(raw, spool_common.HMAC_KEY)
    assert decode(raw)["payload"]["device_name"] == "from-client"
    assert decode(raw)["payload"]["device_type"] == "SIM"
    assert spool.flush(c) == 1 and server_ids(fresh_server) == {400: 1}


def test_certificate_error_stops_the_flush_and_keeps_the_file(tmp_path: Path) -> None:
    from ei_errors import TLSError
    from serverproc import make_test_ca

    ca = make_test_ca(tmp_path / "ca")
    other = make_test_ca(tmp_path / "other")
    with ServerProc(tmp_path / "data", tls=ca) as fresh_server:
        spool = make_spool(tmp_path / "s")
        spool.put(spool_common.recording(500))
        with pytest.raises(TLSError):
            spool.flush(plain_client(fresh_server.port, tls=True, ca=other.ca_der))
        assert len(spool) == 1 and spool.failed() == [], "not the file's fault: it waits"
        assert spool.flush(plain_client(fresh_server.port, tls=True, ca=ca.ca_der)) == 1
        assert server_ids(fresh_server) == {500: 1}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def ticks_ms(self) -> int:
        return self.now

    @staticmethod
    def ticks_diff(a: int, b: int) -> int:
        return a - b


class SlowClient:
    """Each upload takes 700 ms of the fake clock; records the retry budget it was given."""

    total_ms = 60000

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.budgets: list[int] = []

    def send_file(self, path: str, opts: dict[str, object]) -> str:
        self.budgets.append(self.total_ms)
        self.clock.now += 700
        return str(opts["name"])


def test_flush_budget_on_a_fake_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ei_spool

    clock = FakeClock()
    monkeypatch.setattr(ei_spool, "ticks_ms", clock.ticks_ms)
    monkeypatch.setattr(ei_spool, "ticks_diff", clock.ticks_diff)
    spool = make_spool(tmp_path / "s")
    for rid in range(5):
        spool.put(spool_common.recording(600 + rid))
    client = SlowClient(clock)
    # Uploads start at 0, 700 and 1400 ms; at 2100 the 2000 ms budget is spent.
    assert spool.flush(client, budget_ms=2000) == 3 and len(spool) == 2
    assert client.budgets == [2000, 1300, 600], "retries never outlast the budget"
    assert client.total_ms == 60000, "the client's own setting is back"
    assert spool.flush(client, budget_ms=0) == 0 and len(spool) == 2
    assert spool.flush(client) == 2 and len(spool) == 0
    for rid in range(3):
        spool.put(spool_common.recording(610 + rid))
    client.budgets.clear()  # 1 ms left at 700 ms is still time to start one
    assert spool.flush(client, budget_ms=701) == 2 and client.budgets == [701, 1]


def test_a_data_file_gone_while_running_goes_to_failed(tmp_path: Path) -> None:
    """Deleted from under a running spool (by hand, or a file system that lost it): moved to
    failed/ with the reason, and the flush goes on with the next recording."""
    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(34))
    spool.put(spool_common.recording(35))
    (tmp_path / "s" / "00000001.cbor").unlink()
    client = SlowClient(FakeClock())
    assert spool.flush(client) == 1 and len(client.budgets) == 1, "the second one sent"
    assert spool.failed() == [(1, "data file missing")] and len(spool) == 0
    assert files(tmp_path / "s" / "failed") == ["00000001.m", "00000001.why"]


@pytest.mark.parametrize("fails", ["open", "write", "rename"])
def test_full_flash_while_moving_to_failed(
    tmp_path: Path, fresh_server: ServerProc, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """The reason cannot be written (no room to create its file, or to write into the one
    just created), or the metadata cannot follow it: the recording stays pending and failed/
    is left as it was."""
    import builtins

    import ei_spool

    class FullOnWrite:
        def __init__(self, f: Any) -> None:
            self.f = f

        def __enter__(self) -> FullOnWrite:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    def full_in_failed(path: str, mode: str = "r", *args: object) -> object:
        if "w" in mode and "/failed/" in path:
            if fails == "open":
                raise OSError(28, "No space left on device")
            return FullOnWrite(builtins.open(path, mode, *args))
        return builtins.open(path, mode, *args)

    class FullOnRename:
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def rename(self, a: str, b: str) -> None:
            if "/failed/" in b and not b.endswith(".why"):
                raise OSError(28, "No space left on device")
            os.rename(a, b)

    spool = make_spool(tmp_path / "s")
    spool.put(spool_common.recording(700))
    spool.put(spool_common.recording(701))
    fresh_server.set_fault(status=400, body="values refused", count=2)
    if fails == "rename":
        monkeypatch.setattr(ei_spool, "os", FullOnRename())
    else:
        monkeypatch.setattr(ei_spool, "open", full_in_failed, raising=False)
    for _ in range(2):  # a collect loop: the error is clear, the next cycle goes on
        with pytest.raises(ei_spool.SpoolError) as e:
            spool.flush(plain_client(fresh_server.port))
        assert "stays pending" in str(e.value) and "flash is full" in str(e.value)
        assert "values refused" in str(e.value)
        assert len(spool) == 2 and files(tmp_path / "s" / "failed") == []
    monkeypatch.undo()
    assert make_spool(tmp_path / "s").flush(plain_client(fresh_server.port)) == 2
    assert sorted(server_ids(fresh_server)) == [700, 701]
