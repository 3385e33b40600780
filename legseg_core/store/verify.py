"""``verify``: the catalog is consistent and every catalogued file is present and intact.

Checks, in order: SQLite's own integrity and foreign-key checks; that every case has its
segmentation image, that accepted versions and parents belong to their case, and that accepted
cases name a version; then every catalogued file's presence, size and sha256. Files under
``cases/`` that no catalog row names are *leftovers* of interrupted writes (temporary files, or
complete files whose row was never committed): they are reported, never used, and removed by
``repair`` once older than a grace period, under the catalog's write lock, so that a write in
progress in another process is never disturbed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.checksums import file_sha256
from legseg_core.store.files import remove_file
from legseg_core.store.naming import inside

if TYPE_CHECKING:
    from legseg_core.store.store import Store

log = logging.getLogger(__name__)

_CONSISTENCY_CHECKS = (
    ("SELECT id FROM cases c WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.case_id = c.id AND i.name = 'image')",
     "case {0} has no segmentation image"),
    ("SELECT c.id, c.accepted_version FROM cases c JOIN label_versions v ON v.id = c.accepted_version "
     "WHERE v.case_id != c.id", "case {0}: its accepted version {1} belongs to another case"),
    ("SELECT id FROM cases WHERE status = 'accepted' AND accepted_version IS NULL",
     "case {0} is accepted but names no accepted version"),
    ("SELECT v.id, v.parent_id FROM label_versions v JOIN label_versions p ON p.id = v.parent_id "
     "WHERE p.case_id != v.case_id", "label version {0}: its parent {1} belongs to another case"),
)


@dataclass
class VerifyReport:
    """What :func:`verify_store` found. ``ok`` is True when there is no problem; leftovers are
    harmless (never read) and do not count as problems."""

    checked_files: int = 0
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the catalog is consistent and every catalogued file is intact."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ok": self.ok, "checked_files": self.checked_files, "problems": self.problems,
                "leftovers": self.leftovers, "removed": self.removed}


def verify_store(store: "Store", *, repair: bool = False, grace_seconds: float = 600.0) -> VerifyReport:
    """Check the store; with ``repair``, remove leftovers older than ``grace_seconds``."""
    report = VerifyReport()
    files = store.catalog.read(lambda c: _check_catalog(c, report))
    for relative, (sha256, size) in sorted(files.items()):
        _check_file(store.root, relative, sha256, size, report)
    report.leftovers = [str(p.relative_to(store.root)) for p in _leftovers(store.root, set(files))]
    if repair:
        report.removed = store.catalog.write(lambda c: _remove_leftovers(c, store.root, grace_seconds))
        report.leftovers = [p for p in report.leftovers if p not in report.removed]
    log.info("verified %d files: %d problems, %d leftovers", report.checked_files, len(report.problems),
             len(report.leftovers))
    return report


def _catalogued_files(connection: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    rows = connection.execute("SELECT file, sha256, size_bytes FROM images UNION ALL "
                              "SELECT file, sha256, size_bytes FROM label_versions").fetchall()
    return {str(file): (str(sha256), int(size)) for file, sha256, size in rows}


def _check_catalog(connection: sqlite3.Connection, report: VerifyReport) -> dict[str, tuple[str, int]]:
    integrity = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    if integrity != ["ok"]:
        report.problems += [f"catalog: {line}" for line in integrity]
    for table, rowid, parent, _ in connection.execute("PRAGMA foreign_key_check").fetchall():
        report.problems.append(f"catalog: row {rowid} of {table} points to a missing row of {parent}")
    for query, message in _CONSISTENCY_CHECKS:
        report.problems += [message.format(*row) for row in connection.execute(query).fetchall()]
    return _catalogued_files(connection)


def _check_file(root: Path, relative: str, sha256: str, size: int, report: VerifyReport) -> None:
    report.checked_files += 1
    path = inside(root, relative)
    if not path.is_file():
        report.problems.append(f"{relative}: missing")
    elif path.stat().st_size != size:
        report.problems.append(f"{relative}: {path.stat().st_size} bytes, the catalog says {size}")
    elif file_sha256(path) != sha256:
        report.problems.append(f"{relative}: checksum does not match the catalog")


def _leftovers(root: Path, catalogued: set[str]) -> list[Path]:
    """Files under cases/ that no catalog row names, then folders holding no file, deepest first."""
    cases = root / "cases"
    if not cases.is_dir():
        return []
    files = [p for p in cases.rglob("*") if p.is_file() and p.relative_to(root).as_posix() not in catalogued]
    return sorted(files) + _empty_folders(cases)


def _empty_folders(cases: Path) -> list[Path]:
    folders = [p for p in cases.rglob("*") if p.is_dir() and not any(q.is_file() for q in p.rglob("*"))]
    return sorted(folders, key=lambda p: len(p.parts), reverse=True)


def _remove_leftovers(connection: sqlite3.Connection, root: Path, grace_seconds: float) -> list[str]:
    """Delete leftover files older than the grace period, then the folders that are empty and either
    old or emptied now; runs inside the write lock."""
    now = time.time()
    removed: list[Path] = []
    for path in _leftovers(root, set(_catalogued_files(connection))):
        if path.is_file() and now - path.stat().st_mtime >= grace_seconds:
            remove_file(path)
            removed.append(path)
    emptied = {p.parent for p in removed}
    for folder in _empty_folders(root / "cases"):
        if not any(folder.iterdir()) and (folder in emptied or now - folder.stat().st_mtime >= grace_seconds):
            folder.rmdir()
            removed.append(folder)
            emptied.add(folder.parent)
    for path in removed:
        log.info("removed leftover %s", path)
    return [str(p.relative_to(root)) for p in removed]
