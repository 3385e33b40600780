"""A small live line plot drawn with QPainter (training loss, validation Dice).

Light on purpose: no matplotlib import, so a panel with a plot opens fast. Points are
appended as they come; the axes fit the data (or a fixed y range such as 0..1 for Dice).
"""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 8, 18, 18


class LinePlotWidget(QWidget):
    """One or more named series of ``(x, y)`` points on shared axes, with a title.

    ``y_range`` fixes the y axis (e.g. ``(0, 1)`` for Dice); None fits it to the data.
    """

    def __init__(self, title: str, *, y_range: tuple[float, float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.y_range = y_range
        self._series: dict[str, tuple[QColor, list[tuple[float, float]]]] = {}
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add_series(self, name: str, color: tuple[int, int, int]) -> None:
        """Declare a series and its colour (RGB 0..255)."""
        self._series[name] = (QColor(*color), [])

    def append(self, name: str, x: float, y: float) -> None:
        """Add a point to a series (non-finite values are skipped) and repaint."""
        if math.isfinite(float(x)) and math.isfinite(float(y)):
            self._series[name][1].append((float(x), float(y)))
            self.update()

    def clear(self) -> None:
        """Remove every point (the series stay declared)."""
        for _, points in self._series.values():
            points.clear()
        self.update()

    def points(self, name: str) -> list[tuple[float, float]]:
        """A copy of one series' points."""
        return list(self._series[name][1])

    # ---- drawing ----------------------------------------------------------------------------------

    def _bounds(self) -> tuple[float, float, float, float]:
        xs = [x for _, points in self._series.values() for x, _ in points] or [0.0, 1.0]
        ys = [y for _, points in self._series.values() for _, y in points] or [0.0, 1.0]
        low, high = self.y_range if self.y_range is not None else (min(ys), max(ys))
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        x_low, x_high = min(xs), max(xs)
        if x_high - x_low < 1e-12:
            x_high = x_low + 1.0
        return x_low, x_high, low, high

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(MARGIN_LEFT, MARGIN_TOP, max(self.width() - MARGIN_LEFT - MARGIN_RIGHT, 1),
                       max(self.height() - MARGIN_TOP - MARGIN_BOTTOM, 1))
        painter.fillRect(self.rect(), self.palette().base())
        painter.setPen(QPen(self.palette().text().color(), 1))
        painter.drawRect(frame)
        x_low, x_high, y_low, y_high = self._bounds()
        painter.drawText(QRectF(0, 0, self.width(), MARGIN_TOP), Qt.AlignmentFlag.AlignCenter, self.title)
        for value, y in ((y_high, frame.top()), (y_low, frame.bottom())):
            right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(QRectF(0, y - 8, MARGIN_LEFT - 4, 16), right, f"{value:.3g}")
        painter.drawText(QRectF(frame.left(), frame.bottom(), frame.width(), MARGIN_BOTTOM),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{x_high:.4g}")

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(frame.left() + (x - x_low) / (x_high - x_low) * frame.width(),
                           frame.bottom() - (min(max(y, y_low), y_high) - y_low) / (y_high - y_low) * frame.height())

        for color, points in self._series.values():
            if not points:
                continue
            path = QPainterPath(to_screen(*points[0]))
            for point in points[1:]:
                path.lineTo(to_screen(*point))
            painter.setPen(QPen(color, 1.5))
            painter.drawPath(path)
            painter.drawEllipse(to_screen(*points[-1]), 2.0, 2.0)
        painter.end()
