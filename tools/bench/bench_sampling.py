"""Board-side: CPU cost per row of each source's read_into on the sim board (speed.py runs it)."""

import time


def run(rows=2000):
    import board
    import ei_sampler
    from sensors.adxl345 import ADXL345
    from sensors.bme280 import BME280
    from sensors.lis3dh import LIS3DH
    from sensors.mpu6050 import MPU6050

    i2c = board.i2c()
    sources = [
        ("MPU6050", MPU6050(i2c)),
        ("ADXL345", ADXL345(i2c)),
        ("LIS3DH", LIS3DH(i2c)),
        ("BME280", BME280(i2c)),
    ]
    try:
        sources.append(("AnalogIn", board.analog()))
    except (AttributeError, TypeError, ValueError, OSError):
        pass
    for name, src in sources:
        rec = ei_sampler.recording_for((src,), 1, rows)
        buf = rec.buffer
        t0 = time.ticks_us()
        for r in range(rows):
            src.read_into(buf, r * rec.axes)
        dt = time.ticks_diff(time.ticks_us(), t0)
        print("sample", name, rows, dt)
