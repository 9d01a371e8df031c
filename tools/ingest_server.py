"""Local Edge Impulse ingestion server: collect data without a cloud account.

Implements the ingestion API (POST /api/<category>/files and /data) strictly: data acquisition
files are validated, HS256 signatures checked, every sample stored durably under --data-dir with
an SQLite index, listed by GET /api/samples. It is also the oracle the device library's upload
tests run against, so it shares no code with lib/.

Run: python tools/ingest_server.py --api-key ei_local_dev_key --hmac-key KEY --data-dir data
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web
from ingest import remote_api
from ingest.app import ServerConfig, make_app
from ingest.remote_hub import RemoteHub
from ingest.remote_ws import WsSettings, make_ws_app
from ingest.store import SampleStore

DEFAULT_PORT = 4810
DEFAULT_REMOTE_PORT = 4802
DEFAULT_MAX_BODY = 100 * 1024 * 1024
EPILOG = """\
endpoints (x-api-key required):
  POST /api/<category>/files   multipart, each file a part named 'data' (JSON answer)
  POST /api/<category>/data    raw body named by x-file-name (text/plain answer)
  GET  /api/samples            the index as JSON
  GET  /api/samples/<id>/raw   the stored bytes
  remote management (Studio's shapes, see tools/remote.py):
  GET  /v1/api/<project>/devices, POST /v1/api/<project>/device/<id>/start-sampling,
  GET  /v1/api/<project>/sampling/<request id>; devices connect to ws://<host>:4802
  categories: training, testing, anomaly, validation, post-processing, split
  headers: x-label, x-no-label, x-disallow-duplicates, x-add-date-id, x-metadata,
           x-upload-source

signatures:
  HS256 files are verified with --hmac-key and listed as 'valid' or 'invalid' (an
  invalid one is stored and marked, like the real service, unless
  --require-valid-signature). Without --hmac-key a signed file is listed as
  'unverified'; unsigned files (alg none) as 'none'. Keys are never printed.

storage: <data-dir>/<category>/<label or _unlabeled>/<file>, indexed in
  <data-dir>/index.sqlite; a restart keeps everything.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ingest_server.py",
        description="Local Edge Impulse ingestion server (API-compatible, strict).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="TCP port (4810; 0 picks a free one)"
    )
    parser.add_argument("--data-dir", default="data", help="where samples are stored (data)")
    parser.add_argument(
        "--api-key", action="append", default=[], help="accepted x-api-key (repeatable, required)"
    )
    parser.add_argument("--hmac-key", default=None, help="HMAC key string to verify HS256")
    parser.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes ({DEFAULT_MAX_BODY}); larger ones get 413",
    )
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    parser.add_argument(
        "--require-valid-signature",
        action="store_true",
        help="refuse (400) HS256 files whose signature does not verify",
    )
    parser.add_argument(
        "--remote-port",
        type=int,
        default=None,
        help="remote management websocket port (4802; 0 picks a free one, the default when "
        "--port is 0; -1 turns it off)",
    )
    parser.add_argument(
        "--remote-ping-s", type=float, default=30.0, help="PING a silent device after (30) s"
    )
    parser.add_argument(
        "--remote-silent-s", type=float, default=75.0, help="close a device silent for (75) s"
    )
    parser.add_argument(
        "--enable-faults",
        action="store_true",
        help="TEST ONLY: enable the /_faults control endpoints (fault injection, request log)",
    )
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("at least one --api-key is required")
    if any(not key for key in args.api_key):
        parser.error("--api-key must not be empty")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.require_valid_signature and not args.hmac_key:
        parser.error("--require-valid-signature needs --hmac-key")
    if args.max_body <= 0:
        parser.error("--max-body must be positive")
    if args.remote_port is None:
        args.remote_port = 0 if args.port == 0 else DEFAULT_REMOTE_PORT
    if not 0 < args.remote_ping_s < args.remote_silent_s:
        parser.error("--remote-ping-s must be > 0 and below --remote-silent-s")
    return args


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def serve(args: argparse.Namespace) -> None:
    store = SampleStore(Path(args.data_dir))
    config = ServerConfig(
        api_keys=tuple(args.api_key),
        hmac_key=args.hmac_key,
        max_body=args.max_body,
        require_valid_signature=args.require_valid_signature,
        enable_faults=args.enable_faults,
    )
    app = make_app(config, store)
    hub = RemoteHub(config.api_keys, config.hmac_key)
    remote_api.register(app, hub)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    runners = [runner]
    ssl_context = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context else "http"
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    if args.remote_port >= 0:
        settings = WsSettings(
            args.remote_ping_s, args.remote_silent_s, min(10.0, args.remote_silent_s)
        )
        ws_runner = web.AppRunner(make_ws_app(hub, settings), access_log=None, shutdown_timeout=5.0)
        await ws_runner.setup()
        runners.append(ws_runner)
        await web.TCPSite(ws_runner, args.host, args.remote_port, ssl_context=ssl_context).start()
        ws_scheme = "wss" if ssl_context else "ws"
        print(
            f"remote management listening on {ws_scheme}://{shown_host}:{ws_runner.addresses[0][1]}",
            flush=True,
        )
    faults = " faults=enabled" if args.enable_faults else ""
    print(
        f"ingest_server listening on {scheme}://{shown_host}:{port} data={store.data_dir}{faults}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for each in reversed(runners):
            await each.cleanup()
        store.close()
        print("ingest_server stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"ingest_server: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
