"""Durable sample storage: files under the data directory plus an SQLite index.

Each file is written to a temporary name in its final directory, fsynced, renamed into place
(and the directory fsynced), and only then is its row added to ``<data-dir>/index.sqlite``.
All rows of one request go in one transaction. A restart reopens the same index; temporary
files left by a crash are removed at start-up.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.naming import date_id, label_dir_name, with_id

TEMP_PREFIX = ".incoming-"
INDEX_NAME = "index.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    label TEXT,
    file_name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    device_type TEXT,
    device_name TEXT,
    interval_ms REAL,
    sensors TEXT,
    rows INTEGER,
    metadata TEXT NOT NULL,
    upload_source TEXT,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_sha256 ON samples (sha256);
"""


LIST_COLUMNS = (
    "id, category, label, file_name, content_type, size, sha256, signature, device_type,"
    " device_name, interval_ms, sensors, rows, metadata, upload_source, created, path"
)


def _listing(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0],
        "category": row[1],
        "label": row[2],
        "fileName": row[3],
        "contentType": row[4],
        "size": row[5],
        "sha256": row[6],
        "signature": row[7],
        "deviceType": row[8],
        "deviceName": row[9],
        "intervalMs": row[10],
        "sensors": None if row[11] is None else json.loads(row[11]),
        "rows": row[12],
        "metadata": json.loads(row[13]),
        "uploadSource": row[14],
        "created": row[15],
        "path": row[16],
    }


@dataclass
class NewSample:
    """One validated file, ready to be stored."""

    category: str
    label: str | None
    file_name: str
    data: bytes
    content_type: str
    sha256: str
    metadata: dict[str, str]
    upload_source: str | None
    add_date_id: bool
    signature: str = "none"
    # Set for data acquisition files only:
    device_type: str | None = None
    device_name: str | None = None
    interval_ms: float | None = None
    sensors: list[dict[str, str]] | None = None
    rows: int | None = None


@dataclass(frozen=True)
class StoredSample:
    sample_id: int
    file_name: str
    path: str


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SampleStore:
    """The data directory and its index. Use from one thread (the server's event loop)."""

    def __init__(self, data_dir: Path, readonly: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        if readonly:
            # For tools that read a data directory (export, push), maybe while the server runs.
            index = self.data_dir / INDEX_NAME
            if not index.exists():
                raise FileNotFoundError(f"{index}: no sample index (is this a data directory?)")
            self.db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, isolation_level=None)
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._remove_temp_files()
        self.db = sqlite3.connect(self.data_dir / INDEX_NAME, isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _remove_temp_files(self) -> None:
        for leftover in self.data_dir.rglob(f"{TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)

    def find_sha256(self, sha256: str) -> tuple[int, str] | None:
        """(sample id, stored path) of a stored file with this SHA-256, if any."""
        row = self.db.execute(
            "SELECT id, path FROM samples WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,)
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def _unique_name(self, directory: Path, name: str, force_id: bool) -> str:
        candidate = with_id(name, date_id()) if force_id else name
        while (directory / candidate).exists() or self._path_taken(directory / candidate):
            candidate = with_id(name, date_id())
        return candidate

    def _path_taken(self, path: Path) -> bool:
        relative = str(path.relative_to(self.data_dir))
        return (
            self.db.execute("SELECT 1 FROM samples WHERE path = ?", (relative,)).fetchone()
            is not None
        )

    def _write_file(self, directory: Path, name: str, data: bytes) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        temp = directory / f"{TEMP_PREFIX}{date_id()}"
        final = directory / name
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_dir(directory)
        return final

    def add(self, samples: list[NewSample]) -> list[StoredSample]:
        """Store every file, then index them all in one transaction."""
        written: list[tuple[NewSample, str, str]] = []
        try:
            for sample in samples:
                directory = self.data_dir / sample.category / label_dir_name(sample.label)
                if directory.resolve().parent.parent != self.data_dir:
                    raise RuntimeError(f"refusing to write outside the data directory: {directory}")
                name = self._unique_name(directory, sample.file_name, sample.add_date_id)
                path = self._write_file(directory, name, sample.data)
                written.append((sample, name, str(path.relative_to(self.data_dir))))
        except BaseException:
            for _, _, relative in written:
                (self.data_dir / relative).unlink(missing_ok=True)
            raise
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        stored = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for sample, name, relative in written:
                cursor = self.db.execute(
                    "INSERT INTO samples (category, label, file_name, path, content_type, size,"
                    " sha256, signature, device_type, device_name, interval_ms, sensors, rows,"
                    " metadata, upload_source, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sample.category,
                        sample.label,
                        name,
                        relative,
                        sample.content_type,
                        len(sample.data),
                        sample.sha256,
                        sample.signature,
                        sample.device_type,
                        sample.device_name,
                        sample.interval_ms,
                        None if sample.sensors is None else json.dumps(sample.sensors),
                        sample.rows,
                        json.dumps(sample.metadata),
                        sample.upload_source,
                        created,
                    ),
                )
                assert cursor.lastrowid is not None
                stored.append(StoredSample(cursor.lastrowid, name, relative))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            for _, _, relative in written:
                (self.data_dir / relative).unlink(missing_ok=True)
            raise
        return stored

    def list_samples(
        self, category: str | None = None, label: str | None = None
    ) -> list[dict[str, Any]]:
        """Every sample as the JSON object GET /api/samples returns, ordered by id; optionally
        only one category and/or one label."""
        where, params = [], []
        if category is not None:
            where.append("category = ?")
            params.append(category)
        if label is not None:
            where.append("label = ?")
            params.append(label)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.execute(f"SELECT {LIST_COLUMNS} FROM samples{clause} ORDER BY id", params)
        return [_listing(row) for row in rows.fetchall()]

    def sample(self, sample_id: int) -> dict[str, Any] | None:
        """One sample's listing entry, or None."""
        row = self.db.execute(
            f"SELECT {LIST_COLUMNS} FROM samples WHERE id = ?", (sample_id,)
        ).fetchone()
        return None if row is None else _listing(row)

    def counts(self) -> list[dict[str, Any]]:
        """How many samples per (category, label)."""
        rows = self.db.execute(
            "SELECT category, label, COUNT(*) FROM samples GROUP BY category, label"
            " ORDER BY category, label"
        ).fetchall()
        return [{"category": row[0], "label": row[1], "count": row[2]} for row in rows]

    def version(self) -> str:
        """Changes whenever a sample is added or deleted (ids are never reused)."""
        count, last = self.db.execute("SELECT COUNT(*), MAX(id) FROM samples").fetchone()
        return f"{count}:{last or 0}"

    def delete(self, sample_id: int) -> bool:
        """Remove a sample's index row, then its file. False when there is no such sample."""
        found = self.raw_path(sample_id)
        if found is None:
            return False
        self.db.execute("DELETE FROM samples WHERE id = ?", (sample_id,))
        found[0].unlink(missing_ok=True)
        return True

    def raw_path(self, sample_id: int) -> tuple[Path, str] | None:
        """(file path, content type) of a stored sample, if it exists."""
        row = self.db.execute(
            "SELECT path, content_type FROM samples WHERE id = ?", (sample_id,)
        ).fetchone()
        if row is None:
            return None
        return self.data_dir / row[0], str(row[1])
