"""The boards tools/deploy.py knows: one board file each, the right CPU architecture for the
.mpy files (and the Makefile's `mpy` and `typecheck` in step), the pins of a common dev board,
and every board file run with the examples on the simulated machine."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import deploy
import pytest
from harness import ROOT, run_micropython

# From the MicroPython sources and the boards' user guides (see each board.py's docstring):
# CPU architecture for mpy-cross; device type; I2C(0) SCL/SDA (the port's defaults); the ADC
# pins usable with Wi-Fi on (ESP32 family: ADC1 only); the BOOT button's GPIO (None: a Pico's
# BOOTSEL, read with rp2.bootsel_button()).
FACTS: dict[str, dict[str, Any]] = {
    "esp32": dict(arch="xtensawin", type="ESP32", scl=18, sda=19, adc=range(32, 40), boot=0),
    "esp32_s3": dict(arch="xtensawin", type="ESP32_S3", scl=9, sda=8, adc=range(1, 11), boot=0),
    "esp32_c3": dict(arch="rv32imc", type="ESP32_C3", scl=9, sda=8, adc=range(0, 5), boot=9),
    "pico_w": dict(arch="armv6m", type="PICO_W", scl=5, sda=4, adc=range(26, 29), boot=None),
    "pico2_w": dict(arch="armv7emsp", type="PICO2_W", scl=5, sda=4, adc=range(26, 29), boot=None),
}
FUNCTIONS = {"i2c", "led", "analog", "i2s_mic", "device_name", "boot_button"}


def board_file(board: str) -> Path:
    return ROOT / "boards" / board / "board.py"


def constants(board: str) -> dict[str, Any]:
    tree = ast.parse(board_file(board).read_text())
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                out[node.targets[0].id] = ...  # e.g. ADC.ATTN_11DB
        elif isinstance(node, ast.FunctionDef):
            out.setdefault("functions", set()).add(node.name)
    return out


def makefile_var(name: str) -> list[str]:
    m = re.search(rf"^{name}\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, name
    return m.group(1).split()


def test_every_board_has_its_architecture_and_a_board_file() -> None:
    assert {b: f["arch"] for b, f in FACTS.items()} == deploy.BOARDS
    on_disk = {p.parent.name for p in (ROOT / "boards").glob("*/board.py")} - {"sim"}
    assert on_disk == set(deploy.BOARDS)


def test_makefile_compiles_and_type_checks_every_board() -> None:
    assert sorted(makefile_var("ARCHS")) == sorted(set(deploy.BOARDS.values()))
    pairs = dict(p.split(":") for p in makefile_var("TYPECHECK_BOARDS"))
    assert set(pairs) == set(deploy.BOARDS)
    text = (ROOT / "Makefile").read_text()
    for stubs in set(pairs.values()):
        # each stub set is installed, from a version pinned exactly
        assert f"--target $(STUBS)/{stubs} " in text or f"$(STUBS)/{stubs}/.installed:" in text
    for pin in re.findall(r"^\w+_STUBS\s*:=\s*(\S+)$", text, re.M):
        assert re.fullmatch(r"micropython-[\w-]+-stubs==\d+\.\d+\.\d+(\.post\d+)?", pin), pin


@pytest.mark.parametrize("board", sorted(FACTS))
def test_board_file_pins(board: str) -> None:
    facts, c = FACTS[board], constants(board)
    assert c["DEVICE_TYPE"] == facts["type"]
    assert (c["I2C_ID"], c["I2C_SCL"], c["I2C_SDA"]) == (0, facts["scl"], facts["sda"])
    assert c["ADC_PIN"] in facts["adc"]
    assert c.get("BOOT_BUTTON") == facts["boot"]
    assert c["functions"] >= FUNCTIONS
    i2s = {c["I2S_SCK"], c["I2S_WS"], c["I2S_SD"]}
    assert len(i2s) == 3 and not i2s & {c["I2C_SCL"], c["I2C_SDA"], c["ADC_PIN"]}
    if board.startswith("pico"):
        assert c["I2S_WS"] == c["I2S_SCK"] + 1  # rp2 I2S: ws must be sck + 1
        assert c["TEMP_CHANNEL"] == 4
    assert len({FACTS[b]["type"] for b in FACTS}) == len(FACTS)


# Each board file with the sim's machine module: builds its buses, reads its BOOT button,
# and the examples sample through it. A Pico's rp2 module is faked for bootsel_button().
ON_THE_SIM = """
import sys, json
sys.path.append('examples')
import board, sim, motion, analog, audio
out = {"i2c": repr(board.i2c()), "type": board.DEVICE_TYPE, "name": board.device_name()}
out["led"] = board.led() is None
out["button"] = [board.boot_button()]
if getattr(board, "BOOT_BUTTON", None) is not None:
    sim.hold(board.BOOT_BUTTON)
else:
    import rp2
    rp2.pressed = 1
out["button"].append(board.boot_button())
rec, late = motion.collect(5, 10)
out["motion"] = [len(rec), rec.buffer[2]]
out["audio"] = len(audio.collect(160, rate=16000))
print(json.dumps(out))
"""
ANALOG_ON_THE_SIM = """
import sys
sys.path.append('examples')
import analog
rec, late = analog.collect(5, 10)
print(len(rec), min(rec.buffer) > 600_000)
"""
FAKE_RP2 = "pressed = 0\n\n\ndef bootsel_button():\n    return pressed\n"


def sim_env(board: str, folder: Path) -> dict[str, str]:
    """The sim machine with `board`'s board.py (and a fake rp2 module) ahead of it."""
    (folder / "board.py").write_bytes(board_file(board).read_bytes())
    (folder / "rp2.py").write_text(FAKE_RP2)
    return {"MICROPYPATH": f"{folder}:lib:boards/sim:.frozen"}


@pytest.mark.parametrize("board", sorted(FACTS))
def test_board_file_runs_the_examples_on_the_sim(board: str, tmp_path: Path) -> None:
    proc = run_micropython(ON_THE_SIM, code=True, env=sim_env(board, tmp_path))
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    facts = FACTS[board]
    assert out["i2c"] == f"I2C(0, scl={facts['scl']}, sda={facts['sda']}, freq=400000)"
    assert out["type"] == facts["type"]
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", out["name"])
    assert out["led"] == (board in ("esp32_s3", "esp32_c3"))  # WS2812 only: no plain LED
    assert out["button"] == [False, True]
    assert out["motion"][0] == 5 and 15000 < out["motion"][1] < 17700  # Z about 1 g
    assert out["audio"] == 160


@pytest.mark.parametrize(
    "board",
    [
        "esp32",
        "esp32_s3",
        "esp32_c3",
    ],
)
def test_analog_example_on_each_esp32_board(board: str, tmp_path: Path) -> None:
    proc = run_micropython(ANALOG_ON_THE_SIM, code=True, env=sim_env(board, tmp_path))
    # the last line: on a loaded machine the sampler may log "1 of 5 rows late" before it
    assert proc.stdout.decode().splitlines()[-1].split() == ["5", "True"]
