"""Sagittal and coronal sections beside the axial view, through the voxel under the cursor.

:class:`OrthogonalViewsWidget` follows a :class:`~legseg_gui.slice_view.SliceViewWidget`: the
sections pass through the last voxel the cursor hovered in the axial view, show the same
window/level and overlay (labels or the overlap map) with the same opacity and outline, mark
the axial slice with a line, and follow every edit. Clicking a section moves the axial view to
that slice. Sections are drawn superior up, in true proportions (mm); the sagittal section has
anterior on the left, the coronal one the patient's right on the left (radiological).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QRectF, Qt, QTimer, Signal
from qtpy.QtGui import QColor, QPainter, QPen, QPixmap
from qtpy.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from legseg_gui._events import connect_while_alive
from legseg_gui.qimage import gray_pixmap, rgba_pixmap
from legseg_gui.rendering import window_to_gray
from legseg_gui.slice_canvas import draw_annotations
from legseg_gui.slice_view import SliceViewWidget, overlay_slice

MARKER_COLOR = QColor(255, 255, 255, 160)
#: Patient directions at the top, bottom, left and right of each section.
SAGITTAL_DIRECTIONS = ("S", "I", "A", "P")
CORONAL_DIRECTIONS = ("S", "I", "R", "L")


class SectionWidget(QWidget):
    """One section ``[z, u]`` (z up) drawn to fit, in mm proportions; ``slice_clicked(z)`` on a click."""

    slice_clicked = Signal(int)

    def __init__(self, title: str, directions: tuple[str, str, str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.directions = title, directions
        self._image, self._overlay = QPixmap(), QPixmap()
        self._opacity, self._size_mm, self._depth, self._marker = 0.5, (1.0, 1.0), 1, 0
        self.setMinimumSize(120, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_section(self, gray: np.ndarray, overlay: np.ndarray | None, *, opacity: float,
                     size_mm: tuple[float, float], marker: int) -> None:
        """Show grey ``[z, u]`` uint8 and RGBA ``[z, u, 4]`` sections (row 0 = inferior), marking slice ``marker``."""
        self._image = gray_pixmap(gray[::-1])
        self._overlay = rgba_pixmap(overlay[::-1]) if overlay is not None else QPixmap()
        self._opacity, self._size_mm, self._depth, self._marker = opacity, size_mm, gray.shape[0], marker
        self.update()

    def picture_rect(self) -> QRectF:
        """Where the section is drawn: centred, as large as fits, in mm proportions."""
        height_mm, width_mm = self._size_mm
        scale = min(self.width() / max(width_mm, 1e-6), self.height() / max(height_mm, 1e-6))
        width, height = width_mm * scale, height_mm * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if not self._image.isNull():
            target = self.picture_rect()
            painter.drawPixmap(target, self._image, QRectF(self._image.rect()))
            if not self._overlay.isNull():
                painter.setOpacity(self._opacity)
                painter.drawPixmap(target, self._overlay, QRectF(self._overlay.rect()))
                painter.setOpacity(1.0)
            y = target.top() + (self._depth - self._marker - 0.5) * target.height() / self._depth
            painter.setPen(QPen(MARKER_COLOR, 1, Qt.PenStyle.DashLine))
            painter.drawLine(int(target.left()), int(y), int(target.right()), int(y))
            draw_annotations(painter, self.width(), self.height(), self.directions,
                             target.width() / max(self._size_mm[1], 1e-6))
        self._draw_title(painter)
        painter.end()

    def _draw_title(self, painter: QPainter) -> None:
        """The section's name at the top left, in the widget's font; one line lower where it would run into the
        direction letter at the middle of the top edge (narrow sections)."""
        painter.setFont(self.font())
        metrics = painter.fontMetrics()
        y = 16
        if 6 + metrics.horizontalAdvance(self.title) + 4 > self.width() / 2 - metrics.height():
            y += int(metrics.height() * 1.6)
        painter.setPen(QPen(QColor(230, 230, 230)))
        painter.drawText(6, y, self.title)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        target = self.picture_rect()
        y = event.position().y() if hasattr(event, "position") else event.pos().y()
        if self._depth and target.top() <= y <= target.bottom():
            row = int((y - target.top()) / target.height() * self._depth)
            self.slice_clicked.emit(min(max(self._depth - 1 - row, 0), self._depth - 1))
        event.accept()


class OrthogonalViewsWidget(QWidget):
    """The sagittal and coronal sections through the voxel last hovered in ``view``."""

    def __init__(self, view: SliceViewWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.position: tuple[int, int] | None = None  # (y, x) of the sections
        self.sagittal = SectionWidget("sagittal", SAGITTAL_DIRECTIONS)
        self.coronal = SectionWidget("coronal", CORONAL_DIRECTIONS)
        self.hint = QLabel("Hover over the image to choose the sections; click one to go to its slice.")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sagittal, 1)
        layout.addWidget(self.coronal, 1)
        layout.addWidget(self.hint)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        for section in (self.sagittal, self.coronal):
            section.slice_clicked.connect(self._on_slice_clicked)
        view.canvas.hovered.connect(self._on_hovered)
        connect_while_alive(self, view.view_state.events.changed, lambda _name: self._timer.start())
        self._editor = None

    def follow_editor(self) -> None:
        """Re-render on the edits of the view's current editor (call after the view's editor changed)."""
        if self._editor is not None:
            self._editor.events.labels_changed.disconnect(self._on_labels_changed)
        self._editor = self.view.editor
        if self._editor is not None:
            connect_while_alive(self, self._editor.events.labels_changed, self._on_labels_changed)
        volume = self.view.volume
        if volume is not None and (self.position is None or not _inside(self.position, volume.shape)):
            self.position = self._default_position()
        self._timer.start()

    def _default_position(self) -> tuple[int, int]:
        """Through the most labelled (y, x) column, else the brightest one: sections through a leg, not the gap."""
        volume, editor = self.view.volume, self.view.editor
        if editor is not None and editor.labels.any():
            projection = np.count_nonzero(editor.labels, axis=0)
        else:
            projection = volume.data.mean(axis=0)  # type: ignore[union-attr]
        y, x = np.unravel_index(int(np.argmax(projection)), projection.shape)
        return int(y), int(x)

    def refresh(self) -> None:
        """Render both sections now."""
        volume, state = self.view.volume, self.view.view_state
        if volume is None or self.position is None or not _inside(self.position, volume.shape):
            return
        y, x = self.position
        sz, sy, sx = volume.spacing
        window, level = state.window
        height = volume.shape[0] * sz
        for section, index, size in ((self.sagittal, (slice(None), slice(None), x), (height, volume.shape[1] * sy)),
                                     (self.coronal, (slice(None), y, slice(None)), (height, volume.shape[2] * sx))):
            gray = window_to_gray(volume.data[index], window, level)
            overlay = overlay_slice(self.view, index)
            section.show_section(gray, overlay, opacity=state.opacity, size_mm=size, marker=state.z)

    def _on_hovered(self, y: float, x: float) -> None:
        voxel = self.view.hovered_voxel()
        if voxel is not None and voxel[1:] != self.position:
            self.position = voxel[1:]
            self._timer.start()

    def _on_labels_changed(self, region) -> None:
        self._timer.start()

    def _on_slice_clicked(self, z: int) -> None:
        self.view.view_state.z = z


class ViewSplitterWidget(QSplitter):
    """The axial view beside the sections; the sections may grow up to the axial view's width, not beyond."""

    def __init__(self, view: SliceViewWidget, sections: OrthogonalViewsWidget, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.addWidget(view)
        self.addWidget(sections)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)
        self.splitterMoved.connect(self._on_splitter_moved)

    def set_section_share(self, share: float) -> None:
        """Give the sections ``share`` (0..1) of the width; at most half (equal with the axial view)."""
        total = sum(self.sizes()) or self.width()
        sections = int(total * min(max(share, 0.0), 0.5))
        self.setSizes([total - sections, sections])

    def _on_splitter_moved(self, _position: int, _index: int) -> None:
        axial, sections = self.sizes()
        if sections > axial:
            self.setSizes([(axial + sections) // 2 + (axial + sections) % 2, (axial + sections) // 2])


def _inside(position: tuple[int, int], shape: tuple[int, int, int]) -> bool:
    return 0 <= position[0] < shape[1] and 0 <= position[1] < shape[2]
