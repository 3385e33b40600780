"""The worklist: the store's cases, sortable by status, contrast, protocol, health, quality and uncertainty.

The list opens ordered by the expected correction effort of each case's latest prediction
(its quality-control report: mean uncertainty plus a share per flag, see
:attr:`legseg_core.evaluation.qc.QualityReport.effort`), highest first, cases still to review
before accepted or excluded ones, so the most useful case to correct comes first. The QC column
counts the flags (its tooltip lists them); the uncertainty column holds the model's score.
Status sorts in the order of the review (new, in review, accepted, excluded); an empty cell
sorts last whichever way the column is sorted.

The columns fit the width of the list: when their texts are wider, the widest columns shrink
first (to a common width) and their texts are elided, the full text in the cell's tooltip; in a
list too narrow for every column at a legible width, the least needed columns are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from legseg_core.review.session import UNCERTAINTY_KEY
from legseg_core.store import REVIEW_STATUSES
from legseg_core.store.quality import StoredQuality

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS: tuple[str, ...] = ("case", "status", "effort", "flags", "uncertainty", "contrast", "protocol", "health",
                             "diagnosis", "slices", "versions")
HEADERS = {"case": "Case", "status": "Status", "contrast": "Contrast", "protocol": "Protocol", "health": "Health",
           "diagnosis": "Diagnosis", "effort": "Effort", "flags": "QC flags", "uncertainty": "Uncertainty",
           "slices": "Slices", "versions": "Versions"}
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
            "contrast": (meta.contrast, meta.contrast), "protocol": (meta.protocol, meta.protocol),
            "health": (meta.health, meta.health),
            "diagnosis": (meta.diagnosis, meta.diagnosis),
            "uncertainty": ("" if uncertainty is None else f"{uncertainty:.3f}",
                            -math.inf if uncertainty is None else uncertainty),
            "slices": (str(case.slices), case.slices), "versions": (str(case.version_count), case.version_count),
            **quality_cells(case, quality)}


#: Columns in the order they give way when the list is too narrow for all of them (the last one first).
PRIORITY: tuple[str, ...] = ("case", "status", "effort", "flags", "contrast", "health", "uncertainty", "diagnosis",
                             "protocol", "versions", "slices")
MIN_COLUMN_WIDTH = 56


def fitted_widths(natural: list[int], available: int) -> list[int]:
    """Column widths (in :data:`COLUMNS` order, 0 = hidden) that fit ``available`` pixels: the natural widths
    capped at the largest common cap that fits, no column narrower than :data:`MIN_COLUMN_WIDTH` (columns of
    low :data:`PRIORITY` are hidden until the rest fit); room to spare goes to the case column."""
    shown = list(PRIORITY)
    while len(shown) > 1 and MIN_COLUMN_WIDTH * len(shown) > available:
        shown.pop()
    widths = [natural[i] if COLUMNS[i] in shown else 0 for i in range(len(COLUMNS))]
    if sum(widths) <= available:
        widths[0] += available - sum(widths)
        return widths
    low, high = MIN_COLUMN_WIDTH, max(widths)
    while low < high:  # the largest cap with sum(min(width, cap)) <= available
        cap = (low + high + 1) // 2
        low, high = (cap, high) if sum(min(w, cap) for w in widths) <= available else (low, cap - 1)
    return [min(w, low) for w in widths]


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
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self._natural_widths: list[int] = []
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
                item.setToolTip(text)
                item.setData(ID_ROLE, case.id)
                if COLUMNS[column] == "case":
                    item.setToolTip(f"{case.id}: {case.metadata.contrast}, {case.metadata.health}, "
                                    f"{case.split} split, {case.version_count} label version(s)")
                elif COLUMNS[column] in ("flags", "effort"):
                    item.setToolTip(flags_tooltip(quality.get(case.id)))
                self.setItem(row, column, item)
        self.setSortingEnabled(True)
        self.resizeColumnsToContents()
        self._natural_widths = [self.columnWidth(column) for column in range(len(COLUMNS))]
        self.fit_columns()
        if current is not None:
            self.select_case(current)

    def fit_columns(self) -> None:
        """Give the columns their texts' widths; in a narrower list the widest columns shrink first, to a common
        cap, and their texts are elided."""
        if not self._natural_widths:
            return
        widths = fitted_widths(self._natural_widths, self.viewport().width())
        for column, width in enumerate(widths):
            self.setColumnHidden(column, width == 0)
            if width:
                self.setColumnWidth(column, width)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.fit_columns()

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
