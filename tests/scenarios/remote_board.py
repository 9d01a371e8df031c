"""Board-side scenario: a remote-management Device on the sim board (MPU6050 on I2C(0)).

usage: remote_board.py SPEC.json  ->  one JSON line per library log message {"log": ...},
then a last line {"samples": n, "stored": n, "sessions": n, "delays": [...], "error": ...}.

SPEC keys: url, api_key, hmac_key, host, port, tls, ca (DER file for https/wss), sensors
([{"name", "rows", "rates" (or null), "gyro"}]), spool (dir or null), settings (Device class
attributes, e.g. {"PING_MS": 500}), stop_samples / stop_sessions / stop_failures / stop_frames
(stop after that many sample requests / accepted hellos / reconnect waits / frames received in
the current session), drain_spool (and only once the
spool is empty), record_delays (do not sleep between reconnects, record the waits), fmt.
"""

import json
import sys

import board
import ei_errors
import ei_ingest
import ei_net
import ei_remote
import ei_sampler
from sensors.mpu6050 import MPU6050


def main(path):
    with open(path) as f:
        spec = json.load(f)
    ei_errors.set_log(lambda m: print(json.dumps({"log": m})))
    ei_net.connect("lab", "pw")
    client = ei_ingest.Client(
        spec["api_key"],
        spec.get("hmac_key"),
        board.DEVICE_TYPE,
        device_name=ei_net.mac(),
        host=spec.get("host", "127.0.0.1"),
        port=spec["port"],
        tls=spec.get("tls", False),
        ca=spec.get("ca"),
        timeout=5,
    )
    spool = None
    if spec.get("spool"):
        import ei_spool

        spool = ei_spool.Spool(spec["spool"], client=client)
    dev = ei_remote.Device(
        spec["url"], spec["api_key"], client, ei_net.mac(), board.DEVICE_TYPE,
        spool=spool, ca=spec.get("ca"), timeout=5, fmt=spec.get("fmt", "cbor"),
    )  # fmt: skip
    for name, value in spec.get("settings", {}).items():
        setattr(dev, name, value)
    # Whether the upload's connection was still open each time the websocket connected: two
    # sessions at once (over TLS, two TLS sessions: more than a Pico W's heap).
    upload_open_at_connect = []
    ws_connect = dev.ws.connect

    def connect():
        upload_open_at_connect.append(client._wire._sock is not None)
        return ws_connect()

    dev.ws.connect = connect
    delays = []
    if spec.get("record_delays"):
        dev.delay = delays.append
    for s in spec.get("sensors", [{"name": "Accelerometer", "rows": 1000}]):
        imu = MPU6050(board.i2c(), accel_range=2, gyro=s.get("gyro", False))
        rec = ei_sampler.recording_for((imu,), 10, s["rows"])
        rates = dev.add_sensor(s["name"], (imu,), rec, s.get("rates"))
        print(json.dumps({"rates": list(rates), "sensor": s["name"]}))

    def stop():
        drained = not (spec.get("drain_spool") and len(spool))
        return (
            (dev.samples >= spec.get("stop_samples", 1 << 30) and drained)
            or dev.sessions >= spec.get("stop_sessions", 1 << 30)
            or dev.ws.frames >= spec.get("stop_frames", 1 << 30)
            or len(delays) >= spec.get("stop_failures", 1 << 30)
        )

    out = {}
    try:
        dev.serve(stop)
    except ei_remote.RemoteRefused as e:
        out["error"] = "RemoteRefused"
        out["text"] = str(e)
    except ei_ingest.IngestionError as e:
        out["error"] = type(e).__name__
        out["text"] = str(e)
    out.update(samples=dev.samples, stored=dev.stored, sessions=dev.sessions, delays=delays,
               upload_open_at_connect=upload_open_at_connect)  # fmt: skip
    if spool is not None:
        out["spooled"] = len(spool)
    print(json.dumps(out))


main(sys.argv[1])
