"""Stream MPU6050 readings over USB serial for `edge-impulse-data-forwarder` (no Wi-Fi).

One line per sample, numbers only, comma separated, in m/s2 and deg/s:
    0.1957,-1.9422,9.8357,39.902,-4.283,-0.313
Run on the board (import forwarder; forwarder.main()), then on the computer:
    edge-impulse-data-forwarder --frequency 100
On the simulated board: MICROPYPATH=lib:boards/sim:.frozen micropython examples/forwarder.py 100
(the argument is the number of lines; without it the stream never ends).
"""

import sys

import board
import ei_sensors
from sensors.mpu6050 import MPU6050

INTERVAL_MS = 10  # 100 Hz


def main(rows=None, interval_ms=INTERVAL_MS, stream=None, i2c=None):
    imu = MPU6050(i2c or board.i2c(), accel_range=2, gyro_range=250)
    fw = ei_sensors.Forwarder((imu,), stream=stream)
    return fw.run(interval_ms, rows)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
