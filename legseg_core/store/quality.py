"""Quality-control reports kept with the label versions they describe.

A model's prediction gets its quality-control report (:func:`legseg_core.evaluation.qc.check_segmentation`)
when it is segmented; the report is written beside the label version in the catalog's
``label_quality`` table (one row per version: flag count, expected correction effort, mean
uncertainty, and the whole report as JSON, the form of ``QualityReport.to_dict()``). The
worklist reads every case's newest report in one query, so sorting and painting never recompute it.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from legseg_core.errors import StoreError
from legseg_core.store.catalog import now_iso
from legseg_core.store.naming import check_version_id

if TYPE_CHECKING:
    from legseg_core.store.store import Store


class QualityLike(Protocol):
    """What is stored of a quality report (:class:`legseg_core.evaluation.qc.QualityReport`)."""

    flags: tuple[str, ...]
    uncertainty: float | None

    @property
    def effort(self) -> float: ...

    def to_dict(self) -> dict: ...


@dataclass(frozen=True)
class StoredQuality:
    """The quality-control report of one label version as stored: ``report`` is ``QualityReport.to_dict()``."""

    version_id: str
    flag_count: int
    effort: float
    uncertainty: float | None
    report: Mapping[str, Any]

    @property
    def flags(self) -> list[str]:
        """The flags' texts, in the report's order."""
        return list(self.report.get("flags", []))


def record_quality(store: Store, version_id: str, report: QualityLike) -> StoredQuality:
    """Keep ``report`` with label version ``version_id`` of ``store`` (a later report of it replaces it)."""
    check_version_id(version_id)
    data = report.to_dict()
    uncertainty = report.uncertainty if report.uncertainty is not None and math.isfinite(report.uncertainty) else None
    row = (version_id, now_iso(), len(report.flags), float(report.effort), uncertainty, json.dumps(data))

    def write(connection: sqlite3.Connection) -> None:
        if connection.execute("SELECT 1 FROM label_versions WHERE id = ?", (version_id,)).fetchone() is None:
            raise StoreError(f"label version {version_id} is not in the store; its quality report was not kept")
        connection.execute("INSERT OR REPLACE INTO label_quality (version_id, created, flag_count, effort, "
                           "uncertainty, report_json) VALUES (?, ?, ?, ?, ?, ?)", row)

    store.catalog.write(write)
    return StoredQuality(version_id, len(report.flags), float(report.effort), uncertainty, data)


def version_quality(store: Store, version_id: str) -> StoredQuality | None:
    """The stored report of one label version, or None."""
    rows = store.catalog.read(lambda c: c.execute(f"{_QUERY} WHERE q.version_id = ?", (version_id,)).fetchall())
    return _from_row(rows[0]) if rows else None


def case_qualities(store: Store) -> dict[str, StoredQuality]:
    """Case id -> the report of its newest label version that has one (cases without any are left out)."""
    rows = store.catalog.read(lambda c: c.execute(
        f"SELECT v.case_id, {_COLUMNS} FROM label_quality q JOIN label_versions v ON v.id = q.version_id "
        "ORDER BY v.created, v.rowid").fetchall())
    return {row[0]: _from_row(row[1:]) for row in rows}  # later versions overwrite earlier ones


_COLUMNS = "q.version_id, q.flag_count, q.effort, q.uncertainty, q.report_json"
_QUERY = f"SELECT {_COLUMNS} FROM label_quality q"


def _from_row(row: Any) -> StoredQuality:
    version_id, flag_count, effort, uncertainty, report = row
    return StoredQuality(str(version_id), int(flag_count), float(effort),
                         None if uncertainty is None else float(uncertainty), json.loads(report))
