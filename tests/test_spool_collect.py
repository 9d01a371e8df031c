"""examples/collect.py on the micropython sim board: sample, spool, flush when online, resume
after a reset. config.py is written for each run; the local server is the oracle."""

from __future__ import annotations

from pathlib import Path

from daq import decode, rows, signature_valid
from harness import ROOT, refusing_port, run_micropython
from serverproc import ServerProc

EXAMPLE = ROOT / "examples" / "collect.py"


def write_config(directory: Path, server: ServerProc, port: int, spool: Path) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "config.py").write_text(
        f"WIFI_SSID = 'lab'\nWIFI_PASSWORD = 'secret-pw'\nAPI_KEY = {server.api_key!r}\n"
        f"HMAC_KEY = {server.hmac_key!r}\nHOST = '127.0.0.1'\nPORT = {port}\nTLS = False\n"
        f"LABEL = 'walk'\nCATEGORY = 'testing'\nINTERVAL_MS = 10\nROWS = 20\n"
        f"SPOOL_DIR = {str(spool)!r}\nUPLOAD_ATTEMPTS = 2\nUPLOAD_TOTAL_MS = 2000\n"
    )


def collect(config_dir: Path, cycles: int, wifi: str = "ok") -> str:
    proc = run_micropython(
        EXAMPLE, str(cycles), timeout=60,
        env={"MICROPYPATH": f"{config_dir}:lib:boards/sim:.frozen", "EI_SIM_WIFI": wifi},
    )  # fmt: skip
    out = proc.stdout.decode()
    assert "secret-pw" not in out and "Traceback" not in out
    return out


def check_samples(server: ServerProc, count: int) -> None:
    samples = server.samples()
    assert len(samples) == count
    contents = set()
    for sample in samples:
        assert sample["label"] == "walk" and sample["category"] == "testing"
        assert sample["deviceType"] == "SIM" and sample["signature"] == "valid"
        raw = server.raw(sample["id"])
        assert signature_valid(raw, server.hmac_key or "")
        got = rows(decode(raw))
        assert len(got) == 20 and len(got[0]) == 6
        contents.add(raw)
    assert len(contents) == count


def test_collect_waits_offline_then_uploads(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with ServerProc(tmp_path / "data") as server:
        write_config(tmp_path / "cfg", server, server.port, spool)
        # The first two Wi-Fi attempts find no access point: recordings wait on flash.
        out = collect(tmp_path / "cfg", 4, wifi="flaky:2")
        assert out.count("offline") == 2, out
        assert "recording 2 stored as 2, 2 waiting" in out
        assert "3 uploaded, 0 waiting" in out, out
        check_samples(server, 4)
    assert sorted(p.name for p in spool.iterdir()) == ["failed"]


def test_collect_resumes_after_a_reset(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with ServerProc(tmp_path / "data") as server:
        # Online, but the server cannot be reached: the uploads pause, the files stay.
        with refusing_port() as port:
            write_config(tmp_path / "cfg", server, port, spool)
            out = collect(tmp_path / "cfg", 3)
        assert out.count("upload paused") == 3 and "3 waiting" in out, out
        assert server.samples() == []
        # After the reset (a new process), with the server reachable: resume, then go on.
        write_config(tmp_path / "cfg", server, server.port, spool)
        out = collect(tmp_path / "cfg", 1)
        assert "3 recordings waiting from before the reset" in out, out
        assert "4 uploaded, 0 waiting" in out, out
        check_samples(server, 4)
    assert sorted(p.name for p in spool.iterdir()) == ["failed"]


def test_a_flush_with_the_internet_down_gives_sampling_back(tmp_path: Path) -> None:
    from faultproxy import FaultProxy

    spool = tmp_path / "spool"
    with (
        ServerProc(tmp_path / "data") as server,
        FaultProxy(server.port, {"stall": 1}, stall_seconds=30) as proxy,
    ):
        # Wi-Fi is up, the internet is not: every connection is accepted and never answered.
        # Ten tries of a 1 s timeout with backoff would hold sampling for a minute per cycle;
        # FLUSH_MS gives it back after 1.5 s (plus the one try under way).
        write_config(tmp_path / "cfg", server, proxy.port, spool)
        with open(tmp_path / "cfg" / "config.py", "a") as f:
            f.write("TIMEOUT = 1\nUPLOAD_ATTEMPTS = 10\nUPLOAD_TOTAL_MS = 60000\nFLUSH_MS = 1500\n")
        out = collect(tmp_path / "cfg", 3)
        assert out.count("upload paused") == 3 and "3 waiting" in out, out
        # Load only slows each try down, so it can only lower this count.
        assert 3 <= proxy.counts["stall"] <= 6, proxy.counts
        assert server.samples() == []
    assert len([p for p in spool.iterdir() if p.suffix == ".cbor"]) == 3
