"""Record motion from an MPU6050 and upload it to Edge Impulse.

On the board: lib/ (with sensors/), boards/<board>/board.py as board.py, and a config.py with
API_KEY, HMAC_KEY, LABEL (and optionally HOST, PORT, TLS, CA, CATEGORY).
    import motion; motion.main()
On the simulated board: MICROPYPATH=lib:boards/sim:.frozen micropython examples/motion.py
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


def upload(rec, label=None, fmt="cbor"):
    import config  # type: ignore[import-not-found]
    import ei_ingest

    client = ei_ingest.Client(
        config.API_KEY,
        config.HMAC_KEY,
        board.DEVICE_TYPE,
        device_name=board.device_name(),
        host=getattr(config, "HOST", "ingestion.edgeimpulse.com"),
        port=getattr(config, "PORT", None),
        tls=getattr(config, "TLS", True),
        ca=getattr(config, "CA", None),
    )
    return client.upload(
        rec,
        label=label or config.LABEL,
        category=getattr(config, "CATEGORY", "training"),
        fmt=fmt,
    )


def main(seconds=SECONDS, label=None):
    rec, late = collect(seconds)
    print("motion: %d rows, %d late" % (len(rec), late))
    return upload(rec, label)


if __name__ == "__main__":
    main()
