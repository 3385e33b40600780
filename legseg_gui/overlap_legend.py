"""The legend of the Figure 4 overlap map: a colour swatch, a name, and each class's volume.

With the voxel volume known, each class shows its volume in ml and as a percentage of the
reference (the voxels drawn manually: agree + different muscle + manual only); without it, the
voxel count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qtpy.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from qtpy.QtWidgets import QGridLayout, QLabel, QTableWidgetItem, QWidget

from legseg_core.labels import OVERLAP_AGREE, OVERLAP_CLASSES, OVERLAP_DIFFERENT_MUSCLE, OVERLAP_MANUAL_ONLY

#: The overlap classes whose voxels were drawn in the reference.
REFERENCE_CLASSES = (OVERLAP_AGREE, OVERLAP_DIFFERENT_MUSCLE, OVERLAP_MANUAL_ONLY)


def swatch(color: tuple[int, int, int], size: int = 14) -> QLabel:
    """A small square label filled with ``color`` (RGB 0..255)."""
    label = QLabel()
    label.setFixedSize(size, size)
    label.setStyleSheet(f"background-color: rgb{tuple(color)}; border: 1px solid #444;")
    return label


def swatch_icon(color: tuple[int, int, int], size: int = 12) -> QIcon:
    """A small square icon filled with ``color`` (RGB 0..255), edged in grey. Unlike a cell's background,
    which a style sheet can override (napari's theme paints table headers its own grey), an icon keeps
    its colour everywhere."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*color))
    painter = QPainter(pixmap)
    painter.setPen(QColor(68, 68, 68))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


def muscle_header_item(muscle: Any) -> QTableWidgetItem:
    """A table row header for one muscle (a :data:`~legseg_core.labels.MUSCLES` entry): its abbreviation on
    its colour, a colour swatch icon (kept where a theme paints the headers), its full name on hover."""
    header = QTableWidgetItem(muscle.abbr)
    header.setToolTip(muscle.name)
    header.setBackground(QBrush(QColor(*muscle.color)))
    header.setIcon(swatch_icon(muscle.color))
    return header


def count_text(voxels: int, reference_voxels: int, voxel_ml: float | None) -> str:
    """'12.3 ml · 4.5% of ref.' (or the voxel count when the voxel volume is unknown)."""
    if voxel_ml is None:
        return f"{int(voxels):,}"
    percent = f"{100.0 * voxels / reference_voxels:.1f}% of ref." if reference_voxels else "no reference"
    return f"{voxels * voxel_ml:.1f} ml · {percent}"


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
        layout.setColumnStretch(2, 1)

    def set_counts(self, counts: Mapping[int, int] | None, *, voxel_ml: float | None = None) -> None:
        """Show each class's size from voxel counts (e.g. ``OverlapTracker.class_counts()``): in ml and percent
        of the reference when ``voxel_ml`` (ml per voxel) is given, else in voxels; None clears them."""
        reference = sum(int((counts or {}).get(c, 0)) for c in REFERENCE_CLASSES)
        for class_id, label in self._counts.items():
            label.setText("" if counts is None else count_text(int(counts.get(class_id, 0)), reference, voxel_ml))

    def count_text(self, class_id: int) -> str:
        """The text shown for one class ('' when none is shown)."""
        return self._counts[class_id].text()
