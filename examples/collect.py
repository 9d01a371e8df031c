"""Collect around the clock: sample, keep every recording on flash, upload when online.

Nothing is lost to a dropped Wi-Fi link or a reboot: each recording is signed into a file in a
spool on flash (ei_spool) the moment it is taken, and the spool is flushed, oldest first,
whenever the network is up, with retries (ei_robust), for at most FLUSH_MS per cycle so that
sampling goes on when Wi-Fi is up but the internet is not. After a reset the loop starts by
resuming from what the spool holds. A file the server refuses is kept in <spool>/failed/ with
the server's words.

On the board: lib/ (with sensors/), boards/<board>/board.py as board.py, and a config.py with
WIFI_SSID, WIFI_PASSWORD, API_KEY, HMAC_KEY, LABEL (optionally HOST, PORT, TLS, CA, CATEGORY,
FORMAT, INTERVAL_MS, ROWS, SPOOL_DIR, SPOOL_BYTES, TIMEOUT, NTP_HOST, UPLOAD_ATTEMPTS,
UPLOAD_TOTAL_MS, FLUSH_MS).
    import collect; collect.main()
On the simulated board (config.py on the path):
    MICROPYPATH=.:lib:boards/sim:.frozen micropython examples/collect.py 5   (5 recordings)

Memory: one Recording (ROWS x 6 axes of int16) allocated once, the spool's 256-byte buffer and
the client's 1.5 KiB of buffers; each cycle's garbage (file names, metadata) is collected.
"""

import sys

import board
import ei_errors
import ei_ingest
import ei_net
import ei_robust
import ei_sampler
import ei_spool
from ei_errors import IngestionError
from sensors.mpu6050 import MPU6050


def _setting(config, name, default):
    return getattr(config, name, default)


def make_spool(config, device_name):
    return ei_spool.Spool(
        _setting(config, "SPOOL_DIR", "spool"),
        max_bytes=_setting(config, "SPOOL_BYTES", 256 * 1024),
        hmac_key=config.HMAC_KEY,
        device_type=board.DEVICE_TYPE,
        device_name=device_name,
    )


def make_client(config):
    return ei_ingest.client_from_config(
        config,
        board,
        ei_robust.Client,
        attempts=_setting(config, "UPLOAD_ATTEMPTS", 4),
        total_ms=_setting(config, "UPLOAD_TOTAL_MS", 60000),
    )


def online(config):
    """True when the station is up, or comes up now; False means: try again next cycle."""
    if ei_net.connected():
        return True
    try:
        ei_net.connect(
            config.WIFI_SSID,
            config.WIFI_PASSWORD,
            timeout_ms=_setting(config, "WIFI_TIMEOUT_MS", 15000),
            retries=0,  # the spool waits; sampling must go on
        )
    except OSError as e:
        print("collect: offline (%s), %s" % (e, "recordings wait on flash"))
        return False
    if ei_net.unix_time() is None:
        ei_net.sync_time(retries=1, host=_setting(config, "NTP_HOST", None))
    return True


def main(cycles=None):
    """Run `cycles` sample-put-flush rounds (None: forever); returns the Spool."""
    import config  # type: ignore[import-not-found]

    ei_errors.set_log(lambda message: print("collect:", message))
    device_name = _setting(config, "DEVICE_NAME", None) or board.device_name()
    spool = make_spool(config, device_name)
    print("collect: %d recordings waiting from before the reset" % len(spool))
    imu = MPU6050(board.i2c(), accel_range=2, gyro_range=250)
    rec = ei_sampler.recording_for(
        (imu,), _setting(config, "INTERVAL_MS", 10), _setting(config, "ROWS", 200)
    )
    client = None
    budget = _setting(config, "FLUSH_MS", 20000)
    done = 0
    while cycles is None or done < cycles:
        done += 1
        rec.clear()
        ei_sampler.sample((imu,), rec)
        try:
            seq = spool.put(
                rec,
                label=_setting(config, "LABEL", None),
                category=_setting(config, "CATEGORY", "training"),
                fmt=_setting(config, "FORMAT", "cbor"),
                iat=ei_net.unix_time(),
            )
            print("collect: recording %d stored as %d, %d waiting" % (done, seq, len(spool)))
        except ei_spool.SpoolError as e:
            print("collect: recording %d NOT stored: %s" % (done, e))
        if len(spool) and online(config):
            if client is None:
                client = make_client(config)
            try:
                sent = spool.flush(client, budget_ms=budget)
                print("collect: %d uploaded, %d waiting" % (sent, len(spool)))
            except (IngestionError, ei_spool.SpoolError) as e:
                print("collect: upload paused (%s), %d waiting" % (e, len(spool)))
    return spool


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
