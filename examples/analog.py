"""Record one analog channel (board.ADC_PIN) and upload it to Edge Impulse.

ESP32: an ADC1 pin with explicit attenuation, calibrated through read_uv(); Pico W: GP26.
Needs the same config.py as motion.py.  import analog; analog.main()
"""

import board
import ei_sensors

INTERVAL_MS = 10  # 100 Hz
SECONDS = 2


def collect(seconds=SECONDS, interval_ms=INTERVAL_MS, source=None):
    """Sample the channel in volts; returns (recording, late rows)."""
    adc = source or board.analog("adc")
    rec = ei_sensors.recording_for((adc,), interval_ms, int(seconds * 1000 // interval_ms))
    late = ei_sensors.sample((adc,), rec)
    return rec, late


def upload(rec, label=None, fmt="cbor"):
    import config  # type: ignore[import-not-found]
    import ei_ingest

    client = ei_ingest.client_from_config(config, board)
    return client.upload(
        rec,
        label=label or config.LABEL,
        category=getattr(config, "CATEGORY", "training"),
        fmt=fmt,
    )


def main(seconds=SECONDS, label=None):
    rec, late = collect(seconds)
    print("analog: %d rows, %d late" % (len(rec), late))
    return upload(rec, label)


if __name__ == "__main__":
    main()
