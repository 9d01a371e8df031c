"""Board-side scenario: the spool on LittleFS (os.VfsLfs2 on a RAM block device, as on an ESP32
or a Pico W), uploading to the local server.

usage: spool_lfs.py PORT FIRST  ->  one JSON line with what each step saw
"""

import json
import os
import sys

import ei_errors
import ei_spool
import spool_common

_BLOCK = 512


class RAMBlockDev:
    """The extended block protocol (offset writes), what LittleFS needs."""

    def __init__(self, blocks):
        self.data = bytearray(_BLOCK * blocks)

    def readblocks(self, n, buf, offset=0):
        at = n * _BLOCK + offset
        buf[:] = self.data[at : at + len(buf)]

    def writeblocks(self, n, buf, offset=0):
        at = n * _BLOCK + offset
        self.data[at : at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // _BLOCK
        if op == 5:  # block size
            return _BLOCK
        if op == 6:  # erase
            return 0
        return None


def main(port, first):
    ei_errors.set_log(None)
    dev = RAMBlockDev(96)  # 48 KiB of flash
    os.VfsLfs2.mkfs(dev)
    os.mount(os.VfsLfs2(dev), "/flash")
    out = {}
    spool = ei_spool.Spool(
        "/flash/spool", max_bytes=1 << 20, hmac_key=spool_common.HMAC_KEY, device_type="SIM",
        device_name="lfs",
    )  # fmt: skip
    rec = spool_common.recording(first)
    for i in range(5):
        spool.put(spool_common.fill(rec, first + i), label="lfs", fmt=("cbor", "json")[i % 2])
    # A crash in the middle of a put leaves a temporary and an orphan data file.
    with open("/flash/spool/00000006.d.tmp", "wb") as f:
        f.write(b"half a file")
    with open("/flash/spool/00000007.cbor", "wb") as f:
        f.write(b"no metadata")
    out["before_reboot"] = sorted(os.listdir("/flash/spool"))
    spool = ei_spool.Spool("/flash/spool", hmac_key=spool_common.HMAC_KEY, device_type="SIM",
                           device_name="lfs")  # fmt: skip
    out["after_reboot"] = sorted(os.listdir("/flash/spool"))
    out["pending"] = len(spool)
    out["delivered"] = spool.flush(spool_common.robust_client(port, device_name="lfs"))
    out["after_flush"] = sorted(os.listdir("/flash/spool"))
    # Fill the flash itself: SpoolFull, and no temporary left behind.
    full = None
    puts = 0
    for i in range(200):
        try:
            spool.put(spool_common.fill(rec, first + 100 + i), label="fill")
            puts += 1
        except ei_spool.SpoolFull as e:
            full = str(e)
            break
    out["full"] = full
    out["puts_until_full"] = puts
    names = os.listdir("/flash/spool")
    out["temps_after_full"] = [n for n in names if n.endswith(".tmp")]
    out["pending_after_full"] = len(spool)
    out["files_after_full"] = len([n for n in names if n.endswith(".m")])
    print(json.dumps(out))


main(int(sys.argv[1]), int(sys.argv[2]))
