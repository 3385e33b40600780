"""The legend of the seven muscles beside the image: click a row to hide or show that muscle, hover to highlight it.

:class:`MuscleLegendWidget` writes to a :class:`~legseg_gui.view_state.SliceViewState`
(``hidden_labels``, ``highlight``) and follows it; it keeps no state of its own. A hidden
muscle's row is struck through and greyed.
"""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from legseg_core.labels import MUSCLES, LabelClass
from legseg_gui._events import connect_while_alive
from legseg_gui.overlap_legend import swatch
from legseg_gui.view_state import SliceViewState


class MuscleRowWidget(QFrame):
    """One muscle: its colour and abbreviation (its name in the tooltip); click toggles it, hovering highlights it."""

    def __init__(self, muscle: LabelClass, state: SliceViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.muscle, self.state = muscle, state
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{muscle.abbr}: {muscle.name} (label {muscle.id}); click to hide or show, hover to highlight")
        self.text = QLabel(f"<b>{muscle.abbr}</b>")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(3, 2, 3, 2)
        layout.addWidget(swatch(muscle.color, 16))
        layout.addWidget(self.text, 1)

    def show_hidden(self, hidden: bool) -> None:
        style = "color: #888; text-decoration: line-through;" if hidden else ""
        self.text.setStyleSheet(style)

    def show_highlighted(self, highlighted: bool) -> None:
        self.setStyleSheet("MuscleRowWidget { background: rgba(255, 255, 255, 40); }" if highlighted else "")

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.state.toggle_label(self.muscle.id)
        event.accept()

    def enterEvent(self, event) -> None:  # noqa: N802
        self.state.highlight = self.muscle.id
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self.state.highlight == self.muscle.id:
            self.state.highlight = 0
        super().leaveEvent(event)


class MuscleLegendWidget(QWidget):
    """The seven muscles in their colours, one row each (see :class:`MuscleRowWidget`)."""

    def __init__(self, state: SliceViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.rows = {muscle.id: MuscleRowWidget(muscle, state) for muscle in MUSCLES}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        title = QLabel("Muscles")
        title.setToolTip("click a muscle to hide or show it; hover to highlight it")
        layout.addWidget(title)
        for row in self.rows.values():
            layout.addWidget(row)
        layout.addStretch(1)
        self.setMaximumWidth(90)  # abbreviations only: the axial view keeps the width
        connect_while_alive(self, state.events.changed, self._on_state_changed)
        self._on_state_changed("hidden_labels")

    def _on_state_changed(self, name: str) -> None:
        if name in ("hidden_labels", "highlight"):
            for label, row in self.rows.items():
                row.show_hidden(label in self.state.hidden_labels)
                row.show_highlighted(label == self.state.highlight)
