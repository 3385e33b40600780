"""Every mouse and key binding of the image view and the application, as a Help sheet and an F1 overlay.

:data:`BINDINGS` is the one list both show; it names each gesture or key and what it does.
:class:`ControlsOverlayWidget` lies over the image view (F1 shows and hides it, a click on it hides
it); :class:`ControlsDialog` is Help > Controls.
"""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

#: (section, binding, what it does), in the order shown.
BINDINGS: tuple[tuple[str, str, str], ...] = (
    ("Mouse", "Wheel", "next / previous axial slice"),
    ("Mouse", "Ctrl + wheel", "zoom about the cursor"),
    ("Mouse", "Middle drag, or Space + left drag", "pan"),
    ("Mouse", "Right drag", "window (left/right) and level (up/down)"),
    ("Mouse", "Left click / drag", "use the edit tool: brush, eraser, fill or relabel"),
    ("Mouse", "Hover", "position, intensity and muscle in the status bar; the sections follow"),
    ("Mouse", "Click a sagittal or coronal section", "go to that axial slice"),
    ("Mouse", "Click a muscle in the legend", "hide or show that muscle"),
    ("Mouse", "Hover a muscle in the legend", "highlight it (the others dim)"),
    ("Keys", "Up / Page Up, Down / Page Down", "next / previous axial slice"),
    ("Keys", "+ / -", "zoom in / out"),
    ("Keys", "B", "zoom to the body (as on opening)"),
    ("Keys", "Home", "show the whole slice"),
    ("Keys", "1 … 7", "choose a muscle: 1 GL, 2 GM, 3 SOL, 4 TA, 5 PER, 6 EDL, 7 TP"),
    ("Keys", "0", "eraser"),
    ("Keys", "Ctrl+Z; Ctrl+Shift+Z or Ctrl+Y", "undo; redo"),
    ("Keys", "Ctrl+L / Ctrl+M / Ctrl+N", "overlay: labels / overlap map / none"),
    ("Keys", "Ctrl+U", "outline the overlay"),
    ("Keys", "Ctrl+O; Ctrl+Shift+O", "open a NIfTI scan; open a DICOM folder"),
    ("Keys", "Ctrl+S", "save the edits as a draft version"),
    ("Keys", "Ctrl+Return", "accept the case"),
    ("Keys", "F5", "refresh the worklist"),
    ("Keys", "Enter (worklist)", "open the selected case"),
    ("Keys", "F1", "show / hide this list over the image"),
    ("Keys", "Ctrl+Q", "quit"),
)


def bindings_html() -> str:
    """The bindings as an HTML table, one section heading per kind."""
    rows, section = [], ""
    for kind, binding, action in BINDINGS:
        if kind != section:
            section = kind
            rows.append(f"<tr><td colspan=2><b>{kind}</b></td></tr>")
        rows.append(f"<tr><td style='padding-right:14px'>{binding}</td><td>{action}</td></tr>")
    return "<table cellspacing=2>" + "".join(rows) + "</table>"


class ControlsOverlayWidget(QLabel):
    """The bindings over the image, on a dark translucent panel; hidden until F1."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setText("<b>Controls</b> (F1 or a click closes)<br>" + bindings_html())
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("QLabel { background: rgba(0, 0, 0, 200); color: white; padding: 10px; "
                           "border-radius: 6px; }")
        self.adjustSize()
        self.hide()

    def toggle(self) -> None:
        """Show (over the top-left of the parent) or hide the list."""
        if self.isVisible():
            self.hide()
            return
        self.adjustSize()
        self.move(8, 8)
        self.raise_()
        self.show()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.hide()
        event.accept()


class ControlsDialog(QDialog):
    """Help > Controls: every mouse and key binding."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("LegSeg controls")
        text = QLabel(bindings_html())
        text.setTextFormat(Qt.TextFormat.RichText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
