"""On the micropython interpreter with the sim board: sampling keeps time and allocates nothing.

The wall-time check is the one the issue asks for: 100 rows of MPU6050 data at 100 Hz take
one second within 2 %, measured inside the interpreter with ticks_us.
"""

from __future__ import annotations

import json

import pytest
from harness import SCENARIOS, run_cpython, run_micropython


def last_json(proc):
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_100_rows_at_100hz_take_one_second(runtime):
    script = SCENARIOS / "sensors_timing.py"
    out = last_json(run_micropython(script) if runtime == "micropython" else run_cpython(script))
    assert out["rows"] == 100
    assert out["wall_us"] == pytest.approx(1_000_000, rel=0.02)
    assert out["first_to_last_us"] == pytest.approx(990_000, rel=0.02)
    assert out["min_lag_us"] >= 0  # never early
    # On an idle host no row is late; a loaded CI host can delay a row by more than half an
    # interval (seen once with 4 test runs in parallel): that row is counted, and the schedule
    # still ends on time (wall time above). Exact late counting: test_sensors_scheduler.py.
    assert out["late"] <= 2
    if out["late"] == 0:
        assert out["max_lag_us"] < 5_000
    assert 15_000 < out["accZ_first"] < 17_500  # about 1 g at 16384 LSB/g


def test_heap_lock_around_the_sampling_loop():
    proc = run_micropython(SCENARIOS / "sensors_heaplock.py")
    out = last_json(proc)
    lines = proc.stdout.decode().splitlines()[:-1]
    assert len(lines) == 3 and all(len(line.split(",")) == 6 for line in lines)
    for name in (
        "mpu6050",
        "adxl345",
        "lis3dh",
        "bme280",
        "analog_esp32",
        "analog_rp2_temp",
        "combined",
    ):
        assert out[name] == "ok", (name, out[name])
        assert out[name + "_rows"] == 200
    # the check can fail: a source that builds a list per row is caught at once
    assert out["allocating"] == "MemoryError"
    assert out["allocating_rows"] == 0
    assert out["i2s_mic_32"] == "ok"
    assert out["i2s_first"] == [0, 3061, 5656, 7391]  # the sim's 1 kHz tone at 16 kHz
    assert out["forwarder"] == "ok"
    assert out["forwarder_bytes"] > 50 * 30
    assert out["forwarder_stdout"] == "ok"
    # documented: BME280(precise=True) uses the 64-bit pressure formula, whose big ints
    # allocate even on this 64-bit host (and sooner on a board)
    assert out["bme280_precise"] == "MemoryError"


def test_missing_sensor_messages_on_micropython():
    proc = run_micropython(SCENARIOS / "sensors_errors.py")
    lines = dict(
        (line.split("|")[0], line.split("|", 1)[1]) for line in proc.stdout.decode().splitlines()
    )
    assert lines["mpu_missing"] == (
        "SensorNotFound|MPU6050 not found at 0x68 on I2C(0) scl=18 sda=19; devices found: 0x76"
    )
    assert lines["adxl_wrong_addr"] == (
        "SensorNotFound|ADXL345 not found at 0x1d on I2C(0) scl=18 sda=19; devices found: 0x76"
    )
    assert lines["lis_missing"].startswith("SensorNotFound|LIS3DH not found at 0x19 on I2C(0)")
    assert lines["bme_empty_bus"].startswith(
        "SensorNotFound|BME280 not found at 0x76 on I2C(1) scl=25 sda=26; no devices found"
    )
    assert lines["bme_ok"] == "ok|"
    assert lines["raw"] == "OSError|19"  # what the driver turned into the messages above
    assert "Errno" not in proc.stdout.decode()
