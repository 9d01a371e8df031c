"""Move a local dataset: export it in Edge Impulse's layout, or push it to a project.

    .venv/bin/python tools/dataset.py export OUT_DIR [--data-dir data]
    EI_API_KEY=ei_... .venv/bin/python tools/dataset.py push [--data-dir data]
        [--endpoint https://ingestion.edgeimpulse.com] [--hmac-key KEY] [--category C] ...

``export`` writes info.labels and training/, testing/ ... (see tools/ingest/export.py): what
``edge-impulse-uploader --info-file OUT_DIR/info.labels`` and the Python SDK's
``edgeimpulse.data.upload_exported_dataset(OUT_DIR)`` read, labels and categories kept.

``push`` sends every sample to an ingestion API (EI_INGESTION_ENDPOINT or --endpoint; HTTPS by
default) with the key from EI_API_KEY or --api-key, a progress bar on a terminal and a summary
at the end. A push cut short is run again: the target refuses what it already has
(x-disallow-duplicates), so every sample arrives once. ``--hmac-key`` (or EI_HMAC_KEY with
``--resign``) re-signs HS256 files with the target project's HMAC key, values untouched.

Both read the data directory directly (read-only; the server may keep running). Keys are never
printed. Exit status: 0 done, 1 some samples failed, 2 bad usage or a refused key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest.export import ExportError, plan, write_directory  # noqa: E402
from ingest.keys import is_loopback_host  # noqa: E402
from ingest.push import DEFAULT_ENDPOINT, PushAuthError, Target, push  # noqa: E402
from ingest.store import SampleStore  # noqa: E402
from ingest.uploads import CATEGORIES  # noqa: E402
from tqdm import tqdm  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dataset.py",
        description="Export a local dataset in Edge Impulse's layout, or push it to a project.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("export", "write info.labels and the files in Edge Impulse's exporter layout"),
        ("push", "send the samples to an ingestion API, each once"),
    ):
        command = sub.add_parser(name, help=helptext, description=helptext)
        command.add_argument("--data-dir", default="data", help="the server's data directory")
        command.add_argument(
            "--category", action="append", choices=CATEGORIES, help="only these (repeatable)"
        )
        command.add_argument("--label", action="append", help="only these labels (repeatable)")
    sub.choices["export"].add_argument("out", type=Path, help="new (or empty) directory")
    pusher = sub.choices["push"]
    pusher.add_argument(
        "--endpoint",
        default=None,
        help=f"ingestion API (EI_INGESTION_ENDPOINT, else {DEFAULT_ENDPOINT})",
    )
    pusher.add_argument("--api-key", default=None, help="the target's API key (EI_API_KEY)")
    pusher.add_argument(
        "--hmac-key", default=None, help="re-sign HS256 files with the target's HMAC key"
    )
    pusher.add_argument(
        "--resign", action="store_true", help="re-sign with EI_HMAC_KEY (or --hmac-key)"
    )
    pusher.add_argument("--ca-file", default=None, help="PEM CA to trust (a local server's)")
    pusher.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    pusher.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar: on a terminal (auto), always or never",
    )
    return parser.parse_args(argv)


def chosen(store: SampleStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    samples = store.list_samples()
    if args.category:
        samples = [s for s in samples if s["category"] in args.category]
    if args.label:
        samples = [s for s in samples if s["label"] in args.label]
    return samples


def target_from(args: argparse.Namespace) -> Target:
    endpoint = (
        args.endpoint or os.environ.get("EI_INGESTION_ENDPOINT") or DEFAULT_ENDPOINT
    ).rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise SystemExit(f"dataset.py: --endpoint must start with https:// or http://: {endpoint}")
    api_key = args.api_key or os.environ.get("EI_API_KEY")
    if not api_key:
        raise SystemExit("dataset.py: no API key: set EI_API_KEY (or --api-key)")
    hmac_key = args.hmac_key
    if args.resign and not hmac_key:
        hmac_key = os.environ.get("EI_HMAC_KEY")
        if not hmac_key:
            raise SystemExit("dataset.py: --resign needs EI_HMAC_KEY (or --hmac-key)")
    host = endpoint.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if endpoint.startswith("http://") and not is_loopback_host(host):
        print(f"warning: {endpoint} is plain HTTP: the API key crosses the network readable")
    return Target(endpoint, api_key, hmac_key, args.ca_file, args.timeout)


def run_export(store: SampleStore, args: argparse.Namespace) -> int:
    items = plan(store, chosen(store, args))
    try:
        write_directory(items, args.out)
    except ExportError as exc:
        print(f"dataset.py: {exc}", file=sys.stderr)
        return 2
    per_category: dict[str, int] = {}
    for item in items:
        per_category[item.category] = per_category.get(item.category, 0) + 1
    counts = ", ".join(f"{n} {c}" for c, n in sorted(per_category.items())) or "no samples"
    print(f"exported {len(items)} samples ({counts}) to {args.out.resolve()}")
    print(f"upload it with: edge-impulse-uploader --info-file {args.out / 'info.labels'}")
    return 0


def run_push(store: SampleStore, args: argparse.Namespace) -> int:
    target = target_from(args)
    samples = chosen(store, args)
    disable = {"auto": None, "always": False, "never": True}[args.progress]
    with tqdm(total=len(samples), unit="sample", disable=disable, file=sys.stderr) as bar:
        try:
            outcome = push(
                store,
                target,
                samples,
                progress=lambda name: bar.update(1),
                report=bar.write,
            )
        except PushAuthError as exc:
            bar.close()
            print(f"dataset.py: {target.endpoint} refused the API key ({exc})", file=sys.stderr)
            return 2
    resigned = f", {outcome.resigned} re-signed" if target.hmac_key else ""
    print(
        f"pushed to {target.endpoint}: {outcome.sent} sent, {outcome.already} already there, "
        f"{len(outcome.failed)} failed ({len(samples)} samples{resigned})"
    )
    if outcome.failed:
        print("run the same command again to retry the failed ones", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        store = SampleStore(Path(args.data_dir), readonly=True)
    except FileNotFoundError as exc:
        print(f"dataset.py: {exc}", file=sys.stderr)
        return 2
    try:
        return run_export(store, args) if args.command == "export" else run_push(store, args)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
