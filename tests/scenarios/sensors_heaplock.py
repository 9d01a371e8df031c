"""heap_lock() around the sampling loop: every source must sample without allocating, and a
deliberately allocating source must fail (so the check itself can fail). micropython only.

Prints one JSON object {source name: "ok" | "MemoryError" | other error}.
"""

import gc
import json

import board
import ei_forward
import ei_ingest
import ei_sampler
import micropython
from machine import ADC
from sensors.adxl345 import ADXL345
from sensors.analog import AnalogIn
from sensors.bme280 import BME280
from sensors.i2s_mic import I2SMic
from sensors.lis3dh import LIS3DH
from sensors.mpu6050 import MPU6050


class Allocating:
    """Reads like a sensor but builds a list per row: must break heap_lock."""

    axes = (("x", ""),)
    scale = (1.0,)
    typecode = "h"

    def read_into(self, buf, off):
        buf[off] = len([off, off])


class Sink:
    def __init__(self):
        self.n = 0

    def write(self, buf, n):
        self.n += n


def locked(fn):
    gc.collect()
    micropython.heap_lock()
    try:
        fn()
        return "ok"
    except MemoryError:
        return "MemoryError"
    except Exception as e:  # noqa: BLE001 - reported to the test
        return type(e).__name__ + ": " + str(e)
    finally:
        micropython.heap_unlock()


def main():
    i2c = board.i2c()
    results = {}
    cases = (
        ("mpu6050", (MPU6050(i2c, temperature=True),)),
        ("adxl345", (ADXL345(i2c),)),
        ("lis3dh", (LIS3DH(i2c),)),
        ("analog_esp32", (AnalogIn(34, atten=ADC.ATTN_11DB),)),
        ("analog_rp2_temp", (AnalogIn(4, port="rp2"),)),
        (
            "combined",
            (
                MPU6050(i2c),
                LIS3DH(i2c, names=("lx", "ly", "lz")),
                AnalogIn(35, atten=ADC.ATTN_6DB),
            ),
        ),
        ("bme280", (BME280(i2c),)),
        ("bme280_precise", (BME280(i2c, precise=True),)),
        ("allocating", (Allocating(),)),
    )
    for name, sources in cases:
        rec = ei_sampler.recording_for(sources, 1, 200)
        sampler = ei_sampler.Sampler(sources, rec)
        results[name] = locked(sampler.run)
        results[name + "_rows"] = len(rec)
    # audio: the second capture into the same recording allocates nothing
    mic = I2SMic(board.i2s_mic(16000), bits=32)
    rec = ei_ingest.Recording(mic.axes, interval_ms=1000 / 16000, capacity=2048)
    mic.capture(rec)
    rec.clear()
    results["i2s_mic_32"] = locked(lambda: mic.capture(rec))
    results["i2s_first"] = [rec.buffer[i] for i in range(4)]
    # serial forwarder writing to stdout's buffer and to a sink
    sink = Sink()
    fw = ei_forward.Forwarder((MPU6050(i2c),), stream=sink)
    fw.write_row()
    results["forwarder"] = locked(lambda: fw.run(1, 50))
    results["forwarder_bytes"] = sink.n
    # and to the real stdout (MicroPython's stream write(buf, n): no slice per line)
    out = ei_forward.Forwarder((MPU6050(i2c),))
    results["forwarder_stdout"] = locked(lambda: out.run(1, 3))
    print(json.dumps(results))


main()
