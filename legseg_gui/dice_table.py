"""A per-muscle table of Dice (both legs, right leg, left leg), average Hausdorff distance and volume difference.

Model-agnostic: it is fed plain per-muscle values, for example ``[m.to_dict() for m in
case_scores.muscles]`` or ``OverlapTracker.dice()`` while the user paints, and per-leg values
from :func:`legseg_core.evaluation.legs.leg_agreement`. The last row is the mean over muscles
(section 2.7), undefined values left out; a leg the reference does not show reads '–'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from qtpy.QtCore import QSize
from qtpy.QtWidgets import QAbstractItemView, QFileDialog, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from legseg_core.labels import MUSCLES
from legseg_gui.overlap_legend import muscle_header_item

MISSING = "–"
EXPORT_FILTER = "CSV table (*.csv);;JSON (*.json)"


def ask_export_path(parent: QWidget) -> str | None:
    """Ask where to export a review table (.csv or .json); None when cancelled."""
    path, chosen = QFileDialog.getSaveFileName(parent, "Export the table", "review-table.csv", EXPORT_FILTER)
    if path and not path.lower().endswith((".csv", ".json")):
        path += ".json" if "JSON" in chosen else ".csv"
    return path or None


@dataclass(frozen=True)
class Column:
    """A column: the key it reads from each muscle's values, its header (a unit on a second line keeps
    the columns narrow enough for the side panel), and a number format."""

    key: str
    header: str
    format: str = "{:.3f}"


DEFAULT_COLUMNS: tuple[Column, ...] = (
    Column("dice", "Dice", "{:.3f}"),
    Column("dice_right", "Dice R", "{:.3f}"),
    Column("dice_left", "Dice L", "{:.3f}"),
    Column("ahd_mm", "AHD\n(mm)", "{:.2f}"),
    Column("volume_difference_ml", "ΔV\n(ml)", "{:+.1f}"),
)


class DiceTableWidget(QTableWidget):
    """Rows for the seven muscles and their mean; columns as given (Dice, AHD in mm, ΔV in ml by default)."""

    def __init__(self, columns: tuple[Column, ...] = DEFAULT_COLUMNS, parent: QWidget | None = None) -> None:
        super().__init__(len(MUSCLES) + 1, len(columns), parent)
        self.columns = columns
        self.setHorizontalHeaderLabels([c.header for c in columns])
        self.setVerticalHeaderLabels([m.abbr for m in MUSCLES] + ["mean"])
        for row, muscle in enumerate(MUSCLES):
            self.setVerticalHeaderItem(row, muscle_header_item(muscle))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.clear_values()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """Tall enough for every row (seven muscles and the mean) under the header: a host with the room
        shows the whole table (napari's dock gave it Qt's default height and a scroll bar)."""
        hint = super().sizeHint()
        rows = sum(self.rowHeight(row) for row in range(self.rowCount()))
        return QSize(hint.width(), self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth())

    def set_scores(self, scores: Mapping[int, Mapping[str, Any]] | Iterable[Mapping[str, Any]]) -> None:
        """Show per-muscle values: a mapping muscle id -> {key: value}, or dicts each with a 'label' key.

        Muscles or keys left out, and NaN values, show as '–'.
        """
        by_label = dict(scores) if isinstance(scores, Mapping) else {int(s["label"]): s for s in scores}
        for column in self.columns:
            self.set_column(column.key, {label: values.get(column.key) for label, values in by_label.items()})

    def set_column(self, key: str, values: Mapping[int, float | None]) -> None:
        """Update one column only (e.g. Dice after every stroke), and its mean."""
        column_index = [c.key for c in self.columns].index(key)
        column = self.columns[column_index]
        numbers = []
        for row, muscle in enumerate(MUSCLES):
            value = values.get(muscle.id)
            defined = value is not None and math.isfinite(float(value))
            numbers += [float(value)] if defined else []
            self._put(row, column_index, column.format.format(float(value)) if defined else MISSING)
        mean = column.format.format(sum(numbers) / len(numbers)) if numbers else MISSING
        self._put(len(MUSCLES), column_index, mean)

    def set_dice(self, dice: Mapping[int, float]) -> None:
        """Update the Dice column from muscle id -> Dice (``OverlapTracker.dice()``)."""
        self.set_column("dice", dice)

    def set_legs(self, agreement: Mapping[str, Mapping[int, Mapping[str, float]]]) -> None:
        """Fill the per-leg Dice columns from ``{leg: {muscle id: {"dice": ...}}}`` (legs left out show '–')."""
        for leg in ("right", "left"):
            if f"dice_{leg}" in [c.key for c in self.columns]:
                by_muscle = agreement.get(leg, {})
                self.set_column(f"dice_{leg}", {label: values.get("dice") for label, values in by_muscle.items()})

    def clear_values(self) -> None:
        """Show '–' everywhere."""
        for row in range(self.rowCount()):
            for column in range(self.columnCount()):
                self._put(row, column, MISSING)

    def text(self, label: int | str, key: str) -> str:
        """The text shown for a muscle id (or 'mean') in the column of ``key``."""
        row = len(MUSCLES) if label == "mean" else [m.id for m in MUSCLES].index(int(label))
        return self.item(row, [c.key for c in self.columns].index(key)).text()

    def _put(self, row: int, column: int, text: str) -> None:
        item = self.item(row, column)
        if item is None:
            self.setItem(row, column, QTableWidgetItem(text))
        else:
            item.setText(text)
