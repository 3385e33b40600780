"""The legend of the Figure 4 overlap map: a colour swatch, a name and optionally a voxel count per class."""

from __future__ import annotations

from collections.abc import Mapping

from qtpy.QtWidgets import QGridLayout, QLabel, QWidget

from legseg_core.labels import OVERLAP_CLASSES


def swatch(color: tuple[int, int, int], size: int = 14) -> QLabel:
    """A small square label filled with ``color`` (RGB 0..255)."""
    label = QLabel()
    label.setFixedSize(size, size)
    label.setStyleSheet(f"background-color: rgb{tuple(color)}; border: 1px solid #444;")
    return label


class OverlapLegendWidget(QWidget):
    """One row per overlap class (agree, predicted only, different muscle, manual only)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setVerticalSpacing(2)
        self._counts: dict[int, QLabel] = {}
        for row, overlap_class in enumerate(OVERLAP_CLASSES):
            name = QLabel(overlap_class.abbr)
            name.setToolTip(overlap_class.name)
            count = QLabel("")
            self._counts[overlap_class.id] = count
            layout.addWidget(swatch(overlap_class.color), row, 0)
            layout.addWidget(name, row, 1)
            layout.addWidget(count, row, 2)

    def set_counts(self, counts: Mapping[int, int] | None) -> None:
        """Show each class's voxel count (e.g. ``OverlapTracker.class_counts()``), or clear them with None."""
        for class_id, label in self._counts.items():
            label.setText("" if counts is None else f"{int(counts.get(class_id, 0)):,}")

    def count_text(self, class_id: int) -> str:
        """The count shown for one class ('' when none is shown)."""
        return self._counts[class_id].text()
