"""Record motion from an MPU6050 and upload it to Edge Impulse.

On the board: lib/ (with sensors/), boards/<board>/board.py as board.py, and a config.py with
WIFI_SSID, WIFI_PASSWORD, API_KEY, HMAC_KEY, LABEL (and optionally HOST, PORT, TLS, CA,
CATEGORY, FORMAT): see config.example.py. `make run BOARD=esp32 EXAMPLE=motion` runs it.
    import motion; motion.main()
On the simulated board (what `make demo` does, with a config.py on the path):
    MICROPYPATH=.:lib:boards/sim:.frozen micropython examples/motion.py
"""

import board
import ei_sensors
from sensors.mpu6050 import MPU6050

INTERVAL_MS = 10  # 100 Hz
SECONDS = 2


def collect(seconds=SECONDS, interval_ms=INTERVAL_MS, i2c=None):
    """Sample accelerometer + gyroscope; returns (recording, late rows)."""
    imu = MPU6050(i2c or board.i2c(), accel_range=2, gyro_range=250)
    rec = ei_sensors.recording_for((imu,), interval_ms, int(seconds * 1000 // interval_ms))
    late = ei_sensors.sample((imu,), rec)
    return rec, late


def online():
    """Join Wi-Fi and set the clock; returns Unix seconds for `iat`, or None (clock unset)."""
    import config  # type: ignore[import-not-found]
    import ei_net

    ei_net.connect(
        config.WIFI_SSID,
        config.WIFI_PASSWORD,
        getattr(config, "WIFI_TIMEOUT_MS", 15000),
        getattr(config, "WIFI_RETRIES", 2),
    )
    return ei_net.sync_time(host=getattr(config, "NTP_HOST", None))


def upload(rec, label=None, fmt=None, category=None, iat=None):
    import config  # type: ignore[import-not-found]
    import ei_ingest

    client = ei_ingest.client_from_config(config, board)
    return client.upload(
        rec,
        label=label or config.LABEL,
        category=category or getattr(config, "CATEGORY", "training"),
        fmt=fmt or getattr(config, "FORMAT", "cbor"),
        iat=iat,
    )


def main(seconds=SECONDS, label=None, category=None, fmt=None):
    iat = online()
    rec, late = collect(seconds)
    name = upload(rec, label, fmt, category, iat)
    print("motion: %d rows (%d late) uploaded as %s" % (len(rec), late, name))
    return name


if __name__ == "__main__":
    main()
