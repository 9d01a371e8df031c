"""Device-side bad input: a table of bad calls (tests/scenarios/spool_bad_calls.py) to the spool,
the retrying client and Recording, run in the micropython interpreter and in CPython. Each must
raise the documented exception with a message naming the field, send nothing (the server's
request log stays empty) and leave nothing in the spool.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import SCENARIOS, run_cpython, run_micropython
from serverproc import ServerProc

RUNTIMES = {"mpy": run_micropython, "cpy": run_cpython}


@pytest.mark.parametrize("runtime", ["mpy", "cpy"])
def test_bad_calls_raise_and_send_nothing(runtime: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with ServerProc(tmp_path / "data") as server:
        proc = RUNTIMES[runtime](SCENARIOS / "spool_bad_calls.py", str(work), str(server.port))
        out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        assert server.requests_seen() == [], "a bad call reached the server"
        assert server.samples() == []
    cases = out["cases"]
    assert len(cases) >= 25
    wrong = [
        f"{name}: raised {got} {text!r}, expected {want} naming {words!r}"
        for name, got, text, want, words in cases
        if got != want or words not in text
    ]
    assert not wrong, "\n".join(wrong)
    assert out["spool"] == ["failed"] and out["failed"] == [] and out["pending"] == 0, out
    assert out["tiny"] == ["failed"], "SpoolFull left a file behind"
    assert out["made"] == [], "a refused Spool() created its directory"
    assert sorted(p.name for p in work.iterdir()) == ["a_file", "spool", "tiny"]
