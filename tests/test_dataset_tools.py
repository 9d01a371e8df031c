"""tools/dataset.py: export in Edge Impulse's layout (read back by the official Python SDK),
and push to another ingestion server: progress, summary, re-sign, resume after a kill.

Every target is a second real local server; the source server keeps running throughout (the
tools read its data directory read-only).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daq import decode, signature_valid
from harness import ROOT, read_terminal
from samplefiles import daq_doc, small_values, upload_all
from serverproc import ServerProc, sign_json

DATASET = ROOT / "tools" / "dataset.py"
SOURCE_HMAC = "source_hmac_key_for_dataset_tests"
TARGET_HMAC = "target_hmac_key_for_dataset_tests"
TARGET_API = "ei_target_api_key_dataset_tests_0123"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    base = tmp_path_factory.mktemp("source")
    with ServerProc(base / "data", api_key="ei_source_api_key_dataset_0123",
                    hmac_key=SOURCE_HMAC) as proc:  # fmt: skip
        upload_all(proc, big_rows=3000)
        # Same file name in one category, different labels: the export must keep both.
        for label in ("left", "right"):
            doc = daq_doc(small_values(), [(f"t-{label}", "Cel"), ("hum", "%RH")], 20, label)
            body = sign_json(doc, SOURCE_HMAC)
            result = proc.post_data("training", body, file_name="same.json",
                                    headers={"x-label": label})  # fmt: skip
            assert result.status == 200
        yield proc


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, str(DATASET), *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env=dict(os.environ, **(env or {})),
    )  # fmt: skip


def no_keys(text: str, *servers: ServerProc) -> None:
    for server in servers:
        assert server.api_key not in text
        assert str(server.hmac_key) not in text


def by_hash(server: ServerProc) -> dict[str, dict[str, Any]]:
    return {hashlib.sha256(server.raw(s["id"])).hexdigest(): s for s in server.samples()}


# --- export ------------------------------------------------------------------------------------


def test_export_layout(source: ServerProc, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = run("export", str(out), "--data-dir", str(source.data_dir))
    assert result.returncode == 0, result.stderr
    assert f"exported 8 samples (1 anomaly, 2 testing, 5 training) to {out}" in result.stdout
    info = json.loads((out / "info.labels").read_text())
    assert info["version"] == 1
    files = {f["path"]: f for f in info["files"]}
    listing = {s["id"]: s for s in source.samples()}
    assert len(files) == len(listing) == 8
    for entry in info["files"]:
        assert set(entry) == {"path", "name", "category", "label", "metadata", "boundingBoxes"}
        category, name = entry["path"].split("/")
        assert category == entry["category"] and name.startswith(entry["name"])
        assert entry["boundingBoxes"] == []
    for sample in listing.values():
        matches = [f for f in info["files"] if (out / f["path"]).read_bytes() ==
                   source.raw(sample["id"])]  # fmt: skip
        assert len(matches) == 1, sample["fileName"]
        entry = matches[0]
        assert entry["category"] == sample["category"]
        assert entry["metadata"] == sample["metadata"]
        expected = (
            {"type": "label", "label": sample["label"]}
            if sample["label"]
            else {"type": "unlabeled"}
        )
        assert entry["label"] == expected
    same = sorted(p for p in files if "same" in p)
    assert len(same) == 2 and "training/same.json" in same  # the second got its id inserted
    assert files["training/motion.big.cbor"]["metadata"] == {"site": "lab 3", "run": "1"}
    assert files["anomaly/photo.01.png"]["label"] == {"type": "unlabeled"}
    no_keys(result.stdout + result.stderr + (out / "info.labels").read_text(), source)


def test_export_refuses_a_non_empty_directory(source: ServerProc, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("export", str(out), "--data-dir", str(source.data_dir))
    assert result.returncode == 2 and "not an empty directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]  # no partial export left
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    missing = run("export", str(tmp_path / "x"), "--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no sample index" in missing.stderr


SDK_SCRIPT = r"""
import json, sys
from edgeimpulse.data import upload_exported_dataset
response = upload_exported_dataset(sys.argv[1])
print(json.dumps({"ok": len(response.successes), "fails": [str(f) for f in response.fails]}))
"""


def test_official_sdk_uploads_the_export_to_a_second_server(
    source: ServerProc, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    assert run("export", str(out), "--data-dir", str(source.data_dir)).returncode == 0
    with ServerProc(tmp_path / "target", api_key=TARGET_API, hmac_key=SOURCE_HMAC) as target:
        env = dict(os.environ, EI_INGESTION_ENDPOINT=target.url, EI_API_KEY=target.api_key)
        proc = subprocess.run([sys.executable, "-c", SDK_SCRIPT, str(out)], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        assert report == {"ok": 8, "fails": []}
        there, here = by_hash(target), by_hash(source)
        assert there.keys() == here.keys(), "the same files, byte for byte"
        for digest, mine in here.items():
            theirs = there[digest]
            for field in ("category", "metadata", "signature", "rows", "sensors", "intervalMs",
                          "deviceType", "deviceName", "contentType"):  # fmt: skip
                assert theirs[field] == mine[field], (mine["fileName"], field)
            if mine["label"] is None:
                # The SDK sends no x-no-label: the service infers a label from the file name.
                assert theirs["label"] == "photo"
            else:
                assert theirs["label"] == mine["label"]
            if mine["contentType"].startswith("application/"):
                assert decode(target.raw(theirs["id"])) == decode(source.raw(mine["id"]))


# --- push --------------------------------------------------------------------------------------


def push_env(target: ServerProc) -> dict[str, str]:
    return {"EI_INGESTION_ENDPOINT": target.url, "EI_API_KEY": target.api_key}


def test_push_then_again_sends_nothing_twice(source: ServerProc, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "t", api_key=TARGET_API, hmac_key=TARGET_HMAC) as target:
        first = run("push", "--data-dir", str(source.data_dir), env=push_env(target))
        assert first.returncode == 0, first.stderr
        assert f"pushed to {target.url}: 8 sent, 0 already there, 0 failed (8 samples)" in (
            first.stdout
        )
        again = run("push", "--data-dir", str(source.data_dir), env=push_env(target))
        assert again.returncode == 0
        assert "0 sent, 8 already there, 0 failed" in again.stdout
        there, here = by_hash(target), by_hash(source)
        assert there.keys() == here.keys() and len(target.samples()) == 8
        for digest, mine in here.items():
            theirs = there[digest]
            assert (theirs["label"], theirs["category"], theirs["metadata"]) == (
                mine["label"], mine["category"], mine["metadata"],
            )  # fmt: skip
        signed = [s for s in target.samples() if s["signature"] not in ("none",)]
        assert signed and {s["signature"] for s in signed} == {"invalid"}, "not re-signed"
        seen = target.requests_seen()
        assert {r["headers"]["x-disallow-duplicates"] for r in seen} == {"1"}
        unlabeled = [s for s in target.samples() if s["fileName"] == "photo.01.png"]
        assert unlabeled[0]["label"] is None, "x-no-label keeps it unlabeled"
        no_keys(first.stdout + first.stderr + again.stdout + again.stderr, source, target)


def test_push_resigns_over_https_with_values_unchanged(source: ServerProc, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "t", api_key=TARGET_API, hmac_key=TARGET_HMAC,
                    tls_self_signed=True) as target:  # fmt: skip
        ca = target.data_dir / "tls" / "ca.pem"
        result = run("push", "--data-dir", str(source.data_dir), "--ca-file", str(ca),
                     "--resign", env=dict(push_env(target), EI_HMAC_KEY=TARGET_HMAC))  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "8 sent, 0 already there, 0 failed (8 samples, 5 re-signed)" in result.stdout
        mine = {(s["label"], s["deviceName"]): s for s in source.samples()}
        assert len(mine) == len(target.samples()) == 8
        for theirs in target.samples():
            original = mine[(theirs["label"], theirs["deviceName"])]
            raw_there, raw_here = target.raw(theirs["id"]), source.raw(original["id"])
            if original["signature"] == "valid":
                assert theirs["signature"] == "valid"
                assert signature_valid(raw_there, TARGET_HMAC)
                assert not signature_valid(raw_there, SOURCE_HMAC)
                assert decode(raw_there)["payload"] == decode(raw_here)["payload"]
                assert len(raw_there) == len(raw_here)
                differing = [i for i, (a, b) in enumerate(zip(raw_there, raw_here, strict=True))
                             if a != b]  # fmt: skip
                assert differing and max(differing) - min(differing) < 64, "only the signature"
            else:
                assert raw_there == raw_here
        no_keys(result.stdout + result.stderr, source, target)


def test_push_killed_halfway_then_run_again_delivers_each_once(
    source: ServerProc, tmp_path: Path
) -> None:
    with ServerProc(tmp_path / "t", api_key=TARGET_API, hmac_key=TARGET_HMAC) as target:
        cmd = [sys.executable, str(DATASET), "push", "--data-dir", str(source.data_dir)]
        env = dict(os.environ, **push_env(target))
        target.set_fault(stall_seconds=0.3, count=8)  # a slow link: the kill lands mid-push
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(target.samples()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        target.clear_faults()
        target.set_fault(stall_seconds=2, count=1)  # the next file is in flight when killed
        while time.monotonic() < deadline and not any(
            r.get("fault", {}).get("stall_seconds") == 2 for r in target.requests_seen()
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        stored_at_kill = len(target.samples())
        assert 3 <= stored_at_kill < 8, "killed halfway"
        target.clear_faults()
        again = run("push", "--data-dir", str(source.data_dir), env=push_env(target))
        assert again.returncode == 0, again.stderr
        while time.monotonic() < deadline and any(
            r["outcome"] is None for r in target.requests_seen()
        ):
            time.sleep(0.05)  # the stalled request finishes on its own
        hashes = [hashlib.sha256(target.raw(s["id"])).hexdigest() for s in target.samples()]
        assert sorted(hashes) == sorted(by_hash(source)), "everything there exactly once"
        assert "0 failed (8 samples)" in again.stdout
        sent = int(again.stdout.split(": ")[1].split(" sent")[0])
        assert sent <= 8 - stored_at_kill + 1


def test_push_with_a_wrong_key_stops_at_once(source: ServerProc, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "t", api_key=TARGET_API) as target:
        wrong = "ei_wrong_target_key_0000000000"
        result = run("push", "--data-dir", str(source.data_dir),
                     env={"EI_INGESTION_ENDPOINT": target.url, "EI_API_KEY": wrong})  # fmt: skip
        assert result.returncode == 2
        assert f"{target.url} refused the API key" in result.stderr
        assert target.samples() == [] and len(target.requests_seen()) == 1
        assert wrong not in result.stdout + result.stderr
        no_key = run("push", "--data-dir", str(source.data_dir),
                     env={"EI_API_KEY": "", "EI_INGESTION_ENDPOINT": target.url})  # fmt: skip
        assert no_key.returncode != 0 and "no API key: set EI_API_KEY" in no_key.stderr


def test_push_shows_a_progress_bar_on_a_terminal(source: ServerProc, tmp_path: Path) -> None:
    with ServerProc(tmp_path / "t", api_key=TARGET_API) as target:
        env = dict(os.environ, **push_env(target))
        pid, fd = pty.fork()
        if pid == 0:  # the child: stdout and stderr are the terminal, 100 columns wide
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, str(DATASET), "push", "--data-dir",
                                       str(source.data_dir)], env)  # fmt: skip
        output = read_terminal(fd).decode("utf-8", "replace")
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert "100%" in output and "8/8" in output and "sample" in output
    assert "8 sent, 0 already there, 0 failed" in output
    no_keys(output, source, target)
