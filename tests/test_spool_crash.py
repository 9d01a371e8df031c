"""Crash at every step: the power goes at each file operation of put, flush, requeue and
discard in turn, and after the restart every recording is pending (whole), failed (with its
reason) or stored exactly once; never gone, never twice, never both.

The spool runs in-process (CPython) on the host's file system. Its file operations (rename,
remove, mkdir, open for writing, every write) are counted; at step k the operation fails and
every later one too: a dead process writes nothing more, so no cleanup code gets to run. A torn
write keeps half of its bytes. The restart is a new Spool on the same directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ei_ingest
import ei_spool
import ei_spool_failed
import pytest
import spool_common
from ei_errors import DuplicateError, InvalidError


class Crash(BaseException):
    """The power went: not an Exception, so no `except OSError` cleanup catches it."""


class Flash:
    """The file operations the spool makes, counted; at `kill_at` the power goes."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at
        self.steps = 0
        self.dead = False

    def step(self) -> None:
        if self.dead:
            raise Crash
        self.steps += 1
        if self.steps == self.kill_at:
            self.dead = True
            raise Crash


class CountedOs:
    def __init__(self, flash: Flash) -> None:
        self.flash = flash
        self.stat = os.stat
        self.listdir = os.listdir

    def rename(self, a: str, b: str) -> None:
        self.flash.step()
        os.rename(a, b)

    def remove(self, path: str) -> None:
        self.flash.step()
        os.remove(path)

    def mkdir(self, path: str) -> None:
        self.flash.step()
        os.mkdir(path)


