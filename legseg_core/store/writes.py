"""Writing the catalog: the INSERTs and UPDATEs of one transaction each, and the review log.

Each function takes the connection of an open write transaction
(:meth:`~legseg_core.store.catalog.Catalog.write`). Files are on disk before these run; each
function checks that the files it records are there, so that a concurrent ``verify --repair``
cannot leave a row that names a missing file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legseg_core.errors import StoreError
from legseg_core.store.catalog import now_iso
from legseg_core.store.errors import DuplicateCaseError
from legseg_core.store.queries import case_with_image_checksum, select_case, stratum_counts
from legseg_core.store.records import CaseMetadata
from legseg_core.store.splits import SplitConfig, assign_split


@dataclass(frozen=True)
class StoredFile:
    """A file already written into the store: its path, store-relative name, sha256 and size."""

    path: Path
    relative: str
    sha256: str
    size_bytes: int

    def check_present(self) -> None:
        """Refuse to record a file that vanished between writing and committing."""
        if not self.path.is_file():
            raise StoreError(f"{self.path} vanished before its catalog row was committed "
                             "(was `legseg store verify --repair` run meanwhile?); nothing was recorded")


@dataclass(frozen=True)
class NewCase:
    """Everything the catalog row of a new case holds, besides its split (assigned on insert)."""

    case_id: str
    metadata: CaseMetadata
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    geometry: dict[str, Any]
    technical: dict[str, Any]
    source_name_sha256: str | None
    images: dict[str, tuple[StoredFile, str]]  # name -> (file, dtype)
    allow_duplicate: bool = False


def add_event(connection: sqlite3.Connection, case_id: str, author: str, action: str, detail: str = "") -> None:
    """Append one line to a case's review log."""
    connection.execute("INSERT INTO case_events (case_id, time, author, action, detail) VALUES (?, ?, ?, ?, ?)",
                       (case_id, now_iso(), author, action, detail))


def insert_case(connection: sqlite3.Connection, case: NewCase, splits: SplitConfig, author: str) -> str:
    """Insert a case and its images, assigning its sticky split; return the split."""
    image_file = case.images["image"][0]
    duplicate = case_with_image_checksum(connection, image_file.sha256)
    if duplicate and not case.allow_duplicate:
        raise DuplicateCaseError(f"this image is in the store already as {duplicate}; nothing was added", duplicate)
    for stored, _ in case.images.values():
        stored.check_present()
    meta = case.metadata
    split = assign_split(case.case_id, stratum_counts(connection, meta.contrast, meta.health), splits)
    now = now_iso()
    connection.execute(
        "INSERT INTO cases (id, created, updated, contrast, protocol, site, scanner, health, diagnosis, notes, "
        "extra_json, source_name_sha256, shape_z, shape_y, shape_x, spacing_z, spacing_y, spacing_x, "
        "geometry_json, technical_json, split, status, image_names) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, 'new', ?)",
        (case.case_id, now, now, meta.contrast, meta.protocol, meta.site, meta.scanner, meta.health, meta.diagnosis,
         meta.notes, json.dumps(meta.extra, sort_keys=True), case.source_name_sha256, *case.shape, *case.spacing,
         json.dumps(case.geometry), json.dumps(case.technical, sort_keys=True, default=str), split,
         "/".join(case.images)))
    connection.executemany(
        "INSERT INTO images (case_id, name, file, sha256, size_bytes, dtype) VALUES (?, ?, ?, ?, ?, ?)",
        [(case.case_id, name, f.relative, f.sha256, f.size_bytes, dtype) for name, (f, dtype) in case.images.items()])
    add_event(connection, case.case_id, author, "added", f"split {split}, images {', '.join(case.images)}")
    return split


def insert_version(connection: sqlite3.Connection, row: dict[str, Any], stored: StoredFile) -> None:
    """Insert an immutable label version; a new case moves from 'new' to 'in_review'."""
    case = select_case(connection, row["case_id"])
    stored.check_present()
    connection.execute(
        "INSERT INTO label_versions (id, case_id, parent_id, provenance, author, created, file, sha256, size_bytes, "
        "voxels_json, edits_json, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row["id"], row["case_id"], row["parent_id"], row["provenance"], row["author"], now_iso(), stored.relative,
         stored.sha256, stored.size_bytes, json.dumps(row["voxels"]), json.dumps(row["edits"]), row["note"]))
    status = "in_review" if case.status == "new" else case.status
    connection.execute("UPDATE cases SET status = ?, updated = ?, latest_version = ?, "
                       "version_count = version_count + 1 WHERE id = ?", (status, now_iso(), row["id"], case.id))
    add_event(connection, case.id, row["author"], "labelled", f"{row['id']} ({row['provenance']})")


def set_accepted(connection: sqlite3.Connection, case_id: str, version_id: str, author: str) -> None:
    """Make ``version_id`` the case's accepted version and mark the case accepted."""
    connection.execute("UPDATE cases SET accepted_version = ?, status = 'accepted', updated = ? WHERE id = ?",
                       (version_id, now_iso(), case_id))
    add_event(connection, case_id, author, "accepted", version_id)


def set_status(connection: sqlite3.Connection, case_id: str, status: str, author: str, reason: str) -> None:
    """Set a case's review status (new, in_review or excluded); the accepted version id is kept."""
    connection.execute("UPDATE cases SET status = ?, updated = ? WHERE id = ?", (status, now_iso(), case_id))
    add_event(connection, case_id, author, f"status {status}", reason)


def update_metadata(connection: sqlite3.Connection, case_id: str, metadata: CaseMetadata, author: str,
                    changed: list[str]) -> None:
    """Replace a case's metadata; its split stays as it is (splits are sticky)."""
    connection.execute(
        "UPDATE cases SET contrast = ?, protocol = ?, site = ?, scanner = ?, health = ?, diagnosis = ?, notes = ?, "
        "extra_json = ?, updated = ? WHERE id = ?",
        (metadata.contrast, metadata.protocol, metadata.site, metadata.scanner, metadata.health, metadata.diagnosis,
         metadata.notes, json.dumps(metadata.extra, sort_keys=True), now_iso(), case_id))
    add_event(connection, case_id, author, "metadata", ", ".join(changed))
