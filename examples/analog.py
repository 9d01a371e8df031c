"""Record one analog channel (board.ADC_PIN) in volts and upload it to Edge Impulse.

ESP32: an ADC1 pin with explicit attenuation, calibrated through read_uv(); Pico W: GP26.
Joins Wi-Fi, sets the clock, takes ROWS readings every INTERVAL_MS ms, uploads them as
LABEL / CATEGORY / FORMAT and prints the stored file name: the same config.py as motion.py.
    import analog; analog.main()        (or make run EXAMPLE=analog, make sim EXAMPLE=analog)
"""

import board
import ei_sampler
import uplink

ROWS = 200  # defaults when config.py does not set ROWS / INTERVAL_MS
INTERVAL_MS = 10  # 100 Hz


def collect(rows=ROWS, interval_ms=INTERVAL_MS, source=None):
    """Sample the channel in volts; returns (recording, late rows)."""
    adc = source or board.analog("adc")
    rec = ei_sampler.recording_for((adc,), interval_ms, rows)
    late = ei_sampler.sample((adc,), rec)
    return rec, late


def main(rows=None, label=None, category=None, fmt=None):
    iat = uplink.online()
    rec, late = collect(
        rows or uplink.setting("ROWS", ROWS), uplink.setting("INTERVAL_MS", INTERVAL_MS)
    )
    name = uplink.upload(rec, label, category, fmt, iat)
    print("analog: %d rows (%d late) uploaded as %s" % (len(rec), late, name))
    return name


if __name__ == "__main__":
    main()
