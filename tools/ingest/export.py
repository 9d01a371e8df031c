"""The dataset in Edge Impulse's exporter layout: ``info.labels`` plus one folder per category.

The layout Studio's export produces and that ``edge-impulse-uploader --info-file info.labels``
and the Python SDK's ``edgeimpulse.data.upload_exported_dataset`` read back::

    info.labels            {"version": 1, "files": [{"path": "training/idle.01.json",
                             "name": "idle.01", "category": "training",
                             "label": {"type": "label", "label": "idle"} | {"type": "unlabeled"},
                             "metadata": {...}, "boundingBoxes": []}, ...]}
    training/idle.01.json  the stored bytes, unchanged (signature included)
    testing/...

Paths are relative to info.labels. Files are copied byte for byte; two samples with the same
file name in one category get the sample id before the extension (``idle.01.7.json``): the label
comes from info.labels, never from the name. Samples stored under ``split`` by an older server
are exported under the category the hash gives (see :mod:`ingest.split`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ingest.split import resolve_category
from ingest.store import SampleStore

INFO_FILE = "info.labels"


class ExportError(ValueError):
    """The export cannot be written (the message says why); nothing was left behind."""


@dataclass(frozen=True)
class ExportItem:
    sample: dict[str, Any]  # the listing entry (GET /api/samples)
    source: Path  # the stored file
    path: str  # where it goes, relative to info.labels
    category: str


def _unique_name(name: str, sample_id: int, taken: set[str]) -> str:
    if name.lower() not in taken:
        return name
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    return f"{stem}.{sample_id}{ext}"


def plan(store: SampleStore, samples: Iterable[dict[str, Any]] | None = None) -> list[ExportItem]:
    """Where every sample (or the given listing entries) goes in the export."""
    items = []
    taken: dict[str, set[str]] = {}
    for sample in samples if samples is not None else store.list_samples():
        found = store.raw_path(int(sample["id"]))
        if found is None:
            continue  # deleted meanwhile
        category = resolve_category(sample["category"], sample["sha256"])
        names = taken.setdefault(category, set())
        name = _unique_name(sample["fileName"], sample["id"], names)
        names.add(name.lower())
        items.append(ExportItem(sample, found[0], f"{category}/{name}", category))
    return items


def label_entry(label: str | None) -> dict[str, str]:
    return {"type": "label", "label": label} if label else {"type": "unlabeled"}


def info_labels(items: Iterable[ExportItem]) -> dict[str, Any]:
    files = []
    for item in items:
        name = item.path.rsplit("/", 1)[1]
        dot = name.rfind(".")
        files.append(
            {
                "path": item.path,
                "name": name[:dot] if dot > 0 else name,
                "category": item.category,
                "label": label_entry(item.sample["label"]),
                "metadata": item.sample["metadata"],
                "boundingBoxes": [],
            }
        )
    return {"version": 1, "files": files}


def write_directory(items: list[ExportItem], out: Path) -> None:
    """Write the export to ``out`` (new or empty) at once: built beside it, then renamed."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        partial.mkdir()
        for item in items:
            target = partial / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.source, target)
        text = json.dumps(info_labels(items), indent=2, ensure_ascii=False) + "\n"
        (partial / INFO_FILE).write_text(text, "utf-8")
        if out.exists():
            out.rmdir()
        os.rename(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def write_zip(items: list[ExportItem], stream: IO[bytes], root: str = "dataset") -> None:
    """The same layout as a zip archive under ``root/`` (for the page's download)."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{root}/{INFO_FILE}", json.dumps(info_labels(items), indent=2, ensure_ascii=False)
        )
        for item in items:
            archive.write(item.source, f"{root}/{item.path}")
