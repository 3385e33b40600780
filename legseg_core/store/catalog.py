"""The SQLite catalog: schema, migrations, connections and retried write transactions.

The catalog runs in WAL mode, so readers never wait for a writer; every write is one
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so two processes never
deadlock on a lock upgrade), with a busy timeout and a few retries on top. Label versions are
immutable in the schema itself: triggers abort any UPDATE or DELETE of a row.

The schema carries its version in ``schema_migrations``; :data:`MIGRATIONS` lists every step
from an empty file, and opening an older catalog applies the missing steps in one transaction.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from legseg_core.errors import StoreError
from legseg_core.store.errors import StoreVersionError

log = logging.getLogger(__name__)
T = TypeVar("T")

CATALOG_NAME = "catalog.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0
WRITE_ATTEMPTS = 8

_SCHEMA_1 = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cases (
    id TEXT PRIMARY KEY CHECK (id GLOB 'case-[0-9a-f]*'),
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    contrast TEXT NOT NULL,
    protocol TEXT NOT NULL DEFAULT '',
    site TEXT NOT NULL DEFAULT '',
    scanner TEXT NOT NULL DEFAULT '',
    health TEXT NOT NULL CHECK (health IN ('healthy', 'patient', 'unknown')),
    diagnosis TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    extra_json TEXT NOT NULL DEFAULT '{}',
    source_name_sha256 TEXT,
    shape_z INTEGER NOT NULL, shape_y INTEGER NOT NULL, shape_x INTEGER NOT NULL,
    spacing_z REAL NOT NULL, spacing_y REAL NOT NULL, spacing_x REAL NOT NULL,
    geometry_json TEXT NOT NULL,
    technical_json TEXT NOT NULL DEFAULT '{}',
    split TEXT NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    status TEXT NOT NULL CHECK (status IN ('new', 'in_review', 'accepted', 'excluded')),
    accepted_version TEXT REFERENCES label_versions(id),
    latest_version TEXT REFERENCES label_versions(id),
    version_count INTEGER NOT NULL DEFAULT 0,
    image_names TEXT NOT NULL DEFAULT 'image'
);
CREATE INDEX cases_stratum ON cases (contrast, health);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX cases_source ON cases (source_name_sha256);
CREATE TABLE images (
    case_id TEXT NOT NULL REFERENCES cases(id),
    name TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    PRIMARY KEY (case_id, name)
);
CREATE INDEX images_checksum ON images (sha256);
CREATE TABLE label_versions (
    id TEXT PRIMARY KEY CHECK (id GLOB 'lv-[0-9a-f]*'),
    case_id TEXT NOT NULL REFERENCES cases(id),
    parent_id TEXT REFERENCES label_versions(id),
    provenance TEXT NOT NULL,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    voxels_json TEXT NOT NULL,
    edits_json TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX label_versions_case ON label_versions (case_id);
CREATE TRIGGER label_versions_no_update BEFORE UPDATE ON label_versions
BEGIN SELECT RAISE(ABORT, 'label versions are immutable'); END;
CREATE TRIGGER label_versions_no_delete BEFORE DELETE ON label_versions
BEGIN SELECT RAISE(ABORT, 'label versions are immutable'); END;
CREATE TRIGGER images_no_update BEFORE UPDATE ON images
BEGIN SELECT RAISE(ABORT, 'stored images are immutable'); END;
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    time TEXT NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_events_case ON case_events (case_id);
CREATE TABLE models (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES models(id),
    created TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'candidate', 'rejected', 'retired')),
    architecture TEXT NOT NULL DEFAULT '',
    file TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT '',
    metrics_json TEXT NOT NULL DEFAULT '{}',
    training_json TEXT NOT NULL DEFAULT '{}'
);
"""

_SCHEMA_2 = """
CREATE TABLE label_quality (
    version_id TEXT PRIMARY KEY REFERENCES label_versions(id),
    created TEXT NOT NULL,
    flag_count INTEGER NOT NULL,
    effort REAL NOT NULL,
    uncertainty REAL,
    report_json TEXT NOT NULL
);
"""

#: (version, description, SQL) from an empty catalog to the current schema; append, never edit.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "cases, images, immutable label versions, case events, model registry table", _SCHEMA_1),
    (2, "quality-control report of a label version (flags, effort, per-leg volumes)", _SCHEMA_2),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(eq=False)
