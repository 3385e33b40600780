"""Small synthetic scenes for the widget tests: a 12 x 64 x 64 scan with labelled discs."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtWidgets import QWidget

from legseg_core.editing import EditingState, LabelEditor
from legseg_core.io import Volume

SHAPE = (12, 64, 64)
DISCS = {1: (20, 20, 8), 4: (40, 44, 8)}  # muscle -> (y, x, radius) on slices 3..8


def disc_mask(centre_y: float, centre_x: float, radius: float, shape: tuple[int, int] = SHAPE[1:]) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - centre_y) ** 2 + (xx - centre_x) ** 2 <= radius**2


@pytest.fixture
def scene() -> tuple[Volume, np.ndarray]:
    """A scan whose intensity rises along x, muscles brighter, and its labels (uint8 [z, y, x])."""
    image = np.tile(np.linspace(0, 100, SHAPE[2], dtype=np.float32), (SHAPE[0], SHAPE[1], 1))
    labels = np.zeros(SHAPE, np.uint8)
    for label, (y, x, radius) in DISCS.items():
        labels[3:9, disc_mask(y, x, radius)] = label
    image[labels > 0] += 50
    return Volume.from_array(image, spacing=(3.0, 1.0, 1.0)), labels


@pytest.fixture
def editor(scene) -> LabelEditor:
    return LabelEditor(scene[1].copy(), spacing=scene[0].spacing)


@pytest.fixture
def tool_state() -> EditingState:
    return EditingState()


def show(qtbot, widget: QWidget, size: tuple[int, int] = (420, 520)) -> QWidget:
    """Show a widget at a fixed size as the active window (so window shortcuts work offscreen)."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    widget.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: widget.isActiveWindow(), timeout=2000)
    return widget
