"""Stream MPU6050 readings over USB serial for `edge-impulse-data-forwarder` (no Wi-Fi).

One line per sample, numbers only, comma separated, in m/s2 and deg/s:
    0.1957,-1.9422,9.8357,39.902,-4.283,-0.313
The data forwarder needs the serial port to itself, so run this at boot, not through mpremote:
    make deploy MAIN=forwarder      (main.py starts it after every reset)
    make reset                      (or press reset; nothing else may hold the port)
    edge-impulse-data-forwarder --frequency 100
On the simulated board: make sim EXAMPLE=forwarder (200 lines), or
    MICROPYPATH=lib:boards/sim:.frozen micropython examples/forwarder.py 100
(the argument is the number of lines; without it the stream never ends).
"""

import sys

import board
import ei_forward
from sensors.mpu6050 import MPU6050

INTERVAL_MS = 10  # 100 Hz


def main(rows=None, interval_ms=INTERVAL_MS, stream=None, i2c=None):
    imu = MPU6050(i2c or board.i2c(), accel_range=2, gyro_range=250)
    fw = ei_forward.Forwarder((imu,), stream=stream)
    return fw.run(interval_ms, rows)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
