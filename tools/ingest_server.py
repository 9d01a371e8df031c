"""Local Edge Impulse ingestion server: collect data without a cloud account.

Implements the ingestion API (POST /api/<category>/files and /data) strictly: data acquisition
files are validated, HS256 signatures checked, every sample stored durably under --data-dir with
an SQLite index, listed by GET /api/samples. It is also the oracle the device library's upload
tests run against, so it shares no code with lib/.

It also serves the dataset page (``/``), exports the dataset in Edge Impulse's layout, and is
safe on a LAN: off loopback it refuses the development keys (or makes random ones), offers a
self-signed TLS certificate, and wants the API key (or a login) on every route.

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
from ingest import page_devices, remote_api
from ingest.app import ServerConfig, make_app
from ingest.auth import SECURITY_KEY, Security
from ingest.keys import (
    Keys,
    KeysFileError,
    dev_keys_in,
    is_loopback_host,
    keys_path,
    load_keys,
    new_keys,
    save_keys,
)
from ingest.netinfo import addresses_for_bind
from ingest.refusals import log_parser_refusals
from ingest.remote_hub import RemoteHub
from ingest.remote_ws import WsSettings, make_ws_app
from ingest.selfsigned import default_hosts, ensure_server_tls
from ingest.store import SampleStore

DEFAULT_PORT = 4810
DEFAULT_REMOTE_PORT = 4802
DEFAULT_MAX_BODY = 100 * 1024 * 1024
MAX_HEADER_LINE = 8190  # bytes: request line and each header line
MAX_HEADERS = 100  # header lines a request
EPILOG = f"""\
endpoints (x-api-key required):
  POST /api/<category>/files   multipart, each file a part named 'data' (JSON answer)
  POST /api/<category>/data    raw body named by x-file-name (text/plain answer)
  GET  /api/samples            the index as JSON (?category=...&label=... filter it)
  GET  /api/samples/<id>/raw   the stored bytes
  GET  /api/export             the dataset as a zip in Edge Impulse's exporter layout
  remote management (Studio's shapes, see tools/remote.py):
  GET  /v1/api/<project>/devices, POST /v1/api/<project>/device/<id>/start-sampling,
  GET  /v1/api/<project>/sampling/<request id>; devices connect to ws://<host>:4802
  categories: training, testing, anomaly, validation, post-processing, split
  (split: stored as training or testing, about 80/20, chosen by the file's SHA-256)
  headers: x-label, x-no-label, x-disallow-duplicates, x-add-date-id, x-metadata,
           x-upload-source

the dataset page (a browser): http://HOST:PORT/
  bound to loopback (the default) it opens without a key for this computer; on any other
  address it asks for the API key once (login form; HttpOnly, SameSite=Strict cookie).
  With remote management on, its Devices panel lists the devices and starts a sample.

signatures:
  HS256 files are verified with --hmac-key and listed as 'valid' or 'invalid' (an
  invalid one is stored and marked, like the real service, unless
  --require-valid-signature). Without --hmac-key a signed file is listed as
  'unverified'; unsigned files (alg none) as 'none'. Keys are never printed, except
  new keys once on a terminal.

keys:
  --api-key/--hmac-key, or else the keys in <data-dir>/keys.json (random keys are made
  and written there on first start). On an address other than loopback the development
  keys (ei_local_dev_key, local_dev_hmac_key) are refused.

limits:
  request bodies up to --max-body bytes (413 beyond); request and header lines up to
  {MAX_HEADER_LINE} bytes, at most {MAX_HEADERS} header lines (400 beyond); multipart: at
  most 1010 parts (1000 files) of at most 8192 bytes of part headers; login form 4096
  bytes. A wrong key spends the address's budget of 10 (one back every 6 s); without
  budget an address gets 429. Loopback is never slowed down.

storage: <data-dir>/<category>/<label or _unlabeled>/<file>, indexed in
  <data-dir>/index.sqlite; a restart keeps everything. TLS files (--tls-self-signed)
  in <data-dir>/tls/.
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
        "--api-key",
        action="append",
        default=[],
        help="accepted x-api-key (repeatable; default: the one in <data-dir>/keys.json)",
    )
    parser.add_argument(
        "--hmac-key",
        default=None,
        help="HMAC key string to verify HS256 (default with keys.json: the one there)",
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes ({DEFAULT_MAX_BODY}); larger ones get 413",
    )
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    parser.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a certificate made on first use in <data-dir>/tls/ (a board "
        "checks it with <data-dir>/tls/ca.der: make ca LOCAL=1)",
    )
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
        help="TEST ONLY, loopback only: enable the /_faults control endpoints",
    )
    args = parser.parse_args(argv)
    if any(not key for key in args.api_key):
        parser.error("--api-key must not be empty")
    if args.hmac_key == "":
        parser.error("--hmac-key must not be empty")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_self_signed and args.tls_cert:
        parser.error("--tls-self-signed and --tls-cert are alternatives: give one")
    if args.require_valid_signature and not args.hmac_key and args.api_key:
        parser.error("--require-valid-signature needs --hmac-key")
    if args.max_body <= 0:
        parser.error("--max-body must be positive")
    if args.remote_port is None:
        args.remote_port = 0 if args.port == 0 else DEFAULT_REMOTE_PORT
    if not 0 < args.remote_ping_s < args.remote_silent_s:
        parser.error("--remote-ping-s must be > 0 and below --remote-silent-s")
    if not is_loopback_host(args.host):
        dev = dev_keys_in(tuple(args.api_key), args.hmac_key)
        if dev:
            parser.error(
                f"refusing to listen on {args.host} with {' and '.join(dev)}: anyone on the "
                "network could use them. Leave out --api-key/--hmac-key to use random keys "
                "(made once, kept in <data-dir>/keys.json), or give your own"
            )
        if args.enable_faults:
            parser.error("--enable-faults is for tests on loopback only")
    return args


