"""Let Edge Impulse Studio start the sampling: the board as a Studio device over Wi-Fi.

The board connects to remote management and appears in Studio > Devices (named by its Wi-Fi
MAC); Data acquisition > "Start sampling" then records the accelerometer on the board and
uploads the sample, signed, to the project. No computer in between. The local server plays
Studio the same way (`tools/remote.py sample ...`).

On the board: lib/ (with sensors/), boards/<board>/board.py as board.py, and a config.py with
WIFI_SSID, WIFI_PASSWORD, API_KEY, HMAC_KEY (optionally HOST, PORT, TLS, CA, REMOTE_URL,
REMOTE_ROWS, SPOOL_DIR): see config.example.py. `make run BOARD=esp32 EXAMPLE=remote` runs it.
    import remote; remote.main()
On the simulated board (config.py on the path):
    MICROPYPATH=.:lib:boards/sim:.frozen micropython examples/remote.py

REMOTE_URL None picks the service from HOST and TLS: wss://remote-mgmt.edgeimpulse.com with
TLS, ws://remote-mgmt.edgeimpulse.com without (what Edge Impulse writes into its own Wi-Fi
firmware: uploads then go over plain http:// too); for any other HOST (the local server),
ws:// or wss:// on port 4802 of that host.

Memory: the Recording (REMOTE_ROWS x 3 axes of int16, 6 KB for 1,000 rows) allocated first,
then the library; see README "Remote management" for the measured heap.
"""

import board
import ei_ingest
import ei_net
import ei_remote
import ei_sampler
from sensors.mpu6050 import MPU6050

ROWS = 1000  # the longest sample: 10 s at 100 Hz


def remote_url(config):
    """REMOTE_URL, or the remote management service that goes with HOST and TLS."""
    url = getattr(config, "REMOTE_URL", None)
    if url:
        return url
    host = getattr(config, "HOST", "ingestion.edgeimpulse.com")
    scheme = "wss://" if getattr(config, "TLS", True) else "ws://"
    if host.startswith("ingestion."):
        return scheme + "remote-mgmt." + host[len("ingestion.") :]
    return scheme + host + ":4802"


def main(stop=None):
    import config  # type: ignore[import-not-found]

    imu = MPU6050(board.i2c(), accel_range=2, gyro=False)
    # First, while the heap is still in one piece: the buffer is one block.
    rec = ei_sampler.recording_for((imu,), 10, getattr(config, "REMOTE_ROWS", None) or ROWS)
    ei_net.connect(
        config.WIFI_SSID,
        config.WIFI_PASSWORD,
        getattr(config, "WIFI_TIMEOUT_MS", 15000),
        getattr(config, "WIFI_RETRIES", 2),
    )
    ei_net.sync_time(host=getattr(config, "NTP_HOST", None))
    mac = ei_net.mac()
    client = ei_ingest.client_from_config(config, board)
    spool = None
    if getattr(config, "SPOOL_DIR", None):
        spool = ei_ingest.Spool(config.SPOOL_DIR, getattr(config, "SPOOL_BYTES", 262144),
                                client=client)  # fmt: skip
    url = remote_url(config)
    dev = ei_remote.Device(
        url, config.API_KEY, client, mac, board.DEVICE_TYPE, spool=spool,
        ca=getattr(config, "CA", None) if url.startswith("wss://") else None,
        timeout=getattr(config, "TIMEOUT", 10), unix_time=ei_net.unix_time,
    )  # fmt: skip
    rates = dev.add_sensor("Accelerometer", (imu,), rec)
    print("remote: %s offers Accelerometer at %s Hz, up to %d rows; connecting to %s"
          % (mac, ", ".join("%g" % r for r in rates), rec.capacity, url))  # fmt: skip
    dev.serve(stop)


if __name__ == "__main__":
    main()
