"""Board-side scenario: drive a spool through steps given as JSON, print its state after each.

usage: spool_steps.py SPEC.json  ->  one JSON line per step:
{"step": i, "op": ..., "ret": value or null, "error": [class, text] or null, "pending": n,
 "failed": [[seq, reason], ...], "files": [...], "failed_files": [...], "used": n,
 "failed_bytes": n}

SPEC: {"dir": path, "max_bytes": n, "lfs_blocks": n (micropython: the spool on LittleFS on a RAM
block device of that many 512-byte blocks, at /flash), "steps": [...]}; a step is one of
  {"op": "put", "rid": n, "options": {...}}         spool_common.recording(rid), Spool.put
  {"op": "put", "rid": n, "audio": true}            a single-axis int16 recording, fmt binary
  {"op": "flush", "port": n, "api_key": k, "options": {...}}   through an ei_http.Client
  {"op": "requeue"|"discard", "seq": n or null}
  {"op": "restart"}                                 a new Spool on the same directory (a reboot)
  {"op": "flash_full", "on": bool}                  (lfs_blocks) every flash write fails, ENOSPC
"""

import json
import os
import sys

import ei_errors
import ei_http
import ei_ingest
import ei_spool
import spool_common


class RAMBlockDev:
    """LittleFS's block device; with `full` set, every write fails with ENOSPC (28), as on a
    flash with no free block left (LittleFS keeps small files inline in its metadata blocks, so
    filling it with a big file still leaves room for them)."""

    def __init__(self, blocks):
        self.data = bytearray(512 * blocks)
        self.full = False

    def readblocks(self, n, buf, offset=0):
        at = n * 512 + offset
        buf[:] = self.data[at : at + len(buf)]

    def writeblocks(self, n, buf, offset=0):
        if self.full:
            raise OSError(28)
        at = n * 512 + offset
        self.data[at : at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // 512
        if op == 5:
            return 512
        if op == 6:
            return -28 if self.full else 0
        return None


DEVICE = []


def open_spool(spec):
    return ei_spool.Spool(
        spec["dir"], max_bytes=spec.get("max_bytes", 1 << 20), hmac_key=spool_common.HMAC_KEY,
        device_type="SIM", device_name="steps",
    )  # fmt: skip


def run(spool, spec, step):
    op = step["op"]
    if op == "put" and step.get("audio"):
        rec = ei_ingest.Recording((("audio", "wav"),), 0.0625, 400)
        for j in range(400):
            rec.append(((step["rid"] + j * 7) % 30000,))
        return spool.put(rec, fmt="binary", **step.get("options", {}))
    if op == "put":
        return spool.put(spool_common.recording(step["rid"]), **step.get("options", {}))
    if op == "flush":
        spool_common.join_wifi()
        client = ei_http.Client(
            step.get("api_key", spool_common.API_KEY), spool_common.HMAC_KEY, "SIM",
            host="127.0.0.1", port=step["port"], tls=False, timeout=5,
        )  # fmt: skip
        return spool.flush(client, **step.get("options", {}))
    if op == "requeue":
        return spool.requeue(step.get("seq"))
    if op == "discard":
        return spool.discard(step.get("seq"))
    if op == "flash_full":
        DEVICE[0].full = step["on"]
        return None
    raise ValueError("unknown op %r" % op)


def main(path):
    with open(path) as f:
        spec = json.load(f)
    ei_errors.set_log(None)
    if spec.get("lfs_blocks"):
        dev = RAMBlockDev(spec["lfs_blocks"])
        DEVICE.append(dev)
        os.VfsLfs2.mkfs(dev)
        os.mount(os.VfsLfs2(dev), "/flash")
    spool = open_spool(spec)
    for i, step in enumerate(spec["steps"]):
        ret = error = None
        try:
            if step["op"] == "restart":
                spool = open_spool(spec)
            else:
                ret = run(spool, spec, step)
        except Exception as e:  # the state after it is what the test checks
            error = [type(e).__name__, str(e)]
        print(
            json.dumps(
                {
                    "step": i, "op": step["op"], "ret": ret, "error": error,
                    "pending": len(spool), "failed": spool.failed(),
                    "files": sorted(os.listdir(spec["dir"])),
                    "failed_files": sorted(os.listdir(spec["dir"] + "/failed")),
                    "used": spool.used, "failed_bytes": spool.failed_bytes,
                }
            )
        )  # fmt: skip


main(sys.argv[1])