class CountedFile:
    def __init__(self, f: Any, flash: Flash) -> None:
        self.f = f
        self.flash = flash

    def write(self, data: Any) -> int:
        data = bytes(data) if not isinstance(data, str) else data
        try:
            self.flash.step()
        except Crash:
            self.f.write(data[: len(data) // 2])  # a torn write
            self.f.flush()
            raise
        return int(self.f.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)

    def __enter__(self) -> CountedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def counted_open(flash: Flash) -> Callable[..., Any]:
    def _open(path: str, mode: str = "r", *args: Any) -> Any:
        if "w" in mode or "a" in mode:
            flash.step()
            return CountedFile(open(path, mode, *args), flash)  # noqa: SIM115
        return open(path, mode, *args)  # noqa: SIM115

    return _open


class Server:
    """The ingestion API in miniature: stores by content, refuses duplicates (as with
    x-disallow-duplicates) and files labelled "refuse"."""

    def __init__(self) -> None:
        self.stored: Counter[str] = Counter()

    def send_file(self, path: str, opts: dict[str, Any]) -> str:
        raw = Path(path).read_bytes()
        assert len(raw) == opts["size"] and hashlib.sha256(raw).hexdigest() == opts["sha256"]
        if opts["label"] == "refuse":
            raise InvalidError(400, "refused by the test")
        digest = hashlib.sha256(raw).hexdigest()
        if self.stored[digest]:
            raise DuplicateError(400, "duplicate: already stored")
        self.stored[digest] += 1
        return opts["name"]


pytestmark = pytest.mark.usefixtures("quiet")  # the failures here are expected


def spool_at(path: Path) -> ei_spool.Spool:
    return ei_spool.Spool(
        str(path), max_bytes=1 << 20, hmac_key=spool_common.HMAC_KEY, device_type="SIM"
    )


def content(rid: int) -> str:
    """The sha256 a put of recording `rid` writes (the same bytes every time)."""
    probe = spool_common.recording(rid)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"crash-probe-{os.getpid()}-{rid}.cbor"
    ei_ingest.dump(probe, str(out), "cbor", spool_common.HMAC_KEY, "SIM")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()
    return digest


def state(path: Path, server: Server) -> dict[int, str]:
    """Restart, then where each recording is: "pending", "failed", "stored" (by content id).
    Also checks what must hold for each: whole files, a reason, no leftovers, stored once."""
    spool = spool_at(path)
    where: dict[int, str] = {}
    names = sorted(os.listdir(path))
    assert not [n for n in names if n.endswith(".tmp")], names
    for seq in spool._pending:
        meta = next(m for m in (".m", ".s") if (path / f"{seq:08d}{m}").exists())
        opts = json.loads((path / f"{seq:08d}{meta}").read_text())
        raw = (path / f"{seq:08d}.cbor").read_bytes()
        assert hashlib.sha256(raw).hexdigest() == opts["sha256"], "pending files are whole"
        where[_rid(raw)] = "pending"
    for seq, why in spool.failed():
        assert why, "a failed recording has its reason"
        raw = (path / "failed" / f"{seq:08d}.cbor").read_bytes()
        rid = _rid(raw)
        assert rid not in where, f"recording {rid} both pending and failed"
        where[rid] = "failed"
    pending_bytes = sum(f.stat().st_size for f in path.glob("[0-9]*") if f.is_file())
    failed = [f for f in (path / "failed").glob("[0-9]*") if f.suffix != ".why"]
    failed_bytes = sum(f.stat().st_size for f in failed)  # the reasons are not counted
    assert (spool.used, spool.failed_bytes) == (pending_bytes, failed_bytes), "every byte counted"
    for digest, times in server.stored.items():
        assert times == 1, "stored twice"
        rid = RIDS[digest]
        if where.get(rid) == "pending":
            where[rid] = "pending+stored"  # delivered, its metadata not yet removed: resent later
        else:
            assert rid not in where, f"recording {rid} stored and {where[rid]}"
            where[rid] = "stored"
    return where


RIDS: dict[str, int] = {}


def _rid(raw: bytes) -> int:
    return RIDS[hashlib.sha256(raw).hexdigest()]


def setup(path: Path, server: Server) -> None:
    """A pending recording (11), one sent once (12, answer lost), a failed one (13)."""
    for rid in (10, 11, 12, 13, 14):
        RIDS.setdefault(content(rid), rid)
    spool = spool_at(path)
    spool.put(spool_common.recording(13), label="refuse")
    spool.flush(server)  # 13 -> failed/
    spool.put(spool_common.recording(11), label="a")
    spool.put(spool_common.recording(12), label="b")
    os.rename(path / "00000003.m", path / "00000003.s")  # sent once, its answer lost


def crash_run(
    tmp_path: Path, k: int | None, action: Callable[[ei_spool.Spool, Server], Any]
) -> tuple[dict[int, str], Server, int]:
    path = tmp_path / f"k{k}"
    server = Server()
    setup(path, server)
    spool = spool_at(path)
    flash = Flash(k)
    patches = pytest.MonkeyPatch()
    patches.setattr(ei_spool, "os", CountedOs(flash))
    patches.setattr(ei_spool_failed, "os", CountedOs(flash))
    patches.setattr(ei_spool, "open", counted_open(flash), raising=False)
    patches.setattr(ei_ingest, "os", CountedOs(flash))
    patches.setattr(ei_ingest, "open", counted_open(flash), raising=False)
    try:
        action(spool, server)
    except Crash:
        assert k is not None
    finally:
        patches.undo()
    return state(path, server), server, flash.steps


def check_every_step(
    tmp_path: Path, action: Callable[[ei_spool.Spool, Server], Any], allowed: dict[int, set[str]]
) -> None:
    _, _, total = crash_run(tmp_path, None, action)
    assert total >= 3, "the action made file operations"
    seen: dict[int, set[str]] = {rid: set() for rid in allowed}
    for k in range(1, total + 2):  # before each step, and after the last
        where, server, _ = crash_run(tmp_path, k, action)
        for rid, ok in allowed.items():
            place = where.get(rid, "gone")
            assert place in ok, f"crash at step {k}: recording {rid} is {place}"
            seen[rid].add(place)
        # And after the restart, a flush that works settles everything exactly once.
        spool_at(tmp_path / f"k{k}").flush(server)
        for rid, place in state(tmp_path / f"k{k}", server).items():
            assert place in ("stored", "failed"), f"after the restart, {rid} is {place}"
    assert any(len(s) > 1 for s in seen.values()), f"the crashes landed in one state only: {seen}"


def test_put_at_every_step(tmp_path: Path) -> None:
    check_every_step(
        tmp_path,
        lambda spool, server: spool.put(spool_common.recording(14), label="new"),
        {11: {"pending"}, 12: {"pending"}, 13: {"failed"}, 14: {"gone", "pending"}},
    )


def test_flush_at_every_step(tmp_path: Path) -> None:
    def action(spool: ei_spool.Spool, server: Server) -> None:
        spool.put(spool_common.recording(14), label="refuse")  # this one the API refuses
        spool.flush(server)

    check_every_step(
        tmp_path,
        action,
        {
            11: {"pending", "pending+stored", "stored"},
            12: {"pending", "pending+stored", "stored"},
            13: {"failed"},
            14: {"gone", "pending", "failed"},
        },
    )


def test_requeue_at_every_step(tmp_path: Path) -> None:
    check_every_step(
        tmp_path,
        lambda spool, server: spool.requeue(),
        {11: {"pending"}, 12: {"pending"}, 13: {"failed", "pending"}},
    )


def test_discard_at_every_step(tmp_path: Path) -> None:
    check_every_step(
        tmp_path,
        lambda spool, server: spool.discard(),
        {11: {"pending"}, 12: {"pending"}, 13: {"failed", "gone"}},
    )
