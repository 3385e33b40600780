"""What lets a reader trust the image at a glance: orientation letters, a scale bar, zoom to the body, a window
from the body's intensities, smooth display, the muscle legend, the list of controls, and sections that grow."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QPointF, Qt
from qtpy.QtGui import QEnterEvent

from legseg_core.io import Volume
from legseg_core.labels import MUSCLES
from legseg_gui.controls_help import BINDINGS
from legseg_gui.display_window import DEFAULT_PRESET, body_extent
from legseg_gui.qimage import qimage_to_array
from legseg_gui.slice_canvas import scale_bar_length
from legseg_gui.slice_view import SliceViewWidget, overlay_slice
from tests.gui.conftest import show


def body_scan() -> Volume:
    """A 1 mm grid of 100 x 160: air, a body block of tissue (100..200) in its middle, a few very bright voxels."""
    rng = np.random.default_rng(0)
    data = np.zeros((6, 100, 160), np.float32)
    data[:, 30:70, 50:110] = rng.uniform(100, 200, (6, 40, 60))
    data[:, 40, 60:63] = 10_000  # a vessel: it must not set the window
    return Volume.from_array(data, spacing=(3.0, 1.0, 1.0))


def test_the_default_window_spans_the_body_not_air_nor_a_bright_vessel() -> None:
    extent = body_extent(body_scan().data)
    window, level = extent.presets[DEFAULT_PRESET]
    assert 95 < level - window / 2 < 110 and 190 < level + window / 2 < 205
    assert extent.box[0] <= 30 and extent.box[1] >= 70 and extent.box[2] <= 50 and extent.box[3] >= 110
    assert extent.box[1] - extent.box[0] <= 50 and extent.box[3] - extent.box[2] <= 70  # the body, not the slice


def test_the_view_opens_zoomed_to_the_body_and_keys_switch_body_and_slice(qtbot) -> None:
    view = show(qtbot, SliceViewWidget(body_scan()), size=(700, 600))
    canvas = view.canvas
    body_pixels = 60 * canvas.pixels_per_mm, 40 * canvas.pixels_per_mm  # 60 x 40 mm of body
    viewport = canvas.viewport()
    assert max(body_pixels[0] / viewport.width(), body_pixels[1] / viewport.height()) > 0.8
    qtbot.keyClick(canvas, Qt.Key.Key_Home)
    whole = canvas.pixels_per_mm
    assert whole < 0.8 * max(body_pixels[0] / 60, 1e-6)
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.pixels_per_mm == pytest.approx(body_pixels[0] / 60, rel=0.01)


def test_orientation_letters_and_scale_bar_are_drawn_and_sized_for_the_zoom(qtbot) -> None:
    assert scale_bar_length(pixels_per_mm=2.0, available_pixels=120) == 50
    assert scale_bar_length(pixels_per_mm=10.0, available_pixels=120) == 10
    view = show(qtbot, SliceViewWidget(Volume.from_array(np.zeros((2, 80, 80), np.float32))), size=(500, 500))
    assert view.canvas.directions == ("A", "P", "R", "L")
    view.refresh()
    image = qimage_to_array(view.canvas.viewport().grab().toImage())[..., :3].astype(int)
    height, width = image.shape[:2]
    white = (image.min(axis=2) > 230)
    assert white[:30, width // 2 - 15:width // 2 + 15].any()  # "A" at the top
    assert white[height // 2 - 15:height // 2 + 15, :20].any()  # "R" on the left: radiological
    assert white[height - 14:height - 10, 12:40].any(axis=0).all()  # the scale bar at the bottom left


def test_presets_and_smooth_display_follow_the_controls(qtbot) -> None:
    view = show(qtbot, SliceViewWidget(body_scan()))
    controls = view.controls
    names = [controls.preset_combo.itemText(i) for i in range(controls.preset_combo.count())]
    assert names[0] == DEFAULT_PRESET and len(names) == 4
    controls.preset_combo.activated.emit(3)
    assert view.view_state.window == view.view_state.window_presets[names[3]]
    controls.smooth_check.setChecked(True)
    assert view.view_state.smooth
    assert view.canvas._image_item.transformationMode() == Qt.TransformationMode.SmoothTransformation


def test_the_muscle_legend_hides_a_muscle_on_click_and_highlights_on_hover(qtbot, scene, editor) -> None:
    volume, labels = scene
    view = show(qtbot, SliceViewWidget(volume, editor))
    legend = view.muscle_legend
    assert [row.muscle for row in legend.rows.values()] == list(MUSCLES)
    assert all(row.muscle.name in row.toolTip() and row.muscle.abbr in row.text.text() for row in legend.rows.values())
    qtbot.mouseClick(legend.rows[1], Qt.MouseButton.LeftButton)
    assert view.view_state.hidden_labels == {1}
    rgba = overlay_slice(view, (5,))
    assert (rgba[labels[5] == 1, 3] == 0).all() and (rgba[labels[5] == 4, 3] == 255).all()
    qtbot.mouseClick(legend.rows[1], Qt.MouseButton.LeftButton)
    assert not view.view_state.hidden_labels
    enter = QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5))
    legend.rows[4].enterEvent(enter)
    assert view.view_state.highlight == 4
    rgba = overlay_slice(view, (5,))
    assert (rgba[labels[5] == 4, 3] == 255).all() and (rgba[labels[5] == 1, 3] < 100).all()
    legend.rows[4].leaveEvent(QEvent(QEvent.Type.Leave))
    assert view.view_state.highlight == 0


def test_every_canvas_gesture_and_key_is_in_the_controls_list() -> None:
    listed = " ".join(f"{binding} {action}" for _, binding, action in BINDINGS)
    for gesture in ("Wheel", "Ctrl + wheel", "Space + left drag", "Right drag", "+ / -", "Home", "B", "1 … 7",
                    "Ctrl+Z", "Ctrl+M", "F1", "Click a muscle in the legend"):
        assert gesture in listed, gesture
