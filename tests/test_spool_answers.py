"""Nothing lost: a recording leaves the spool only when the ingestion API says it is stored.

Each case runs the same steps (tests/scenarios/spool_steps.py) in the micropython interpreter and
in CPython, against the local server (a real process) or a raw server that answers exactly the
bytes given (a captive portal, a redirect). The server's listing is the oracle for what arrived.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from daq import decode, rows
from harness import SCENARIOS, run_cpython, run_micropython
from rawserver import RawServer, http
from serverproc import ServerProc

RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}
PORTAL = http(
    200, b"<html><title>Cafe Wi-Fi</title>Accept the terms</html>", "Content-Type: text/html"
)


def steps(
    runtime: str, tmp_path: Path, todo: list[dict[str, Any]], **spec: Any
) -> list[dict[str, Any]]:
    spec.setdefault("dir", "/flash/spool" if spec.get("lfs_blocks") else str(tmp_path / "s"))
    spec["steps"] = todo
    path = tmp_path / f"steps-{runtime}.json"
    path.write_text(json.dumps(spec))
    proc = RUNTIMES[runtime](SCENARIOS / "spool_steps.py", str(path), timeout=120)
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def ids_on(server: ServerProc, device: str | None = None) -> list[int]:
    """Recording ids (spool_common writes them into the values) the server stored, in order."""
    out = []
    for sample in sorted(server.samples(), key=lambda s: s["id"]):
        if sample["contentType"] != "application/octet-stream":  # audio has no id in it
            out.append(ids_on_one(server, sample))
    return out


def put(rid: int, **options: Any) -> dict[str, Any]:
    return {"op": "put", "rid": rid, "options": options}


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_wrong_key_strands_nothing(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    base = 1000 if runtime == "mpy" else 2000
    wrong = {"op": "flush", "port": server.port, "api_key": "ei_typo"}
    out = steps(runtime, tmp_path, [
        put(base), put(base + 1), put(base + 2), wrong, wrong, wrong,
        {"op": "flush", "port": server.port},
    ])  # fmt: skip
    for s in out[3:6]:
        assert s["error"][0] == "AuthError" and s["pending"] == 3 and s["failed"] == [], s
    assert out[6]["ret"] == 3 and out[6]["pending"] == 0 and out[6]["failed_files"] == []
    assert [i for i in ids_on(server) if base <= i < base + 3] == [base, base + 1, base + 2]


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
@pytest.mark.parametrize(
    "answer,kind,words",
    [
        (PORTAL, "UnexpectedAnswer", "Cafe Wi-Fi"),
        (http(302, b"", "Location: http://10.0.0.1/login"), "UnexpectedAnswer", "10.0.0.1/login"),
        (http(301, b"", "Location: https://x/"), "UnexpectedAnswer", "https://x/"),
        (http(200, b'{"success":true}'), "UnexpectedAnswer", "not listed"),
        (http(403, b"Forbidden"), "AuthError", "Forbidden"),
        (http(404, b"Not Found"), "IngestionError", "Not Found"),
        (http(421, b"Missing x-file-name"), "MissingHeaderError", "x-file-name"),
    ],
)
def test_answers_that_are_not_a_stored_file_keep_it(
    server: ServerProc, runtime: str, tmp_path: Path, answer: bytes, kind: str, words: str
) -> None:
    rid = 3000 + (abs(hash((runtime, answer))) % 20000)
    with RawServer([answer]) as raw:
        out = steps(runtime, tmp_path, [
            put(rid, label="portal"), {"op": "flush", "port": raw.port},
            {"op": "flush", "port": raw.port}, {"op": "restart"},
            {"op": "flush", "port": server.port},
        ])  # fmt: skip
    for s in out[1:3]:
        assert s["error"][0] == kind and words in s["error"][1], s
        assert s["pending"] == 1 and s["failed"] == [] and "00000001.s" in s["files"], s
    assert out[4]["ret"] == 1 and out[4]["files"] == ["failed"], out[4]
    assert ids_on(server).count(rid) == 1


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_duplicate_in_a_200_answer(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    dup = http(200, b'{"success":false,"error":"An item with this hash already exists"}')
    with RawServer([http(500, b"try later"), dup, dup]) as raw:
        out = steps(runtime, tmp_path, [
            put(4000), {"op": "flush", "port": raw.port},  # sent once: its answer was a 500
            {"op": "flush", "port": raw.port},  # sent before, already there: delivered
            put(4001), {"op": "flush", "port": raw.port},  # never sent, already there: refused
        ])  # fmt: skip
    assert out[1]["error"][0] == "ServerError" and out[1]["pending"] == 1
    assert out[2]["error"] is None and out[2]["ret"] == 1 and out[2]["failed"] == []
    assert out[4]["ret"] == 0 and out[4]["pending"] == 0
    ((seq, why),) = out[4]["failed"]
    assert seq == 2 and "already exists" in why


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_same_arguments_as_upload_same_result(
    server: ServerProc, runtime: str, tmp_path: Path
) -> None:
    base = 5000 if runtime == "mpy" else 5100
    server.clear_requests_seen()
    out = steps(runtime, tmp_path, [
        put(base),  # no label, no filename: unlabelled, as Client.upload(rec) stores it
        put(base + 1, path="/api/testing/data", label="remote"),
        put(base + 2, category="anomaly", fmt="json", filename="walk.json"),
        {"op": "flush", "port": server.port},
        {"op": "put", "rid": base, "audio": True, "options": {"label": "noise"}},
        {"op": "flush", "port": server.port},
    ])  # fmt: skip
    assert out[3]["ret"] == 3 and out[5]["ret"] == 1, out
    audio = [s for s in server.samples() if s["contentType"] == "application/octet-stream"]
    assert [(s["label"], s["rows"]) for s in audio if s["deviceName"] == "steps"][-1] == (
        "noise",
        400,
    )
    assert server.requests_seen()[-1]["path"] == "/api/training/data", "binary goes to /data"
    stored = {ids_on_one(server, s): s for s in server.samples() if s not in audio}
    assert stored[base]["label"] in (None, "") and stored[base]["category"] == "training"
    assert (stored[base + 1]["label"], stored[base + 1]["category"]) == ("remote", "testing")
    assert (stored[base + 2]["label"], stored[base + 2]["category"]) == ("walk", "anomaly")
    paths = [r["path"] for r in server.requests_seen()[-4:-1]]
    assert paths == ["/api/training/files", "/api/testing/data", "/api/anomaly/files"]


def ids_on_one(server: ServerProc, sample: dict[str, Any]) -> int:
    got = rows(decode(server.raw(sample["id"])))
    return int(got[0][0]) + 30000 * int(got[0][1])


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_failed_files_count_and_come_back(server: ServerProc, runtime: str, tmp_path: Path) -> None:
    base = 6000 if runtime == "mpy" else 6100
    refuse = http(400, b'{"success":false,"error":"sensors: units missing"}')
    with RawServer([refuse]) as raw:
        out = steps(runtime, tmp_path, [
            put(base), put(base + 1),
            {"op": "flush", "port": raw.port},  # both refused: failed/, with the API's words
            put(base + 2),  # no room: failed files count in max_bytes
            {"op": "restart"},
            {"op": "requeue", "seq": 1}, {"op": "flush", "port": server.port},
            {"op": "discard"}, put(base + 2), {"op": "flush", "port": server.port},
        ], max_bytes=1800)  # fmt: skip
    assert out[2]["ret"] == 0 and [s for s, _ in out[2]["failed"]] == [1, 2]
    assert all("units missing" in why for _, why in out[2]["failed"])
    assert out[2]["failed_bytes"] > 0 and out[2]["used"] == 0
    assert out[3]["error"][0] == "SpoolFull" and "requeue" in out[3]["error"][1], out[3]
    assert out[4]["failed"] == out[2]["failed"], "failed/ survives a restart with its reasons"
    assert out[5]["ret"] == 1 and out[5]["pending"] == 1 and [s for s, _ in out[5]["failed"]] == [2]
    assert out[6]["ret"] == 1
    assert out[7]["ret"] == 1 and out[7]["failed"] == [] and out[7]["failed_files"] == []
    assert out[9]["ret"] == 1
    assert [i for i in ids_on(server) if base <= i < base + 3] == [base, base + 2]


def test_flash_full_while_moving_to_failed_is_a_clear_error(
    server: ServerProc, tmp_path: Path
) -> None:
    refuse = http(400, b'{"success":false,"error":"bad values"}')
    with RawServer([http(503, b"busy"), refuse]) as raw:
        out = steps("mpy", tmp_path, [
            put(7000), {"op": "flush", "port": raw.port},  # sent once (503): now a .s file
            {"op": "flash_full", "on": True},
            {"op": "flush", "port": raw.port},  # refused, but no room for the reason
            {"op": "flush", "port": raw.port},
            put(7001),  # sampling goes on: the next put is told the flash is full
            {"op": "flash_full", "on": False}, {"op": "restart"},
            {"op": "flush", "port": raw.port},
        ], lfs_blocks=64)  # fmt: skip
    assert out[1]["error"][0] == "ServerError"
    for s in out[3:5]:
        err = s["error"]
        assert err[0] == "SpoolError" and "stays pending" in err[1], err
        assert "bad values" in err[1] and "flash is full" in err[1], err
        assert s["pending"] == 1 and s["failed_files"] == [], s
    assert out[5]["error"][0] == "SpoolFull" and "flash is full" in out[5]["error"][1], out[5]
    assert out[7]["pending"] == 1 and out[7]["failed"] == [], "nothing half-moved on flash"
    assert out[8]["ret"] == 0 and out[8]["pending"] == 0, out[8]
    ((seq, why),) = out[8]["failed"]
    assert seq == 1 and "bad values" in why


def on_disk(where: Path) -> int:
    """Bytes of a spool directory's recordings (metadata and data; not the reasons)."""
    exts = (".m", ".s", ".cbor", ".json")
    return sum(p.stat().st_size for p in where.iterdir() if p.suffix in exts)


