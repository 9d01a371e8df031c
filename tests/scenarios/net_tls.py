# TLS client: argv = bundle.der port mode; mode "split" loads one certificate per call (as the
# library's loader does for mbedTLS), "single" passes the whole file to one call.
import json
import socket
import sys

import ei_net
import tls


def der_spans(data):
    # Test-side splitter (short-form and 2-byte lengths, all a root certificate uses).
    spans = []
    i = 0
    while i < len(data):
        n = data[i + 1]
        size = n + 2 if n < 0x80 else ((data[i + 2] << 8) | data[i + 3]) + 4
        spans.append((i, i + size))
        i += size
    return spans


path, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    data = f.read()
ei_net.connect("sim-lab", "sim-password", retries=0)  # the sim's sockets need its Wi-Fi
ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = tls.CERT_REQUIRED
out = {}
if mode == "split":
    spans = der_spans(data)
    for start, end in spans:
        ctx.load_verify_locations(data[start:end])
    out["loaded"] = len(spans)
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