class _Handle:
    """One thread's connection, its owner process, and the lock held while a transaction uses it."""

    connection: sqlite3.Connection
    pid: int
    guard: threading.RLock = field(default_factory=threading.RLock)
    closed: bool = False


class Catalog:
    """The SQLite file of one store. Each thread (and each forked process) gets its own connection,
    kept open between operations; use :meth:`read` and :meth:`write` to run a function inside a
    transaction, and :meth:`close` when done. :meth:`close` may come from any thread: it waits for
    a transaction another thread is running to end before it closes that thread's connection (a
    connection closed under a running query crashes the process), and that thread opens a new one
    if it goes on."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._handles: list[_Handle] = []

    @classmethod
    def create(cls, path: Path, settings: dict[str, str]) -> "Catalog":
        """Create a new catalog file with the current schema and the given settings."""
        catalog = cls(path)
        with catalog._use() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        catalog.migrate()
        catalog.write(lambda c: c.executemany("INSERT INTO settings (key, value) VALUES (?, ?)",
                                              sorted(settings.items())))
        return catalog

    def _handle(self) -> _Handle:
        handle = getattr(self._local, "handle", None)
        if handle is not None and handle.pid == os.getpid() and not handle.closed:
            return handle
        # A connection inherited through fork() must not be used; it is left alone, not closed.
        connection = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                     check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=FULL")
        handle = _Handle(connection, os.getpid())
        self._local.handle = handle
        with self._lock:
            self._handles.append(handle)
        return handle

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held (so that :meth:`close` waits) for one transaction."""
        while True:
            handle = self._handle()
            with handle.guard:
                if handle.closed:  # closed by another thread between the lookup and the lock: open anew
                    continue
                yield handle.connection
                return

    def close(self) -> None:
        """Close this process's connections (the catalog reopens one if used again); a connection in
        use by another thread is closed when its transaction ends."""
        with self._lock:
            mine = [handle for handle in self._handles if handle.pid == os.getpid()]
            self._handles = [handle for handle in self._handles if handle.pid != os.getpid()]
        self._local = threading.local()
        for handle in mine:
            with handle.guard:
                handle.connection.close()
                handle.closed = True

    def read(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(connection)`` inside one read transaction (a consistent snapshot)."""
        with self._use() as connection:
            connection.execute("BEGIN")
            try:
                return function(connection)
            finally:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")

    def write(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(connection)`` in one write transaction; retry it while the store is busy."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return self._write_once(function)
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or attempt == WRITE_ATTEMPTS:
                    raise StoreError(f"{self.path}: the catalog stayed busy or failed: {error}") from None
                pause = min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.0)
                log.info("%s busy (%s), retrying in %.2f s", self.path, error, pause)
                time.sleep(pause)
        raise StoreError(f"{self.path}: the catalog stayed busy")  # pragma: no cover - loop returns or raises

    def _write_once(self, function: Callable[[sqlite3.Connection], T]) -> T:
        with self._use() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = function(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

    def schema_version(self) -> int:
        """The schema version of the file (0 for a file with no schema yet)."""
        def version(connection: sqlite3.Connection) -> int:
            exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                                        "name='schema_migrations'").fetchone()
            if not exists:
                return 0
            return int(connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
        try:
            return self.read(version)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not a LegSeg catalog ({error})") from None

    def migrate(self) -> None:
        """Bring the schema up to :data:`SCHEMA_VERSION`; refuse a catalog from a newer LegSeg."""
        if self.schema_version() > SCHEMA_VERSION:
            raise StoreVersionError(f"{self.path}: catalog schema version {self.schema_version()} is newer than "
                                    f"this LegSeg knows ({SCHEMA_VERSION}); update LegSeg")
        if self.schema_version() < SCHEMA_VERSION:
            self.write(_apply_migrations)

    def setting(self, key: str) -> str | None:
        """One value of the settings table, or None."""
        row = self.read(lambda c: c.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone())
        return None if row is None else str(row[0])


def _apply_migrations(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                       "description TEXT NOT NULL, applied TEXT NOT NULL)")
    current = int(connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
    for version, description, sql in MIGRATIONS:
        if version <= current:
            continue
        for statement in _statements(sql):
            connection.execute(statement)
        connection.execute("INSERT INTO schema_migrations (version, description, applied) VALUES (?, ?, ?)",
                           (version, description, now_iso()))
        log.info("catalog migrated to schema version %d: %s", version, description)


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (triggers hold ';' inside BEGIN ... END)."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text
