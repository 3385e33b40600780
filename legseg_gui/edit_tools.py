"""The editing tools panel: tool, brush size, paint-over rule, undo and redo, interpolation."""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                            QShortcut, QSlider, QToolButton, QWidget)

from legseg_core.editing import MAX_BRUSH_RADIUS, TOOLS, EditingError, EditingState, LabelEditor
from legseg_core.labels import MUSCLES, muscle_name
from legseg_gui._events import connect_while_alive

TOOL_TIPS = {"brush": "paint the active muscle (drag)", "eraser": "erase to background (drag; key 0)",
             "fill": "flood fill the clicked region on this slice", "relabel": "give the clicked muscle region the active muscle"}
UNDO_KEYS, REDO_KEYS = ("Ctrl+Z",), ("Ctrl+Shift+Z", "Ctrl+Y")
#: The paint-over choices in the order of the combo box: anything, background only, one muscle only.
PAINT_OVER_CHOICES: tuple[int | None, ...] = (None, 0, *(m.id for m in MUSCLES))


class EditToolsWidget(QWidget):
    """Writes the tool choice to an :class:`EditingState` and drives a :class:`LabelEditor`'s history.

    ``message(text)`` reports what an action did or why it could not (e.g. interpolation with a
    muscle drawn on fewer than two slices).
    """

    message = Signal(str)

    def __init__(self, state: EditingState, editor: LabelEditor | None = None, *, shortcuts: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self._editor = state, None
        self._build()
        if shortcuts:
            self.shortcuts = [self._shortcut(key, self._on_undo_clicked) for key in UNDO_KEYS]
            self.shortcuts += [self._shortcut(key, self._on_redo_clicked) for key in REDO_KEYS]
        connect_while_alive(self, state.events.changed, self._on_state_changed)
        self._on_state_changed("all")
        self.set_editor(editor)

    def _build(self) -> None:
        self.tool_group = QButtonGroup(self)
        tools_row = QHBoxLayout()
        for index, tool in enumerate(TOOLS):
            button = QToolButton()
            button.setText(tool.capitalize())
            button.setToolTip(TOOL_TIPS[tool])
            button.setCheckable(True)
            self.tool_group.addButton(button, index)
            tools_row.addWidget(button)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(0, MAX_BRUSH_RADIUS)
        self.size_label = QLabel()
        self.paint_over_combo = QComboBox()
        self.paint_over_combo.addItems(["anything", "background only", *(f"{m.abbr} only" for m in MUSCLES)])
        self.relabel_3d_check = QCheckBox("Relabel in 3D")
        self.undo_button, self.redo_button = QPushButton("Undo"), QPushButton("Redo")
        self.interpolate_button = QPushButton("Interpolate")
        self.interpolate_button.setToolTip("interpolate the active muscle between the slices drawn by hand")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self._lay_out(tools_row)
        self.tool_group.idClicked.connect(self._on_tool_clicked)
        self.size_slider.valueChanged.connect(self._on_size_moved)
        self.paint_over_combo.currentIndexChanged.connect(self._on_paint_over_chosen)
        self.relabel_3d_check.toggled.connect(self._on_relabel_3d_toggled)
        self.undo_button.clicked.connect(self._on_undo_clicked)
        self.redo_button.clicked.connect(self._on_redo_clicked)
        self.interpolate_button.clicked.connect(self._on_interpolate_clicked)

    def _lay_out(self, tools_row: QHBoxLayout) -> None:
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools_row, 0, 0, 1, 3)
        layout.addWidget(QLabel("Brush radius"), 1, 0)
        layout.addWidget(self.size_slider, 1, 1)
        layout.addWidget(self.size_label, 1, 2)
        layout.addWidget(QLabel("Paint over"), 2, 0)
        layout.addWidget(self.paint_over_combo, 2, 1, 1, 2)
        layout.addWidget(self.relabel_3d_check, 3, 0, 1, 3)
        layout.addWidget(self.undo_button, 4, 0)
        layout.addWidget(self.redo_button, 4, 1)
        layout.addWidget(self.interpolate_button, 4, 2)
        layout.addWidget(self.message_label, 5, 0, 1, 3)

    def _shortcut(self, key: str, slot) -> QShortcut:
        shortcut = QShortcut(QKeySequence(key), self)
        shortcut.activated.connect(slot)
        return shortcut

    @property
    def editor(self) -> LabelEditor | None:
        return self._editor

    def set_editor(self, editor: LabelEditor | None) -> None:
        """Drive another editor's history (or none: the history buttons are disabled)."""
        if self._editor is not None:
            self._editor.events.history_changed.disconnect(self._on_history_changed)
        self._editor = editor
        if editor is not None:
            connect_while_alive(self, editor.events.history_changed, self._on_history_changed)
        self._on_history_changed()

    # ---- slots -------------------------------------------------------------------------------

    def _on_tool_clicked(self, index: int) -> None:
        self.state.tool = TOOLS[index]

    def _on_size_moved(self, value: int) -> None:
        self.state.brush_radius = value

    def _on_paint_over_chosen(self, index: int) -> None:
        self.state.paint_over = PAINT_OVER_CHOICES[index]

    def _on_relabel_3d_toggled(self, checked: bool) -> None:
        self.state.relabel_3d = checked

    def _on_undo_clicked(self) -> None:
        if self._editor is not None and self._editor.undo() is None:
            self._say("nothing to undo")

    def _on_redo_clicked(self) -> None:
        if self._editor is not None and self._editor.redo() is None:
            self._say("nothing to redo")

    def _on_interpolate_clicked(self) -> None:
        if self._editor is None:
            return
        label = self.state.active_label
        try:
            regions = self._editor.interpolate_edited(label)
        except EditingError as error:
            self._say(str(error))
            return
        slices = sum(region[0].stop - region[0].start for region in regions)
        self._say(f"interpolated {muscle_name(label)} on {slices} slices")

    def _on_history_changed(self) -> None:
        self.undo_button.setEnabled(self._editor is not None and self._editor.can_undo)
        self.redo_button.setEnabled(self._editor is not None and self._editor.can_redo)
        self.interpolate_button.setEnabled(self._editor is not None)

    def _on_state_changed(self, name: str) -> None:
        state = self.state
        if name in ("tool", "all"):
            self.tool_group.button(TOOLS.index(state.tool)).setChecked(True)
        if name in ("brush_radius", "all"):
            self.size_slider.setValue(state.brush_radius)
            self.size_label.setText(f"{state.brush_radius} vx")
        if name in ("paint_over", "all"):
            self.paint_over_combo.setCurrentIndex(PAINT_OVER_CHOICES.index(state.paint_over))
        if name in ("relabel_3d", "all"):
            self.relabel_3d_check.setChecked(state.relabel_3d)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.message.emit(text)