def announce_new_keys(keys: Keys, path: Path) -> None:
    """Show new keys once, on a terminal only: a redirected log never gets them."""
    if sys.stdout.isatty():
        print(f"new keys for this server (shown once; kept in {path}):", flush=True)
        print(f'  API_KEY = "{keys.api_key}"', flush=True)
        print(f'  HMAC_KEY = "{keys.hmac_key}"', flush=True)
    else:
        print(f"new keys written to {path} (not shown: this output is not a terminal)", flush=True)


def resolve_keys(args: argparse.Namespace, data_dir: Path) -> tuple[tuple[str, ...], str | None]:
    """(accepted API keys, HMAC key): from the flags, else keys.json (made if missing)."""
    if args.api_key:
        return tuple(args.api_key), args.hmac_key
    keys = load_keys(data_dir)
    if keys is None:
        keys = new_keys()
        announce_new_keys(keys, save_keys(data_dir, keys))
    else:
        print(f"keys from {keys_path(data_dir)} (not shown)", flush=True)
    return (keys.api_key,), args.hmac_key or keys.hmac_key


def print_lan_hints(host: str, port: int, tls: bool) -> None:
    """Where a board finds this server: the lines to put in config.py."""
    if is_loopback_host(host):
        return
    addresses = addresses_for_bind(host)
    if not addresses:
        print("no LAN address found: join the board's network, then restart", flush=True)
    extra = ' TLS = True  CA = "/ca.der" (make ca LOCAL=1)' if tls else " TLS = False"
    for address in addresses:
        print(f'for a board, config.py: HOST = "{address}"  PORT = {port} {extra}', flush=True)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def server_tls(args: argparse.Namespace, data_dir: Path) -> ssl.SSLContext | None:
    if args.tls_cert:
        return tls_context(args.tls_cert, args.tls_key)
    if not args.tls_self_signed:
        return None
    extra = addresses_for_bind(args.host) if not is_loopback_host(args.host) else []
    made = ensure_server_tls(data_dir, default_hosts(extra))
    action = "made" if made.reissued else "reused"
    print(
        f"TLS: {action} {made.server_pem} for {', '.join(made.hosts)}; a board checks it with "
        f"{made.ca_der} (make ca LOCAL=1 copies it to build/ca.der)",
        flush=True,
    )
    return tls_context(str(made.server_pem), str(made.server_key))


async def serve(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    api_keys, hmac_key = resolve_keys(args, data_dir)
    if args.require_valid_signature and not hmac_key:
        raise SystemExit("ingest_server: --require-valid-signature needs an HMAC key")
    ssl_context = server_tls(args, data_dir)
    store = SampleStore(data_dir)
    config = ServerConfig(
        api_keys=api_keys,
        hmac_key=hmac_key,
        max_body=args.max_body,
        require_valid_signature=args.require_valid_signature,
        enable_faults=args.enable_faults,
    )
    security = Security(
        api_keys, local_trust=is_loopback_host(args.host), tls=ssl_context is not None
    )
    app = make_app(config, store, security)
    hub = RemoteHub(config.api_keys, config.hmac_key)
    remote_api.register(app, hub)
    if args.remote_port >= 0:  # the page's Devices panel only when devices can connect
        page_devices.install(app, hub)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=5.0,
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
        max_headers=MAX_HEADERS,
    )
    await runner.setup()
    runners = [runner]
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context else "http"
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    if args.remote_port >= 0:
        settings = WsSettings(
            args.remote_ping_s, args.remote_silent_s, min(10.0, args.remote_silent_s)
        )
        ws_runner = web.AppRunner(
            make_ws_app(hub, settings, app[SECURITY_KEY].budget),
            access_log=None,
            shutdown_timeout=5.0,
        )
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
    print_lan_hints(args.host, port, ssl_context is not None)
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
    log_parser_refusals()
    try:
        asyncio.run(serve(args))
    except KeysFileError as exc:
        print(f"ingest_server: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        print(f"ingest_server: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
