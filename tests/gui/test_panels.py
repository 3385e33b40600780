"""The muscle palette (buttons and keys 1..7, 0), the edit tools panel, the Dice table and the overlap legend."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from legseg_core.editing import EditingState, LabelEditor
from legseg_core.evaluation.metrics import evaluate_labels
from legseg_core.evaluation.overlap import OverlapTracker
from legseg_gui.dice_table import DiceTableWidget
from legseg_gui.edit_tools import EditToolsWidget
from legseg_gui.muscle_palette import MusclePaletteWidget
from legseg_gui.overlap_legend import OverlapLegendWidget
from tests.gui.conftest import show


@pytest.fixture
def panels(qtbot, editor: LabelEditor, tool_state: EditingState):
    """A window holding the palette, the tools panel and a text field."""
    window = QWidget()
    layout = QHBoxLayout(window)
    palette, tools, field = MusclePaletteWidget(tool_state), EditToolsWidget(tool_state, editor), QLineEdit()
    for widget in (palette, tools, field):
        layout.addWidget(widget)
    show(qtbot, window, (900, 300))
    yield palette, tools, field  # the window stays referenced (alive) until the test ends


def test_number_keys_pick_muscles_and_zero_the_eraser(qtbot, panels, tool_state) -> None:
    palette, tools, _ = panels
    for key, label in ((Qt.Key.Key_3, 3), (Qt.Key.Key_7, 7), (Qt.Key.Key_1, 1)):
        qtbot.keyClick(tools, key)
        assert tool_state.active_label == label and palette.selected == label
    qtbot.keyClick(tools, Qt.Key.Key_0)
    assert tool_state.tool == "eraser" and palette.selected == 0 and tool_state.painting_label == 0
    qtbot.keyClick(tools, Qt.Key.Key_5)
    assert (tool_state.tool, tool_state.active_label) == ("brush", 5)


def test_typing_numbers_into_a_text_field_does_not_change_the_muscle(qtbot, panels, tool_state) -> None:
    _, _, field = panels
    field.setFocus()
    qtbot.keyClicks(field, "42")
    assert field.text() == "42" and tool_state.active_label == 1


def test_palette_buttons_follow_and_set_the_state(qtbot, panels, tool_state) -> None:
    palette, _, _ = panels
    qtbot.mouseClick(palette.button(6), Qt.MouseButton.LeftButton)
    assert tool_state.active_label == 6
    tool_state.active_label = 2
    assert palette.button(2).isChecked() and not palette.button(6).isChecked()
    qtbot.mouseClick(palette.button(0), Qt.MouseButton.LeftButton)
    assert tool_state.tool == "eraser"


def test_tool_buttons_brush_size_and_paint_over_write_the_state(qtbot, panels, tool_state) -> None:
    _, tools, _ = panels
    qtbot.mouseClick(tools.tool_group.button(2), Qt.MouseButton.LeftButton)
    assert tool_state.tool == "fill"
    tools.size_slider.setValue(9)
    assert tool_state.brush_radius == 9 and tools.size_label.text() == "9 vx"
    tools.paint_over_combo.setCurrentIndex(1)
    assert tool_state.paint_over == 0
    tool_state.paint_over = 4
    assert tools.paint_over_combo.currentText() == "TA only"
    tools.relabel_3d_check.setChecked(True)
    assert tool_state.relabel_3d


def test_undo_and_redo_buttons_and_shortcuts(qtbot, panels, editor) -> None:
    _, tools, _ = panels
    before = editor.labels.copy()
    assert not tools.undo_button.isEnabled()
    editor.paint(0, (10, 10), radius=3, label=2)
    after = editor.labels.copy()
    assert tools.undo_button.isEnabled() and not tools.redo_button.isEnabled()
    qtbot.keyClick(tools, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(editor.labels, before) and tools.redo_button.isEnabled()
    qtbot.keyClick(tools, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(editor.labels, after)
    qtbot.mouseClick(tools.undo_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(editor.labels, before)
    qtbot.mouseClick(tools.redo_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(editor.labels, after)


def test_interpolate_fills_between_drawn_slices_or_says_why_not(qtbot, panels, editor, tool_state) -> None:
    _, tools, _ = panels
    tool_state.active_label = 3
    with qtbot.waitSignal(tools.message) as message:
        qtbot.mouseClick(tools.interpolate_button, Qt.MouseButton.LeftButton)
    assert "at least two slices" in message.args[0]
    editor.paint(0, (50, 50), radius=4, label=3)
    editor.paint(4, (50, 50), radius=6, label=3)
    qtbot.mouseClick(tools.interpolate_button, Qt.MouseButton.LeftButton)
    assert all((editor.labels[z] == 3).any() for z in range(5)) and "on 3 slices" in tools.message_label.text()


def test_the_dice_table_shows_scores_nan_as_a_dash_and_the_mean(qtbot, scene) -> None:
    reference = scene[1]
    prediction = reference.copy()
    prediction[3:9, 40:48, :] = 0
    scores = evaluate_labels(reference, prediction, scene[0].spacing)
    table = DiceTableWidget()
    qtbot.addWidget(table)
    table.set_scores([m.to_dict() for m in scores.muscles])
    assert table.text(1, "dice") == "1.000" and table.text(1, "ahd_mm") == "0.00"
    assert float(table.text(4, "dice")) == pytest.approx(scores.muscle(4).dice, abs=5e-4)
    assert table.text(4, "volume_difference_ml") == f"{scores.muscle(4).volume_difference_ml:+.1f}"
    assert table.text(2, "dice") == "–" and table.text("mean", "dice") == f"{scores.mean('dice'):.3f}"
    tracker = OverlapTracker(reference, prediction)
    table.set_dice({**tracker.dice(), 1: 0.5})
    assert table.text(1, "dice") == "0.500" and table.text(1, "ahd_mm") == "0.00"
    table.clear_values()
    assert table.text("mean", "ahd_mm") == "–"


def test_the_overlap_legend_names_each_class_and_shows_counts(qtbot) -> None:
    legend = OverlapLegendWidget()
    qtbot.addWidget(legend)
    legend.set_counts({1: 1200, 4: 7})
    assert legend.count_text(1) == "1,200" and legend.count_text(4) == "7" and legend.count_text(2) == "0"
    legend.set_counts({1: 1200, 2: 50, 3: 300, 4: 500}, voxel_ml=0.01)  # reference: 1200 + 300 + 500 voxels
    assert legend.count_text(1) == "12.0 ml · 60.0% of ref." and legend.count_text(2) == "0.5 ml · 2.5% of ref."
    legend.set_counts(None)
    assert legend.count_text(1) == ""


def test_a_destroyed_widget_stops_listening_to_the_model(qtbot) -> None:
    state = EditingState()
    listeners = len(state.events.changed)
    palette = MusclePaletteWidget(state)
    assert len(state.events.changed) == listeners + 1
    palette.deleteLater()
    qtbot.waitUntil(lambda: len(state.events.changed) == listeners, timeout=2000)
    state.active_label = 4  # would raise on a deleted widget still listening
    assert state.active_label == 4


def test_a_palette_without_shortcuts_leaves_the_number_keys_to_its_host(qtbot) -> None:
    state = EditingState()
    palette = show(qtbot, MusclePaletteWidget(state, shortcuts=False), (300, 80))
    qtbot.keyClick(palette, Qt.Key.Key_4)
    assert state.active_label == 1 and palette.shortcuts == []


def test_muscle_rows_carry_their_colour_as_an_icon_that_a_theme_cannot_repaint(qtbot) -> None:
    """napari's theme paints table headers in its own grey over a header cell's background; the colour
    swatch icon of each muscle row stays."""
    from legseg_core.labels import MUSCLES
    from legseg_gui.quality_widget import QualityReportWidget

    dice, quality = DiceTableWidget(), QualityReportWidget()
    for widget in (dice, quality):
        qtbot.addWidget(widget)
    for table in (dice, quality.table):
        table.setStyleSheet("QHeaderView::section { background-color: #414851; }")  # napari's dark theme
        for row, muscle in enumerate(MUSCLES):
            icon = table.verticalHeaderItem(row).icon()
            assert not icon.isNull(), muscle.abbr
            image = icon.pixmap(12, 12).toImage()
            colour = image.pixelColor(6, 6)
            assert (colour.red(), colour.green(), colour.blue()) == tuple(muscle.color), muscle.abbr


def test_the_dice_table_asks_for_the_height_of_all_its_rows(qtbot) -> None:
    """In a dock that gives its widgets their preferred height (napari's review dock ends in a stretch), the
    seven muscles and the mean all show, with no scroll bar."""
    from qtpy.QtWidgets import QVBoxLayout

    host = QWidget()
    layout = QVBoxLayout(host)
    table = DiceTableWidget()
    layout.addWidget(table)
    layout.addStretch(1)
    show(qtbot, host, (420, 900))
    assert table.verticalScrollBar().maximum() == 0
    assert table.viewport().height() >= sum(table.rowHeight(row) for row in range(table.rowCount()))
