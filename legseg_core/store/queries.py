"""Reading the catalog: rows to records, case filters, histories and counts.

Every function takes an open :class:`sqlite3.Connection` (inside a transaction of
:class:`~legseg_core.store.catalog.Catalog`) and returns frozen records.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from legseg_core.errors import StoreError
from legseg_core.store.errors import UnknownRecordError
from legseg_core.store.naming import SEGMENTATION_IMAGE, check_case_id, check_version_id
from legseg_core.store.records import (CaseMetadata, CaseRecord, EditStatistics, LabelVersion, check_review_status,
                                       normalise_contrast, normalise_health)
from legseg_core.store.splits import SPLITS

#: Case fields that ``cases(...)`` and ``legseg store list --filter`` accept.
FILTER_FIELDS = ("contrast", "protocol", "site", "scanner", "health", "diagnosis", "split", "status")
LATEST_ORDER = "ORDER BY created DESC, rowid DESC"

_CASE_COLUMNS = ("id", "created", "updated", "contrast", "protocol", "site", "scanner", "health", "diagnosis",
                 "notes", "extra_json", "shape_z", "shape_y", "shape_x", "spacing_z", "spacing_y", "spacing_x",
                 "split", "status", "accepted_version", "latest_version", "version_count", "image_names",
                 "technical_json", "source_name_sha256")
_CASE_QUERY = f"SELECT {', '.join('c.' + name for name in _CASE_COLUMNS)} FROM cases c"


def _json(text: str) -> dict[str, Any]:
    return {} if text == "{}" else json.loads(text)


def case_from_row(row: Sequence[Any]) -> CaseRecord:
    """A :class:`CaseRecord` from a row of the case query (columns in :data:`_CASE_COLUMNS` order)."""
    (case_id, created, updated, contrast, protocol, site, scanner, health, diagnosis, notes, extra, shape_z,
     shape_y, shape_x, spacing_z, spacing_y, spacing_x, split, status, accepted, latest, count, names,
     technical, source) = row
    metadata = CaseMetadata(contrast, protocol, site, scanner, health, diagnosis, notes, _json(extra))
    return CaseRecord(case_id, created, updated, metadata, (shape_z, shape_y, shape_x),
                      (spacing_z, spacing_y, spacing_x), split, status, accepted, latest, count,
                      tuple(names.split("/")), technical, source)


def version_from_row(row: sqlite3.Row) -> LabelVersion:
    """A :class:`LabelVersion` from a row of ``label_versions``."""
    return LabelVersion(id=row["id"], case_id=row["case_id"], parent_id=row["parent_id"],
                        provenance=row["provenance"], author=row["author"], created=row["created"],
                        file=row["file"], sha256=row["sha256"], size_bytes=int(row["size_bytes"]),
                        voxels=json.loads(row["voxels_json"]),
                        edits=EditStatistics.from_dict(json.loads(row["edits_json"])), note=row["note"])


def _normalised_filter(key: str, value: str) -> str:
    if key == "health":
        return normalise_health(value)
    if key == "contrast":
        return normalise_contrast(value)
    if key == "status":
        return check_review_status(value)
    if key == "split" and value not in SPLITS:
        raise StoreError(f"split {value!r} is not one of {', '.join(SPLITS)}")
    return str(value)


def filter_clause(filters: Mapping[str, str | Sequence[str] | None]) -> tuple[str, list[str]]:
    """A SQL WHERE clause and its parameters: fields AND-ed, several values of one field OR-ed."""
    parts, parameters = [], []
    for key, value in filters.items():
        if value is None:
            continue
        if key not in FILTER_FIELDS:
            raise StoreError(f"cannot filter cases by {key!r}; use one of {', '.join(FILTER_FIELDS)}")
        values = [value] if isinstance(value, str) else list(value)
        if not values:
            continue
        parts.append(f"c.{key} IN ({', '.join('?' * len(values))})")
        parameters += [_normalised_filter(key, v) for v in values]
    return (" WHERE " + " AND ".join(parts) if parts else ""), parameters


def select_cases(connection: sqlite3.Connection, filters: Mapping[str, Any]) -> list[CaseRecord]:
    """Cases matching ``filters``, oldest first."""
    clause, parameters = filter_clause(filters)
    cursor = connection.cursor()
    cursor.row_factory = None
    rows = cursor.execute(_CASE_QUERY + clause + " ORDER BY c.created, c.rowid", parameters).fetchall()
    return [case_from_row(row) for row in rows]


def select_case(connection: sqlite3.Connection, case_id: str) -> CaseRecord:
    """One case, or :class:`UnknownRecordError` naming the id."""
    cursor = connection.cursor()
    cursor.row_factory = None
    row = cursor.execute(_CASE_QUERY + " WHERE c.id = ?", (check_case_id(case_id),)).fetchone()
    if row is None:
        raise UnknownRecordError(f"no case {case_id} in the store (see `legseg store list`)")
    return case_from_row(row)


def select_version(connection: sqlite3.Connection, version_id: str) -> LabelVersion:
    """One label version, or :class:`UnknownRecordError` naming the id."""
    row = connection.execute("SELECT * FROM label_versions WHERE id = ?", (check_version_id(version_id),)).fetchone()
    if row is None:
        raise UnknownRecordError(f"no label version {version_id} in the store (see `legseg store history CASE`)")
    return version_from_row(row)


def select_history(connection: sqlite3.Connection, case_id: str) -> list[LabelVersion]:
    """All label versions of a case, oldest first."""
    select_case(connection, case_id)
    rows = connection.execute("SELECT * FROM label_versions WHERE case_id = ? ORDER BY created, rowid",
                              (case_id,)).fetchall()
    return [version_from_row(row) for row in rows]


def latest_version_id(connection: sqlite3.Connection, case_id: str) -> str | None:
    """The id of the newest label version of a case, or None."""
    row = connection.execute(f"SELECT id FROM label_versions WHERE case_id = ? {LATEST_ORDER} LIMIT 1",
                             (case_id,)).fetchone()
    return None if row is None else str(row[0])


def image_row(connection: sqlite3.Connection, case_id: str, name: str) -> sqlite3.Row:
    """The catalog row of one stored image of a case."""
    row = connection.execute("SELECT * FROM images WHERE case_id = ? AND name = ?", (case_id, name)).fetchone()
    if row is None:
        raise UnknownRecordError(f"case {case_id} has no image named {name!r}")
    return row


def stratum_counts(connection: sqlite3.Connection, contrast: str, health: str) -> dict[str, int]:
    """How many cases of one (contrast, health) stratum each split holds."""
    rows = connection.execute("SELECT split, COUNT(*) FROM cases WHERE contrast = ? AND health = ? GROUP BY split",
                              (contrast, health)).fetchall()
    return {str(split): int(count) for split, count in rows}


def case_with_image_checksum(connection: sqlite3.Connection, sha256: str) -> str | None:
    """The case whose segmentation image has this checksum, if any."""
    row = connection.execute("SELECT case_id FROM images WHERE sha256 = ? AND name = ?",
                             (sha256, SEGMENTATION_IMAGE)).fetchone()
    return None if row is None else str(row[0])


def case_events(connection: sqlite3.Connection, case_id: str) -> list[dict[str, str]]:
    """The review log of a case (added, labelled, accepted, status and metadata changes), oldest first."""
    rows = connection.execute("SELECT time, author, action, detail FROM case_events WHERE case_id = ? ORDER BY id",
                              (case_id,)).fetchall()
    return [dict(row) for row in rows]


def select_geometry(connection: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """The source affine (RAS+, mm) and source shape of a case's images, as stored."""
    row = connection.execute("SELECT geometry_json FROM cases WHERE id = ?", (check_case_id(case_id),)).fetchone()
    if row is None:
        raise UnknownRecordError(f"no case {case_id} in the store (see `legseg store list`)")
    return json.loads(row[0])
