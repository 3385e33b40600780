"""The quality-control report of a segmentation: its flags and the volume of each muscle per leg.

Shared by the application's Segment panel and napari's Segment dock. It shows the JSON form of a
report (``QualityReport.to_dict()``, as the store keeps it): a summary line (flag count, expected
correction effort, mean uncertainty), a table with one row per muscle and a column per leg (ml)
plus the left/right ratio, and the flags, one per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QPalette
from qtpy.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListWidget, QListWidgetItem, QTableWidget,
                            QTableWidgetItem, QVBoxLayout, QWidget)

from legseg_core.labels import MUSCLES
from legseg_gui.overlap_legend import muscle_header_item
from legseg_gui.worker import ProgressWorker

MISSING = "–"
#: Flag text colour on a light background and on a dark one (napari's theme).
FLAG_COLOURS = {"light": "#b03a2e", "dark": "#ff8a75"}
ROW_HEIGHT = 20


def summary_text(report: Mapping[str, Any] | None) -> str:
    """'2 flags · effort 0.41 · uncertainty 0.213 · legs: right and left', or a line saying there is no report."""
    if not report:
        return "Quality: no report yet (segment the scan)"
    flags = report.get("flags", [])
    uncertainty = report.get("uncertainty")
    parts = [f"{len(flags)} flag{'s' if len(flags) != 1 else ''}" if flags else "no flags",
             f"effort {report.get('effort', 0):.2f}"]
    if uncertainty is not None:
        parts.append(f"uncertainty {uncertainty:.3f}")
    parts.append(f"legs: {' and '.join(report.get('legs', [])) or 'none'}")
    return "Quality: " + " · ".join(parts)


def volume_rows(report: Mapping[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """(column headers, muscle abbreviation -> cell texts): ml per leg, then the left/right ratio for two legs."""
    legs = list(report.get("legs", []))
    volumes: dict[tuple[str, str], float] = {(m["leg"], m["abbr"]): m["volume_ml"] for m in report.get("muscles", [])}
    ratios = report.get("ratios_left_over_right", {})
    headers = [f"{leg.capitalize()} (ml)" for leg in legs] + (["L/R"] if ratios else [])
    rows = {}
    for muscle in MUSCLES:
        cells = [_number(volumes.get((leg, muscle.abbr)), "{:.1f}") for leg in legs]
        rows[muscle.abbr] = cells + ([_number(ratios.get(muscle.abbr), "{:.2f}")] if ratios else [])
    return headers, rows


def quality_check_worker(labels: Any, spacing: tuple[float, float, float]) -> ProgressWorker:
    """A worker (not started) that makes the quality-control report (``QualityReport.to_dict()``) of a copy
    of ``[z, y, x]`` labels as they are now, off the UI thread: the app's and napari's check of labels that
    no segmentation reported on (imported or corrected ones)."""
    import numpy as np

    from legseg_core.evaluation.qc import check_segmentation

    snapshot = np.array(labels, dtype=np.uint8, copy=True)  # the user may paint on while it runs
    return ProgressWorker.call(lambda: check_segmentation(snapshot, spacing).to_dict(), what="the quality check")


def flag_colour(widget: QWidget) -> str:
    """The flag colour that reads on the widget's background (light application or dark napari theme)."""
    return FLAG_COLOURS["dark" if widget.palette().color(QPalette.ColorRole.Window).lightness() < 128 else "light"]


def _number(value: float | None, form: str) -> str:
    return MISSING if value is None else form.format(value)


class QualityReportWidget(QWidget):
    """Flags and per-leg muscle volumes of one quality-control report (or a line saying there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: Mapping[str, Any] | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(len(MUSCLES), 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalHeaderLabels([m.abbr for m in MUSCLES])
        for row, muscle in enumerate(MUSCLES):
            self.table.setVerticalHeaderItem(row, muscle_header_item(muscle))
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.flags = QListWidget()
        self.flags.setWordWrap(True)
        self.flags.setMinimumHeight(4 * ROW_HEIGHT)
        self.flags.setStyleSheet(f"color: {flag_colour(self)}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(self.flags, 1)
        self.set_report(None)

    def set_report(self, report: Mapping[str, Any] | None, title: str = "") -> None:
        """Show a report in the form of ``QualityReport.to_dict()`` (None clears it), under ``title`` (which
        labels it describes) when given."""
        self.report = report
        self.summary.setText(f"{title}\n{summary_text(report)}" if title else summary_text(report))
        self.table.setVisible(bool(report))
        headers, rows = volume_rows(report) if report else ([], {})
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setFixedHeight(ROW_HEIGHT * len(MUSCLES) + self.table.horizontalHeader().sizeHint().height()
                                  + 2 * self.table.frameWidth())
        for row, muscle in enumerate(MUSCLES):
            for column, text in enumerate(rows.get(muscle.abbr, [])):
                self.table.setItem(row, column, QTableWidgetItem(text))
        flags = list(report.get("flags", [])) if report else []
        self.flags.clear()
        for flag in flags:
            item = QListWidgetItem(f"⚠ {flag}")
            item.setToolTip(flag)
            self.flags.addItem(item)
        self.flags.setVisible(bool(flags))
        self.flags.setStyleSheet(f"color: {flag_colour(self)}")  # the theme may have changed since
        self.setToolTip("\n".join(flags))

    def flag_texts(self) -> list[str]:
        """The flags shown, in order (each line without its warning sign)."""
        return [self.flags.item(row).toolTip() for row in range(self.flags.count())]

    def cell(self, abbr: str, header: str) -> str:
        """The text in the row of a muscle and the column of a header (e.g. 'Right (ml)', 'L/R')."""
        header_items = [self.table.horizontalHeaderItem(c) for c in range(self.table.columnCount())]
        headers = [item.text() if item is not None else "" for item in header_items]
        row = [m.abbr for m in MUSCLES].index(abbr)
        item = self.table.item(row, headers.index(header))
        return item.text() if item is not None else ""
