"""The drawing surface of the image view: one axial slice with its overlay, zoom, pan and mouse gestures.

:class:`SliceCanvasWidget` is a ``QGraphicsView`` whose scene is in mm: the slice's pixmaps are
scaled by the in-plane spacing, so the image keeps its true aspect. It knows nothing of volumes
or labels; it turns mouse and keyboard gestures into signals in voxel coordinates ``(y, x)``
(fractional, voxel ``(i, j)``'s centre at ``(i, j)``) for the slice view to act on:

- wheel: ``slice_stepped``; ctrl + wheel or the +/- keys: zoom about the cursor; Home: the whole slice;
  B: zoom to the body (as on opening);
- middle drag, or space + left drag: pan;
- right drag: ``window_dragged(dx, dy)`` in screen pixels;
- left press, drag, release: ``paint_pressed``, ``paint_moved``, ``paint_released``;
- hovering: ``hovered(y, x)`` (NaN, NaN when the cursor leaves).
"""

from __future__ import annotations

import math

from qtpy.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QFont, QPainter, QPen, QPixmap, QTransform
from qtpy.QtWidgets import QFrame, QGraphicsEllipseItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.05, 200.0
#: Scale bar lengths to choose from (mm): the longest that fits in a quarter of the view.
SCALE_BAR_MM = (1, 2, 5, 10, 20, 50, 100, 200, 500)
#: Patient directions at the top, bottom, left and right of an axial slice (radiological convention).
AXIAL_DIRECTIONS = ("A", "P", "R", "L")
BODY_MARGIN = 0.06  # of the body's size, around it when zooming to the body


def scale_bar_length(pixels_per_mm: float, available_pixels: float) -> int:
    """The longest of :data:`SCALE_BAR_MM` (mm) that spans at most ``available_pixels``; the shortest if none fits."""
    fitting = [length for length in SCALE_BAR_MM if length * pixels_per_mm <= available_pixels]
    return fitting[-1] if fitting else SCALE_BAR_MM[0]


def draw_annotations(painter: QPainter, width: int, height: int, directions: tuple[str, str, str, str],
                     pixels_per_mm: float) -> None:
    """Orientation letters at the middle of each edge (top, bottom, left, right) and a scale bar at the bottom left,
    in viewport pixels, white with a dark outline so they read on any image."""
    font = QFont(painter.font())
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.15)
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    top, bottom, left, right = directions
    spots = ((top, width / 2 - metrics.horizontalAdvance(top) / 2, metrics.ascent() + 4),
             (bottom, width / 2 - metrics.horizontalAdvance(bottom) / 2, height - 6),
             (left, 6, height / 2 + metrics.ascent() / 2),
             (right, width - metrics.horizontalAdvance(right) - 6, height / 2 + metrics.ascent() / 2))
    for text, x, y in spots:
        _outlined_text(painter, QPointF(x, y), text)
    length = scale_bar_length(pixels_per_mm, width / 4)
    pixels = length * pixels_per_mm
    y = height - 12.0
    for color, thickness in ((QColor(0, 0, 0, 200), 5), (QColor(255, 255, 255), 3)):
        painter.setPen(QPen(color, thickness))
        painter.drawLine(QPointF(12, y), QPointF(12 + pixels, y))
    _outlined_text(painter, QPointF(12, y - 6), f"{length} mm")


def _outlined_text(painter: QPainter, point: QPointF, text: str) -> None:
    painter.setPen(QColor(0, 0, 0, 220))
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        painter.drawText(point + QPointF(dx, dy), text)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(point, text)


def event_point(event) -> QPoint:
    """The event's position in widget coordinates (Qt 6 ``position()``, Qt 5 ``pos()``)."""
    return event.position().toPoint() if hasattr(event, "position") else event.pos()


