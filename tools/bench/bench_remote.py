"""Board-side workloads for the remote management heap benchmark (tools/bench/remote_heap.py).

Compiled to .mpy with lib/ and the sim board; each run() does one job on the sim board and
prints "ok" last. Both jobs sample the sim MPU6050 (3 axes, int16) into a 1,000-row Recording
and upload it, so their difference is what remote management costs:
    plain    Wi-Fi (sim), sample, Client.upload()             (the plain upload)
    remote   Wi-Fi, Device: websocket, hello, the server's sample request, sample, upload
             (over wss + https the websocket is closed for the upload: UPLOAD_ALONE)
    remote-open  the same with the websocket kept open during the upload, whatever the TLS
    idle     Wi-Fi, Device: websocket, hello, then the session idles until the server's PING
             has been answered and a few idle rounds went by
"""

import gc

ROWS = 1000
RATE = 1000  # Hz: 1,000 rows in one second


def _setup():
    import board
    import ei_net
    from sensors.mpu6050 import MPU6050

    ei_net.connect("bench", "pw")
    return ei_net.mac(), board, MPU6050(board.i2c(), gyro=False)


def run(job, host, port, api_key, hmac_key, ws_url="", ca=None):
    import ei_ingest
    import ei_sampler

    mac, board, imu = _setup()
    rec = ei_sampler.recording_for((imu,), 1000 / RATE, ROWS)  # first, as the example does
    tls = ca is not None
    client = ei_ingest.Client(
        api_key, hmac_key, board.DEVICE_TYPE, device_name=mac, host=host, port=port, tls=tls, ca=ca
    )
    if job == "plain":
        ei_sampler.sample((imu,), rec)
        gc.collect()
        client.upload(rec, label="bench", path="/api/training/data")
        print("ok")
        return
    import ei_remote

    dev = ei_remote.Device(ws_url, api_key, client, mac, board.DEVICE_TYPE, ca=ca)
    dev.add_sensor("Accelerometer", (imu,), rec, (RATE,))
    lost = []
    dev.delay = lost.append  # a lost connection fails the job at once, no retries
    if job in ("remote", "remote-open"):
        dev.UPLOAD_ALONE = None if job == "remote" else False  # remote-open: stays open
        dev.serve(lambda: lost or dev.samples >= 1)
        print("ok" if dev.stored == 1 and not lost else "sample not stored")
        return
    rounds = [0]

    def idle_enough():
        rounds[0] += 1
        return lost or (dev.sessions and dev.ws.frames >= 2 and rounds[0] > 5)

    dev.PING_MS = 100
    dev.serve(idle_enough)
    print("ok" if not lost else "connection lost")
