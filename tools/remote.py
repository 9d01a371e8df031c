"""Start a sample on a connected board from the command line, as Studio's "Start sampling" does.

    .venv/bin/python tools/remote.py devices
    .venv/bin/python tools/remote.py sample --device 24:0a:c4:5e:1a:01 --label wave \\
        --length-ms 2000 [--interval-ms 10 | --frequency 100] [--sensor Accelerometer] \\
        [--category training] [--no-wait]
    .venv/bin/python tools/remote.py status 3

It calls the local server's Studio-shaped API (tools/ingest/remote_api.py) on the ingestion
port: --server (default http://127.0.0.1:4810; https:// with --cafile for a self-signed
server). The API key comes from --api-key or the EI_API_KEY environment variable (default:
`make server`'s development key) and is never printed. `sample` waits until the request is
finished (the board's upload is stored) or failed, printing each step.

Exit status: 0 done, 1 the request failed or timed out, 3 the server refused the call.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

DEV_KEY = "ei_local_dev_key"


class ApiError(Exception):
    pass


class Api:
    def __init__(self, server: str, api_key: str, cafile: str | None, project: str) -> None:
        self.base = server.rstrip("/") + f"/v1/api/{project}"
        self.api_key = api_key
        self.context = ssl.create_default_context(cafile=cafile) if cafile else None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        req = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"x-api-key": self.api_key, "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=15, context=self.context) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            try:
                why = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                why = exc.reason
            raise ApiError(f"HTTP {exc.code}: {why}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot reach {self.base}: {exc}") from None


def show_devices(api: Api) -> int:
    devices = api.call("GET", "/devices")["devices"]
    if not devices:
        print("no device has connected yet")
    for d in sorted(devices, key=lambda d: not d["remote_mgmt_connected"]):
        state = "connected" if d["remote_mgmt_connected"] else f"last seen {d['lastSeen']}"
        sensors = "; ".join(
            f"{s['name']} ({', '.join(f'{f:g}' for f in s['frequencies'])} Hz, "
            f"max {s['maxSampleLengthS']} s)"
            for s in d["sensors"]
        )
        print(f"{d['deviceId']}  {d['deviceType']}  {state}  {sensors}")
    return 0


def sample(api: Api, args: argparse.Namespace) -> int:
    interval = args.interval_ms if args.interval_ms is not None else 1000 / args.frequency
    body: dict[str, Any] = {"label": args.label, "lengthMs": args.length_ms,
                            "category": args.category, "intervalMs": interval}  # fmt: skip
    if args.sensor:
        body["sensor"] = args.sensor
    request_id = api.call("POST", f"/device/{args.device}/start-sampling", body)["id"]
    print(f"sampling request {request_id} sent to {args.device}")
    if args.no_wait:
        return 0
    deadline = time.monotonic() + args.length_ms / 1000 + args.timeout
    last = None
    while time.monotonic() < deadline:
        state = api.call("GET", f"/sampling/{request_id}")["request"]
        if state["state"] != last:
            last = state["state"]
            print(f"  {last}")
        if last == "finished":
            s = state["sample"]
            print(f"stored as {s['fileName']} (sample {s['id']}, {s['rows']} rows, "
                  f"signature {s['signature']})")  # fmt: skip
            return 0
        if last == "failed":
            print(f"failed: {state['error']}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(f"request {request_id} not finished in time (last state: {last})", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="remote.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="http://127.0.0.1:4810", help="ingestion server URL")
    parser.add_argument("--api-key", default=None, help="default: $EI_API_KEY or the dev key")
    parser.add_argument("--cafile", default=None, help="PEM CA for an https:// server")
    parser.add_argument("--project", default="1", help="project id (any: one local project)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("devices", help="list the devices that said hello")
    s = sub.add_parser("sample", help="ask a connected device for a sample")
    s.add_argument("--device", required=True, help="deviceId (the board's Wi-Fi MAC)")
    s.add_argument("--label", required=True)
    s.add_argument("--length-ms", type=int, required=True)
    rate = s.add_mutually_exclusive_group()
    rate.add_argument("--interval-ms", type=float, default=None)
    rate.add_argument("--frequency", type=float, default=100.0, help="Hz (100)")
    s.add_argument("--sensor", default=None, help="default: the device's first sensor")
    s.add_argument("--category", default="training",
                   choices=["training", "testing", "validation", "post-processing"])  # fmt: skip
    s.add_argument("--no-wait", action="store_true", help="do not wait for the result")
    s.add_argument("--timeout", type=float, default=120.0, help="s beyond the length (120)")
    st = sub.add_parser("status", help="one sampling request's state, as JSON")
    st.add_argument("request_id", type=int)
    args = parser.parse_args(argv)
    if args.command == "sample" and args.interval_ms is None and args.frequency <= 0:
        parser.error("--frequency must be > 0")
    key = args.api_key or os.environ.get("EI_API_KEY") or DEV_KEY
    api = Api(args.server, key, args.cafile, args.project)
    try:
        if args.command == "devices":
            return show_devices(api)
        if args.command == "sample":
            return sample(api, args)
        print(json.dumps(api.call("GET", f"/sampling/{args.request_id}")["request"], indent=2))
        return 0
    except ApiError as exc:
        print(f"remote.py: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
