# The sim's sockets follow its Wi-Fi: argv = server port, sim port flavour. Prints one JSON line.
# A connection before ei_net.connect() fails, after it works, after a drop fails, after a
# reconnect works again; ei_http turns the refusal into a ConnectionFailed that says why.
import json
import socket
import sys

import ei_errors
import ei_net
import network

ei_errors.set_log(None)
port, flavour = int(sys.argv[1]), sys.argv[2]
addr = socket.getaddrinfo("127.0.0.1", port, socket.AF_INET, socket.SOCK_STREAM)[0][-1]


def attempt():
    s = None
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(addr)
        s.send(b"ping")
        return "ok"
    except OSError as e:
        return "OSError %d: %s" % (e.args[0], e)
    finally:
        if s is not None:
            s.close()


def upload():
    import ei_ingest

    rec = ei_ingest.Recording((("x", "u"),), 10, 1)
    rec.append((1,))
    client = ei_ingest.Client("ei_k", "k", "SIM", host="127.0.0.1", port=port, tls=False)
    try:
        return client.upload(rec, label="x")
    except ei_ingest.IngestionError as e:
        return "%s: %s" % (type(e).__name__, e)


out = {"module": getattr(socket, "__file__", "built-in")}
if sys.implementation.name != "micropython":
    # What a socket.py on the path would break: modules that import the standard library's.
    import asyncio
    import ssl

    out["stdlib"] = [ssl.socket is socket.socket, asyncio.sleep is not None]
network.sim("drop_after:2", flavour)
out["before"] = attempt()
out["upload_before"] = upload()
ei_net.connect("lab-ssid", "pw", timeout_ms=1000, retries=0)
out["after_connect"] = attempt()
while ei_net.connected():  # "drop_after:2": the third check that finds the link up drops it
    pass
out["after_drop"] = attempt()
ei_net.connect("lab-ssid", "pw", timeout_ms=1000, retries=0)
out["after_reconnect"] = attempt()
ei_net.disconnect()
out["after_disconnect"] = attempt()
print(json.dumps(out))
