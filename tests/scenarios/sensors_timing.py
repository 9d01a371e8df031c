"""100 rows of MPU6050 data at 100 Hz on the sim board: wall time and per-row timing.

Prints one JSON object. Run by tests/test_sim_timing.py in the micropython unix port (and
CPython); the test asserts the numbers.
"""

import json
import sys
from array import array

import board
import ei_sensors
from sensors.mpu6050 import MPU6050

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
INTERVAL_MS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def main():
    clock = ei_sensors.CLOCK
    imu = MPU6050(board.i2c())
    rec = ei_sensors.recording_for((imu,), INTERVAL_MS, ROWS)
    stamps = array("i", [0] * ROWS)
    t0 = [0]

    def on_row(i):
        stamps[i] = clock.ticks_diff(clock.ticks_us(), t0[0])

    t0[0] = clock.ticks_us()
    late = ei_sensors.sample((imu,), rec, on_row=on_row, collect=False)
    wall = clock.ticks_diff(clock.ticks_us(), t0[0])
    # how far row i finished after its due time i * interval
    lag = [stamps[i] - i * INTERVAL_MS * 1000 for i in range(ROWS)]
    print(
        json.dumps(
            {
                "rows": len(rec),
                "late": late,
                "wall_us": wall,
                "first_to_last_us": stamps[ROWS - 1] - stamps[0],
                "max_lag_us": max(lag),
                "min_lag_us": min(lag),
                "accZ_first": rec.buffer[2],
            }
        )
    )


main()
