"""Board-side scenario: ei_ws's keep-alive path allocates nothing (micropython only).

usage: ws_heaplock.py URL MODE  ->  prints one JSON line
MODE "pings": 20 rounds of ping() and recv() until the PONG has been read, under heap_lock;
MODE "send": the same rounds with send(str(i)) instead: the negative control, it allocates.
"""

import gc
import json
import sys

import ei_ws
import micropython
import spool_common


def main(url, mode):
    spool_common.join_wifi()
    ws = ei_ws.WebSocket(url, timeout=5)
    ws.connect()
    frames = ws.frames
    rounds = 0
    error = None
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(20):
            if mode == "pings":
                ws.ping()
            else:
                ws.send(str(i))
            while ws.frames == frames:
                ws.recv(1000)
            frames = ws.frames
            rounds += 1
    except MemoryError:
        error = "MemoryError"
    finally:
        micropython.heap_unlock()
    ws.close()
    print(json.dumps({"rounds": rounds, "error": error}))


main(sys.argv[1], sys.argv[2])
