"""The worklist: the store's cases in a table sortable by status, contrast, health, quality and uncertainty.

The list opens ordered by the expected correction effort of each case's latest prediction
(its quality-control report: mean uncertainty plus a share per flag, see
:attr:`legseg_core.evaluation.qc.QualityReport.effort`), highest first, cases still to review
before accepted or excluded ones, so the most useful case to correct comes first. The QC column
counts the flags (its tooltip lists them); the uncertainty column holds the model's score.
Status sorts in the order of the review (new, in review, accepted, excluded); an empty cell
sorts last whichever way the column is sorted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from legseg_core.store import REVIEW_STATUSES
from legseg_core.store.quality import StoredQuality
from legseg_gui.app.session import UNCERTAINTY_KEY

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS: tuple[str, ...] = ("case", "status", "effort", "flags", "uncertainty", "contrast", "health", "diagnosis",
                             "slices", "versions")
HEADERS = {"case": "Case", "status": "Status", "contrast": "Contrast", "health": "Health", "diagnosis": "Diagnosis",
           "effort": "Effort", "flags": "QC flags", "uncertainty": "Uncertainty", "slices": "Slices",
           "versions": "Versions"}
#: Review statuses whose cases no longer wait for a correction: they sort after the others by effort.
DONE_STATUSES = ("accepted", "excluded")


class _SortedItem(QTableWidgetItem):
    """A cell that sorts by its sort key (numbers, review order) rather than its text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return super().__lt__(other)
        return mine < theirs


def uncertainty_of(case: Any) -> float | None:
    """The uncertainty score of a case's latest segmentation, or None."""
    value = case.metadata.extra.get(UNCERTAINTY_KEY)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def quality_cells(case: Any, quality: StoredQuality | None) -> dict[str, tuple[str, Any]]:
    """The effort and QC-flag cells of a case: (text, sort key); cases to review sort before done ones by effort."""
    waiting = 0 if case.status in DONE_STATUSES else 1
    if quality is None:
        return {"effort": ("", (waiting, -math.inf)), "flags": ("", -1)}
    return {"effort": (f"{quality.effort:.2f}", (waiting, quality.effort)),
            "flags": (str(quality.flag_count), quality.flag_count)}


def flags_tooltip(quality: StoredQuality | None) -> str:
    """The flags of a case's latest quality report, one per line (or why there are none)."""
    if quality is None:
        return "no quality report: the case has no segmentation by LegSeg yet"
    lines = [f"quality of {quality.version_id}: effort {quality.effort:.2f}"]
    return "\n".join(lines + ([f"• {flag}" for flag in quality.flags] or ["no flags"]))


def cell_values(case: Any, quality: StoredQuality | None = None) -> dict[str, tuple[str, Any]]:
    """Per column: (text shown, sort key) of one case record and its latest quality report."""
    uncertainty = uncertainty_of(case)
    status_rank = REVIEW_STATUSES.index(case.status) if case.status in REVIEW_STATUSES else len(REVIEW_STATUSES)
    meta = case.metadata
    return {"case": (case.id, case.id), "status": (case.status.replace("_", " "), status_rank),
            "contrast": (meta.contrast, meta.contrast), "health": (meta.health, meta.health),
            "diagnosis": (meta.diagnosis, meta.diagnosis),
            "uncertainty": ("" if uncertainty is None else f"{uncertainty:.3f}",
                            -math.inf if uncertainty is None else uncertainty),
            "slices": (str(case.slices), case.slices), "versions": (str(case.version_count), case.version_count),
            **quality_cells(case, quality)}


class CaseListWidget(QTableWidget):
    """One row per store case; ``case_activated(case_id)`` on double click or Enter."""

    case_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([HEADERS[c] for c in COLUMNS])
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.sortItems(COLUMNS.index("effort"), Qt.SortOrder.DescendingOrder)  # the most useful case first
        self.cellDoubleClicked.connect(self._on_cell_double_clicked)

    def set_cases(self, cases: Sequence[Any], *, current: str | None = None,
                  quality: Mapping[str, StoredQuality] | None = None) -> None:
        """Show these case records with their latest quality reports (case id -> report), keeping the sort
        column and order, and select ``current``."""
        quality = quality or {}
        self.setSortingEnabled(False)
        self.setRowCount(len(cases))
        for row, case in enumerate(cases):
            for column, (text, key) in enumerate(cell_values(case, quality.get(case.id))[c] for c in COLUMNS):
                item = _SortedItem(text)
                item.setData(SORT_ROLE, key)
                item.setData(ID_ROLE, case.id)
                if COLUMNS[column] == "case":
                    item.setToolTip(f"{case.id}: {case.metadata.contrast}, {case.metadata.health}, "
                                    f"{case.split} split, {case.version_count} label version(s)")
                elif COLUMNS[column] in ("flags", "effort"):
                    item.setToolTip(flags_tooltip(quality.get(case.id)))
                self.setItem(row, column, item)
        self.setSortingEnabled(True)
        if current is not None:
            self.select_case(current)

    def sort_by(self, column: str, *, descending: bool = False) -> None:
        """Sort by a column name of :data:`COLUMNS` (e.g. most effort first: 'effort', descending)."""
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.sortItems(COLUMNS.index(column), order)

    def case_ids(self) -> list[str]:
        """The case ids in the order shown."""
        return [self.item(row, 0).data(ID_ROLE) for row in range(self.rowCount())]

    def column_texts(self, column: str) -> list[str]:
        """The texts of one column in the order shown."""
        return [self.item(row, COLUMNS.index(column)).text() for row in range(self.rowCount())]

    def select_case(self, case_id: str) -> None:
        """Select (without activating) the row of a case, if shown."""
        for row, shown in enumerate(self.case_ids()):
            if shown == case_id:
                self.selectRow(row)
                return

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override): Enter opens the selected case
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self._on_cell_double_clicked(self.currentRow(), 0)
            return
        super().keyPressEvent(event)

    def _on_cell_double_clicked(self, row: int, _column: int) -> None:
        item = self.item(row, 0)
        if item is not None:
            self.case_activated.emit(item.data(ID_ROLE))