@pytest.mark.usefixtures("quiet")
def test_failed_by_hand_keeps_the_byte_counts(
    server: ServerProc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In CPython, Spool.requeue and discard (ei_spool_failed) on refused recordings: counts
    as on disk after each move (a fresh Spool's scan agrees), numbers that are not in failed/
    refused by name, a recording whose data was lost listed and discarded too, and a requeued
    one sent in its old place, before later recordings."""
    import ei_http
    import ei_spool
    import spool_common

    path = tmp_path / "s"

    def fresh() -> Any:
        return ei_spool.Spool(
            str(path), hmac_key=spool_common.HMAC_KEY, device_type="SIM", device_name="byhand"
        )

    spool = fresh()
    for rid in (7001, 7002, 7003):
        spool.put(spool_common.recording(rid), label="by hand")
    refuse = http(400, b'{"success":false,"error":"sensors: units missing"}')
    with RawServer([refuse]) as raw:
        client = ei_http.Client(
            spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1",
            port=raw.port, tls=False, timeout=5,
        )  # fmt: skip
        assert spool.flush(client) == 0
    assert [s for s, _ in spool.failed()] == [1, 2, 3] and spool.used == 0
    assert spool.failed_bytes == on_disk(path / "failed") > 0
    for bad in (9, 0):
        for move in (spool.requeue, spool.discard):
            with pytest.raises(ValueError) as err:
                move(bad)
            assert str(err.value) == f"no failed recording {bad} in {path}/failed"
    with monkeypatch.context() as m:  # the flash fails the move: a SpoolError, nothing moved

        def full(*args: Any) -> None:
            raise OSError(28, "No space left on device")

        m.setattr(os, "rename", full)
        with pytest.raises(ei_spool.SpoolError) as failed:
            spool.requeue(2)
    assert str(failed.value) == f"spool {path}: the flash is full in failed/"
    assert len(spool) == 0 and [s for s, _ in spool.failed()] == [1, 2, 3]
    assert spool.requeue(2) == 1 and len(spool) == 1
    assert spool.used == on_disk(path) > 0
    assert spool.failed_bytes == on_disk(path / "failed") > 0
    again = fresh()
    assert (again.used, again.failed_bytes) == (spool.used, spool.failed_bytes)
    assert spool.discard(3) == 1 and [s for s, _ in spool.failed()] == [1]
    assert spool.failed_bytes == on_disk(path / "failed") > 0
    # Recording 2's data lost from flash: the next start moves it to failed/, listed with why.
    (path / "00000002.cbor").unlink()
    spool = fresh()
    assert spool.failed() == [
        (1, "refused: HTTP 400: sensors: units missing"),
        (2, "data file missing"),
    ]
    assert spool.used == 0 and spool.failed_bytes == on_disk(path / "failed")
    assert spool.discard(2) == 1 and [s for s, _ in spool.failed()] == [1]
    # A requeued recording goes back to its place in the order, before later ones.
    spool.put(spool_common.recording(7004))
    spool.put(spool_common.recording(7005))
    assert spool.requeue() == 1 and spool.failed() == [] and spool.failed_bytes == 0
    assert spool.used == on_disk(path) and len(spool) == 3
    client = ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1",
        port=server.port, tls=False, timeout=5,
    )  # fmt: skip
    assert spool.flush(client) == 3 and spool.used == 0
    assert [i for i in ids_on(server) if 7001 <= i <= 7005] == [7001, 7004, 7005]
    assert sorted(p.name for p in (path / "failed").iterdir()) == []


@pytest.mark.usefixtures("quiet")
def test_metadata_from_before_0_2_is_sent_as_it_was_meant(
    server: ServerProc, tmp_path: Path
) -> None:
    """A spool written by ei_ingest before 0.2 (metadata with label, category, fmt, filename,
    metadata, size, sha256): flushed with those options, duplicates disallowed and no date id,
    as then; a recording without a label says so (x-no-label)."""
    import ei_http
    import ei_spool
    import spool_common

    path = tmp_path / "s"
    spool = ei_spool.Spool(str(path), hmac_key=spool_common.HMAC_KEY, device_type="SIM")
    olds: list[dict[str, Any]] = [
        dict(label="old one", category="testing", filename="old-7101.cbor", metadata={"v": "0.1"}),
        dict(label=None, category="training", filename="old-7102.cbor", metadata=None),
    ]
    for rid, old in zip((7101, 7102), olds, strict=True):
        seq = spool.put(spool_common.recording(rid))
        meta = path / f"{seq:08d}.m"
        now = json.loads(meta.read_text())
        meta.write_text(json.dumps(dict(old, fmt="cbor", size=now["size"], sha256=now["sha256"])))
    spool = ei_spool.Spool(str(path), hmac_key=spool_common.HMAC_KEY, device_type="SIM")
    client = ei_http.Client(
        spool_common.API_KEY, spool_common.HMAC_KEY, "SIM", host="127.0.0.1",
        port=server.port, tls=False, timeout=5,
    )  # fmt: skip
    server.clear_requests_seen()
    assert spool.flush(client) == 2 and spool.failed() == []
    seen = [r for r in server.requests_seen() if r["outcome"] == 200]
    heads = [{k.lower(): v for k, v in r["headers"].items()} for r in seen]
    assert [h.get("x-disallow-duplicates") for h in heads] == ["1", "1"]
    assert [h.get("x-add-date-id") for h in heads] == [None, None]
    assert [h.get("x-label") for h in heads] == ["old%20one", None]
    assert [h.get("x-no-label") for h in heads] == [None, "1"]
    stored = {s["fileName"]: s for s in server.samples() if s["fileName"].startswith("old-71")}
    assert sorted(stored) == ["old-7101.cbor", "old-7102.cbor"]
    first = stored["old-7101.cbor"]
    assert (first["label"], first["category"], first["metadata"]) == (
        "old one", "testing", {"v": "0.1"},
    )  # fmt: skip
    assert stored["old-7102.cbor"]["category"] == "training"
