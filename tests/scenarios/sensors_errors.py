"""What a user sees when a sensor is missing, on the real interpreter: prints one line per case
with the exception type and message (the test checks there is no bare "[Errno 19]")."""

import board
import sim
from machine import I2C, Pin
from sensors.adxl345 import ADXL345
from sensors.bme280 import BME280
from sensors.lis3dh import LIS3DH
from sensors.mpu6050 import MPU6050


def attempt(label, make):
    try:
        make()
        print(label + "|ok|")
    except Exception as e:  # noqa: BLE001 - printed for the test
        print(label + "|" + type(e).__name__ + "|" + str(e))


def main():
    i2c = board.i2c()
    sim.detach(0, 0x68)
    sim.detach(0, 0x53)
    sim.detach(0, 0x18)
    attempt("mpu_missing", lambda: MPU6050(i2c))
    attempt("adxl_wrong_addr", lambda: ADXL345(i2c, addr=0x1D))
    attempt("lis_missing", lambda: LIS3DH(i2c, addr=0x19))
    attempt("bme_empty_bus", lambda: BME280(I2C(1, scl=Pin(25), sda=Pin(26))))
    attempt("bme_ok", lambda: BME280(i2c))
    try:
        i2c.readfrom_mem_into(0x68, 0x75, bytearray(1))
    except OSError as e:
        print("raw|OSError|" + str(e.errno))


main()
