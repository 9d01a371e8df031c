# TLS client: argv = bundle.der port mode; mode "split" loads with ei_net.load_ca (one
# certificate per call), "single" passes the whole file to one load_verify_locations() call.
import json
import socket
import sys

import ei_net
import tls

path, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    data = f.read()
ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = tls.CERT_REQUIRED
out = {}
if mode == "split":
    out["loaded"] = ei_net.load_ca(ctx, data)
else:
    ctx.load_verify_locations(data)
sock = socket.socket()
try:
    sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s = ctx.wrap_socket(sock, server_hostname="localhost")
    out["ok"] = True
    out["reply"] = s.read(5).decode()
    s.close()
except (OSError, ValueError) as e:
    out["ok"] = False
    out["error"] = repr(e)
    sock.close()
print(json.dumps(out))
