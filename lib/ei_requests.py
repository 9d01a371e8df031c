"""Uploads through micropython-lib `requests`, for projects that already ship it.

The socket transport (ei_http) is the default: `requests` speaks HTTP/1.0 in older versions,
never checks certificates, and needs its own memory. Here the body is a generator, with our own
Content-Length header so that requests streams it as is (not chunked): the rows are encoded a
batch at a time and at most a chunk or two is held at once.
"""

from ei_errors import ConnectionFailed


def body(req):
    """The request body as a generator of byte chunks."""
    yield req.pre
    if req.rec is None:
        for chunk in req.file_chunks():
            yield bytes(chunk)
        yield req.post
        return
    enc = req.client._enc
    ready = []
    enc.begin(lambda chunk: ready.append(bytes(chunk)), req.head, req.fmt)
    rows = len(req.rec)
    batch = max(1, enc.size // (16 * req.rec.axes))
    for start in range(0, rows, batch):
        enc.rows(req.rec, start, min(rows, start + batch))
        while ready:
            yield ready.pop(0)
    enc.end()
    while ready:
        yield ready.pop(0)
    yield req.post


def send(client, req):
    """POST one prepared request; return (status, body, content type, location)."""
    import requests

    if client.tls and not client._insecure:
        raise ValueError("transport 'requests' cannot check certificates: use the socket transport")
    scheme = "https" if client.tls else "http"
    url = "%s://%s:%d%s" % (scheme, client.host, client.port, req.path())
    headers = {}
    for name, value in req.header_items():
        headers[name] = value
    try:
        resp = requests.post(url, data=body(req), headers=headers, timeout=client.timeout)
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
        raise ConnectionFailed("%s:%d: %s" % (client.host, client.port, e))
