"""numpy arrays to Qt images, without per-pixel Python."""

from __future__ import annotations

import numpy as np
from qtpy.QtGui import QImage, QPixmap


def gray_pixmap(gray: np.ndarray) -> QPixmap:
    """A pixmap of a 2D uint8 ``[y, x]`` grey image."""
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    height, width = gray.shape
    image = QImage(gray.data, width, height, gray.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image)


def rgba_pixmap(rgba: np.ndarray) -> QPixmap:
    """A pixmap of a ``[y, x, 4]`` uint8 RGBA image (straight alpha)."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = rgba.shape[:2]
    image = QImage(rgba.data, width, height, rgba.strides[0], QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(image)


def qimage_to_array(image: QImage) -> np.ndarray:
    """A copy of a QImage as a ``[y, x, 4]`` uint8 RGBA array (for screenshots and tests)."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    height, width = image.height(), image.width()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, :width * 4].reshape(height, width, 4).copy()
