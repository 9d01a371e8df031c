"""Record motion from an MPU6050 and upload it to Edge Impulse.

Joins Wi-Fi, sets the clock, takes ROWS rows every INTERVAL_MS ms (accelerometer in m/s2,
gyroscope in deg/s), uploads them as LABEL / CATEGORY / FORMAT and prints the stored file name.
All settings come from config.py (see config.example.py); the wiring from board.py.

On the board, after `make deploy`: `make run EXAMPLE=motion`, or at the REPL
    import motion; motion.main()
and `make deploy MAIN=motion` runs it at every boot. On the simulated board:
    make sim EXAMPLE=motion
"""

import board
import ei_sampler
import uplink
from sensors.mpu6050 import MPU6050

ROWS = 200  # defaults when config.py does not set ROWS / INTERVAL_MS
INTERVAL_MS = 10  # 100 Hz


def collect(rows=ROWS, interval_ms=INTERVAL_MS, i2c=None):
    """Sample accelerometer + gyroscope; returns (recording, late rows)."""
    imu = MPU6050(i2c or board.i2c(), accel_range=2, gyro_range=250)
    rec = ei_sampler.recording_for((imu,), interval_ms, rows)
    late = ei_sampler.sample((imu,), rec)
    return rec, late


def main(rows=None, label=None, category=None, fmt=None):
    iat = uplink.online()
    rec, late = collect(
        rows or uplink.setting("ROWS", ROWS), uplink.setting("INTERVAL_MS", INTERVAL_MS)
    )
    name = uplink.upload(rec, label, category, fmt, iat)
    print("motion: %d rows (%d late) uploaded as %s" % (len(rec), late, name))
    return name


if __name__ == "__main__":
    main()
