"""The image view: painting through mouse events, undo, overlays on screen, window/level, zoom, pan."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QWheelEvent
from qtpy.QtWidgets import QApplication

from legseg_core.editing import LabelEditor
from legseg_core.errors import GridMismatchError
from legseg_core.evaluation.overlap import OverlapTracker
from legseg_core.io import Volume
from legseg_core.labels import MUSCLE_BY_ID, OVERLAP_BY_ID, OVERLAP_AGREE, OVERLAP_MANUAL_ONLY
from legseg_gui.qimage import qimage_to_array
from legseg_gui.slice_view import SliceViewWidget
from tests.gui.conftest import DISCS, show


@pytest.fixture
def view(qtbot, scene, editor, tool_state) -> SliceViewWidget:
    widget = SliceViewWidget(scene[0], editor, tool_state=tool_state)
    show(qtbot, widget)
    widget.view_state.z = 5
    widget.refresh()
    return widget


def screen(view: SliceViewWidget) -> np.ndarray:
    """What the canvas shows now, as ``[y, x, 4]`` RGBA."""
    view.refresh()
    return qimage_to_array(view.canvas.viewport().grab().toImage())


def pixel(view: SliceViewWidget, image: np.ndarray, y: float, x: float) -> np.ndarray:
    point = view.canvas.viewport_point(y, x)
    return image[point.y(), point.x(), :3].astype(int)


def wheel(view: SliceViewWidget, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = view.canvas.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    event = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def drag(qtbot, view: SliceViewWidget, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:
    viewport = view.canvas.viewport()
    positions = [view.canvas.viewport_point(y, x) for y, x in points]
    qtbot.mousePress(viewport, button, pos=positions[0])
    for position in positions[1:]:
        qtbot.mouseMove(viewport, position)
    qtbot.mouseRelease(viewport, button, pos=positions[-1])


def test_a_brush_drag_paints_under_the_cursor_and_undo_restores(qtbot, view, editor, tool_state) -> None:
    before = editor.labels.copy()
    tool_state.active_label, tool_state.brush_radius = 3, 1
    drag(qtbot, view, [(56, 10), (56, 25), (56, 40), (56, 54)])
    assert np.all(editor.labels[5, 56, 10:55] == 3)
    assert np.array_equal(editor.labels[[0, 1, 2, 3, 4, 6]], before[[0, 1, 2, 3, 4, 6]])
    assert len(editor.history.undo_records) == 1 and editor.dirty
    editor.undo()
    assert np.array_equal(editor.labels, before)


def test_the_eraser_fill_and_relabel_tools_act_where_clicked(qtbot, view, editor, tool_state) -> None:
    tool_state.select(0)
    tool_state.brush_radius = 2
    drag(qtbot, view, [(20, 12), (20, 28)])
    assert not editor.labels[5, 20, 12:29].any() and editor.labels[5, 12, 20] == 1
    tool_state.tool, tool_state.active_label = "relabel", 6
    drag(qtbot, view, [(44, 44)])
    assert np.all(editor.labels[5][editor.labels[4] == 4] == 6) and np.all(editor.labels[4][DISCS_MASK(4)] == 4)
    background = editor.labels[5] == 0  # one 4-connected region: the erased strip reaches past the disc
    tool_state.tool, tool_state.active_label = "fill", 2
    drag(qtbot, view, [(1, 1)])
    assert np.array_equal(editor.labels[5] == 2, background)
    assert np.array_equal(editor.labels[4] == 2, np.zeros_like(background))


def DISCS_MASK(label: int) -> np.ndarray:  # noqa: N802 (reads like a constant)
    from tests.gui.conftest import disc_mask

    return disc_mask(*DISCS[label])


def test_the_muscle_under_the_cursor_is_named(qtbot, view) -> None:
    with qtbot.waitSignal(view.muscle_hovered) as signal:
        qtbot.mouseMove(view.canvas.viewport(), view.canvas.viewport_point(40, 44))
    assert signal.args == [4, "TA (tibialis anterior)"]
    assert "TA (tibialis anterior)" in view.status_label.text() and "z 5  y 40  x 44" in view.status_label.text()
    with qtbot.waitSignal(view.muscle_hovered) as signal:
        qtbot.mouseMove(view.canvas.viewport(), view.canvas.viewport_point(2, 60))
    assert signal.args == [0, "background"]


def test_the_screen_shows_the_muscle_colours_where_the_labels_are(view) -> None:
    view.view_state.opacity = 1.0
    image = screen(view)
    for label, (y, x, _) in DISCS.items():
        assert np.abs(pixel(view, image, y, x) - MUSCLE_BY_ID[label].color).max() <= 2
    background = pixel(view, image, 56, 8)
    assert background[0] == background[1] == background[2]
    view.view_state.outline = True
    image = screen(view)
    centre, edge = pixel(view, image, 20, 20), pixel(view, image, 20, 28)
    assert centre[0] == centre[1] == centre[2]
    assert np.abs(edge - MUSCLE_BY_ID[1].color).max() <= 2


def test_the_slice_is_shown_without_flips_and_with_its_aspect(qtbot, scene) -> None:
    data = np.zeros((2, 40, 30), np.float32)
    data[:, :5, :5] = 100  # anterior (small y), patient right (small x)
    view = SliceViewWidget(Volume.from_array(data, spacing=(4.0, 1.0, 2.0)))
    show(qtbot, view)
    view.canvas.fit_slice()  # the whole slice (it opened zoomed to the bright corner, its "body")
    image = screen(view)
    assert pixel(view, image, 2, 2)[0] > 200 and pixel(view, image, 37, 27)[0] < 50
    top_left, right, below = (view.canvas.viewport_point(*p) for p in ((0, 0), (0, 10), (10, 0)))
    assert (right.x() - top_left.x()) == pytest.approx(2 * (below.y() - top_left.y()), abs=2)


def test_the_overlap_map_is_an_alternative_overlay_with_its_legend(qtbot, view, editor, tool_state) -> None:
    tracker = OverlapTracker(editor.labels.copy(), editor.labels)
    editor.events.labels_changed.connect(tracker.apply_edit)
    view.set_overlap(tracker.map)
    view.view_state.overlay, view.view_state.opacity = "overlap", 1.0
    assert view.legend.isVisibleTo(view)
    tool_state.select(0)
    tool_state.brush_radius = 2
    drag(qtbot, view, [(20, 20)])
    image = screen(view)
    assert np.abs(pixel(view, image, 20, 20) - OVERLAP_BY_ID[OVERLAP_MANUAL_ONLY].color).max() <= 2
    assert np.abs(pixel(view, image, 40, 44) - OVERLAP_BY_ID[OVERLAP_AGREE].color).max() <= 2
    view.view_state.overlay = "labels"
    assert not view.legend.isVisibleTo(view)


def test_a_right_drag_changes_window_and_level_and_reset_restores_them(qtbot, view) -> None:
    view.view_state.overlay = "none"
    start = view.view_state.window
    grey = pixel(view, screen(view), 56, 32)
    drag(qtbot, view, [(30, 30), (10, 50)], button=Qt.MouseButton.RightButton)
    assert view.view_state.window != start
    assert not np.array_equal(pixel(view, screen(view), 56, 32), grey)
    qtbot.mouseClick(view.controls.reset_button, Qt.MouseButton.LeftButton)
    assert view.view_state.window == start
    assert np.array_equal(pixel(view, screen(view), 56, 32), grey)


def test_wheel_scrolls_slices_and_ctrl_wheel_zooms(view) -> None:
    wheel(view, 2)
    assert view.view_state.z == 7 and view.slice_slider.value() == 7
    wheel(view, -20)
    assert view.view_state.z == 0
    scale = view.canvas.transform().m11()
    wheel(view, 1, Qt.KeyboardModifier.ControlModifier)
    assert view.canvas.transform().m11() == pytest.approx(scale * 1.25)
    view.slice_slider.setValue(9)
    assert view.view_state.z == 9


def test_keys_zoom_and_middle_drag_pans(qtbot, view) -> None:
    scale = view.canvas.transform().m11()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Plus)
    assert view.canvas.transform().m11() == pytest.approx(scale * 1.25)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Minus)
    assert view.canvas.transform().m11() == pytest.approx(scale)
    before = view.canvas.viewport_point(32, 32)
    viewport = view.canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(130, 80))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(130, 80))
    after = view.canvas.viewport_point(32, 32)
    assert (after.x() - before.x(), after.y() - before.y()) == (30, -20)
    qtbot.keyPress(view.canvas, Qt.Key.Key_Space)
    view.tool_state.active_label = 2
    drag(qtbot, view, [(32, 32), (32, 42)])
    qtbot.keyRelease(view.canvas, Qt.Key.Key_Space)
    moved = view.canvas.viewport_point(32, 32)
    assert moved.x() - after.x() == pytest.approx(10 * view.canvas.transform().m11(), abs=2)
    assert not np.any(view.editor.labels == 2), "panning must not paint"


def test_an_edit_message_appears_in_the_status_line(qtbot, view, tool_state) -> None:
    tool_state.tool = "relabel"
    drag(qtbot, view, [(2, 2)])
    assert "is background" in view.status_label.text()


def test_labels_or_an_overlap_map_of_another_grid_are_refused(view) -> None:
    with pytest.raises(GridMismatchError, match=r"labels of shape \(3, 64, 64\) do not fit .*\(12, 64, 64\)"):
        view.set_editor(LabelEditor(np.zeros((3, 64, 64), np.uint8)))
    with pytest.raises(GridMismatchError, match=r"overlap map of shape \(12, 8, 8\)"):
        view.set_overlap(np.zeros((12, 8, 8), np.uint8))


def test_hover_off_the_image_reports_no_muscle(qtbot, view) -> None:
    qtbot.mouseMove(view.canvas.viewport(), view.canvas.viewport_point(20, 20))
    view.canvas.hovered.emit(math.nan, math.nan)
    assert view.hovered_voxel() is None and view.status_label.text() == "slice 5"


def test_the_slice_view_benchmark_times_a_re_render(qtbot) -> None:
    import argparse

    from legseg_gui.benchmarks import slice_view

    result = slice_view.run(argparse.Namespace(shape=(4, 64, 48), repeats=2))
    assert result.rows[0]["slice (y, x)"] == "64 x 48" and result.rows[0]["full re-render ms"] > 0
    assert result.targets[0]["what"] == "full re-render of one slice"
