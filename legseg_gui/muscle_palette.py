"""The muscle palette: a button per muscle in the paper's colours, and the eraser; keys 1..7 and 0."""

from __future__ import annotations

from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QButtonGroup, QGridLayout, QShortcut, QToolButton, QWidget

from legseg_core.editing import EditingState
from legseg_core.labels import MUSCLES
from legseg_gui._events import connect_while_alive

ERASER = 0


def text_color(color: tuple[int, int, int]) -> str:
    """Black on light colours, white on dark ones (perceived luminance)."""
    red, green, blue = color
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else "white"


class MusclePaletteWidget(QWidget):
    """Picks the active muscle (or the eraser) of an :class:`EditingState`.

    With ``shortcuts`` (the default), the keys 1..7 pick a muscle and 0 the eraser anywhere in
    the window; a host with its own number keys (napari) can turn them off.
    """

    def __init__(self, state: EditingState, *, shortcuts: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for index, muscle in enumerate(MUSCLES):
            button = self._button(f"{muscle.id} {muscle.abbr}", f"{muscle.name} (key {muscle.id})", muscle.color)
            self.group.addButton(button, muscle.id)
            layout.addWidget(button, index // 4, index % 4)
        eraser = self._button("0 Eraser", "eraser (key 0)", None)
        self.group.addButton(eraser, ERASER)
        layout.addWidget(eraser, len(MUSCLES) // 4, len(MUSCLES) % 4)
        self.group.idClicked.connect(self._on_button_clicked)
        self.shortcuts: list[QShortcut] = []
        if shortcuts:
            for key in (ERASER, *(m.id for m in MUSCLES)):
                shortcut = QShortcut(QKeySequence(str(key)), self)
                shortcut.activated.connect(lambda key=key: self._on_key(key))
                self.shortcuts.append(shortcut)
        connect_while_alive(self, state.events.changed, self._on_state_changed)
        self._on_state_changed("tool")

    def _button(self, text: str, tip: str, color: tuple[int, int, int] | None) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setAutoRaise(False)
        if color is not None:
            button.setStyleSheet(f"QToolButton {{ background-color: rgb{tuple(color)}; color: {text_color(color)}; }}"
                                 "QToolButton:checked { border: 3px solid white; font-weight: bold; }")
        return button

    def button(self, key: int) -> QToolButton:
        """The button of a muscle id, or of the eraser (0)."""
        return self.group.button(key)  # type: ignore[return-value]

    @property
    def selected(self) -> int:
        """The checked button: a muscle id, or 0 for the eraser."""
        return self.group.checkedId()

    def _on_button_clicked(self, key: int) -> None:
        self.state.select(key)

    def _on_key(self, key: int) -> None:
        self.state.select(key)

    def _on_state_changed(self, name: str) -> None:
        if name in ("tool", "active_label"):
            key = ERASER if self.state.tool == "eraser" else self.state.active_label
            self.group.button(key).setChecked(True)