class SliceCanvasWidget(QGraphicsView):
    """Shows a slice pixmap and an overlay pixmap on an mm grid and reports gestures as signals."""

    slice_stepped = Signal(int)
    hovered = Signal(float, float)
    paint_pressed = Signal(float, float)
    paint_moved = Signal(float, float)
    paint_released = Signal()
    window_dragged = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._image_item, self._overlay_item = QGraphicsPixmapItem(), QGraphicsPixmapItem()
        self._brush_item = QGraphicsEllipseItem()
        self._brush_item.setPen(QPen(QColor(255, 255, 255, 200), 0, Qt.PenStyle.DashLine))
        self._brush_item.setVisible(False)
        for depth, item in enumerate((self._image_item, self._overlay_item, self._brush_item)):
            item.setZValue(depth)
            self.scene().addItem(item)
        self._spacing, self._shape = (1.0, 1.0), (1, 1)
        self._brush_radius: float | None = None
        self._drag: str | None = None
        self._last_point = QPoint()
        self._space_down, self._auto_fit, self._wheel_rest = False, True, 0
        self._body: QRectF | None = None  # the body's extent in scene coordinates (mm)
        self.directions = AXIAL_DIRECTIONS
        self._configure()

    def _configure(self) -> None:
        self.setMouseTracking(True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)  # the annotations stay put
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)

    # ---- content -----------------------------------------------------------------------------

    def set_grid(self, shape: tuple[int, int], spacing: tuple[float, float]) -> None:
        """The slice's ``(y, x)`` size in voxels and spacing in mm; fits the slice in view."""
        self._shape, self._spacing = (int(shape[0]), int(shape[1])), (float(spacing[0]), float(spacing[1]))
        scale = QTransform.fromScale(self._spacing[1], self._spacing[0])
        self._image_item.setTransform(scale)
        self._overlay_item.setTransform(scale)
        rect = self.image_rect()
        margin = 4 * max(rect.width(), rect.height())
        self.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))
        self._auto_fit = True
        self.fit()

    def set_body_box(self, box: tuple[int, int, int, int] | None) -> None:
        """The body's ``(y0, y1, x0, x1)`` voxel box on the slice (None: the whole slice); zooms to it."""
        if box is None:
            self._body = None
        else:
            y0, y1, x0, x1 = box
            rect = QRectF(x0 * self._spacing[1], y0 * self._spacing[0], (x1 - x0) * self._spacing[1],
                          (y1 - y0) * self._spacing[0])
            margin = BODY_MARGIN * max(rect.width(), rect.height())
            self._body = rect.adjusted(-margin, -margin, margin, margin)
        self._auto_fit = True
        self.fit()

    def body_rect(self) -> QRectF:
        """What zooming to the body shows (scene mm): the body with a margin, else the whole slice."""
        return self._body if self._body is not None else self.image_rect()

    def set_smooth(self, smooth: bool) -> None:
        """Draw the scan smoothly (bilinear) or as square voxels; the overlay stays square."""
        mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        self._image_item.setTransformationMode(mode)

    @property
    def pixels_per_mm(self) -> float:
        """Screen pixels per mm at the current zoom."""
        return float(self.transform().m11())

    def image_rect(self) -> QRectF:
        """The slice's extent in scene coordinates (mm)."""
        return QRectF(0, 0, self._shape[1] * self._spacing[1], self._shape[0] * self._spacing[0])

    def set_image(self, pixmap: QPixmap) -> None:
        self._image_item.setPixmap(pixmap)

    def set_overlay(self, pixmap: QPixmap) -> None:
        self._overlay_item.setPixmap(pixmap)

    def set_overlay_opacity(self, opacity: float) -> None:
        self._overlay_item.setOpacity(opacity)

    def set_brush_radius(self, radius: float | None) -> None:
        """Show the brush's outline (radius in voxels) under the cursor, or hide it with None."""
        self._brush_radius = radius
        self._brush_item.setVisible(radius is not None and self.underMouse())

    # ---- coordinates, zoom and pan -------------------------------------------------------------

    def voxel_at(self, point: QPoint) -> tuple[float, float]:
        """Fractional voxel ``(y, x)`` under a viewport position; voxel (i, j)'s centre is (i, j)."""
        scene = self.mapToScene(point)
        return scene.y() / self._spacing[0] - 0.5, scene.x() / self._spacing[1] - 0.5

    def viewport_point(self, y: float, x: float) -> QPoint:
        """The viewport position of fractional voxel ``(y, x)``: the inverse of :meth:`voxel_at`."""
        return self.mapFromScene(QPointF((x + 0.5) * self._spacing[1], (y + 0.5) * self._spacing[0]))

    def fit(self) -> None:
        """Show the body (or the whole slice when no body is known), as large as the viewport allows."""
        self.fitInView(self.body_rect(), Qt.AspectRatioMode.KeepAspectRatio)

    def fit_slice(self) -> None:
        """Show the whole slice."""
        self.fitInView(self.image_rect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = False

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 (Qt override)
        if self._image_item.pixmap().isNull():
            return
        painter.save()
        painter.resetTransform()
        draw_annotations(painter, self.viewport().width(), self.viewport().height(), self.directions,
                         self.pixels_per_mm)
        painter.restore()

    def zoom(self, factor: float, *, under_mouse: bool = True) -> None:
        """Zoom by ``factor`` about the cursor (or the view's centre), within sane limits."""
        current = self.transform().m11()
        factor = min(max(current * factor, MIN_SCALE), MAX_SCALE) / current
        anchor = QGraphicsView.ViewportAnchor.AnchorUnderMouse if under_mouse else QGraphicsView.ViewportAnchor.AnchorViewCenter
        self.setTransformationAnchor(anchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._auto_fit = False

    def pan(self, dx: int, dy: int) -> None:
        """Move the content by ``(dx, dy)`` screen pixels."""
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - dx)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - dy)
        self._auto_fit = False

    # ---- Qt events -----------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(ZOOM_STEP ** (event.angleDelta().y() / 120))
        else:
            self._wheel_rest += event.angleDelta().y()
            steps = int(self._wheel_rest / 120)  # whole notches; touchpads send fractions
            self._wheel_rest -= steps * 120
            if steps:
                self.slice_stepped.emit(steps)
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(ZOOM_STEP, under_mouse=False)
        elif key == Qt.Key.Key_Minus:
            self.zoom(1 / ZOOM_STEP, under_mouse=False)
        elif key == Qt.Key.Key_Home:
            self.fit_slice()
        elif key == Qt.Key.Key_B:
            self._auto_fit = True
            self.fit()
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_PageUp, Qt.Key.Key_Down, Qt.Key.Key_PageDown):
            self.slice_stepped.emit(1 if key in (Qt.Key.Key_Up, Qt.Key.Key_PageUp) else -1)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        button, point = event.button(), event_point(event)
        self._last_point = point
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_down):
            self._drag = "pan"
        elif button == Qt.MouseButton.RightButton:
            self._drag = "window"
        elif button == Qt.MouseButton.LeftButton:
            self._drag = "paint"
            self.paint_pressed.emit(*self.voxel_at(point))
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        point = event_point(event)
        delta, self._last_point = point - self._last_point, point
        if self._drag == "pan":
            self.pan(delta.x(), delta.y())
        elif self._drag == "window":
            self.window_dragged.emit(float(delta.x()), float(delta.y()))
        elif self._drag == "paint":
            self.paint_moved.emit(*self.voxel_at(point))
        self._on_hover(point)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        if drag == "paint":
            self.paint_released.emit()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._brush_item.setVisible(False)
        self.hovered.emit(math.nan, math.nan)
        super().leaveEvent(event)

    def _on_hover(self, point: QPoint) -> None:
        y, x = self.voxel_at(point)
        if self._brush_radius is not None:
            radius = max(self._brush_radius, 0.5) + 0.5
            ry, rx = radius * self._spacing[0], radius * self._spacing[1]
            centre_x, centre_y = (x + 0.5) * self._spacing[1], (y + 0.5) * self._spacing[0]
            self._brush_item.setRect(QRectF(centre_x - rx, centre_y - ry, 2 * rx, 2 * ry))
            self._brush_item.setVisible(True)
        self.hovered.emit(y, x)
