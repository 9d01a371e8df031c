"""The `requests` transport: uploads through micropython-lib `requests`, for projects that
already ship it (Client(..., transport="requests")); the same interface as ei_wire.Wire.

The socket transport (ei_wire) is the default: `requests` speaks HTTP/1.0 in older versions,
never checks certificates, and needs its own memory. The body goes as the request's chunk
generator, with our own Content-Length header so that requests streams it as is (not chunked).
Memory: the requests module and, while sending, one chunk copy at a time.
"""

from ei_errors import ConnectionFailed


class Wire:
    def __init__(
        self, host, port, tls, ca=None, insecure=False, timeout=10, keep_alive=False, buf=None
    ):  # fmt: skip (buf: the socket transport's; requests reads answers itself)
        if tls and not insecure:
            raise ValueError(
                "transport 'requests' cannot check certificates: use the socket transport"
            )
        self.url = "%s://%s:%d" % ("https" if tls else "http", host, port)
        self.timeout = timeout

    def close(self):
        pass  # requests opens and closes a connection per request

    def exchange(self, req):
        """POST `req`; return (status, body, content type, location)."""
        import requests

        headers = {}
        for line in req.request_head.decode().split("\r\n")[1:]:
            name, _, value = line.partition(": ")
            if name and name not in ("Host", "Connection"):
                headers[name] = value
        try:
            resp = requests.post(
                self.url + req.path, data=_copies(req), headers=headers, timeout=self.timeout
            )
            try:
                got = {}
                for name, value in (getattr(resp, "headers", None) or {}).items():
                    got[name.lower()] = value.encode() if isinstance(value, str) else value
                return (
                    resp.status_code,
                    resp.content,
                    got.get("content-type", b""),
                    got.get("location", b""),
                )
            finally:
                resp.close()
        except OSError as e:
            raise ConnectionFailed("%s: %s" % (self.url, e))


def _copies(req):
    # requests may hold a chunk while the next is made: each one a copy of the reused stage.
    for chunk in req.chunks():
        yield bytes(chunk)
