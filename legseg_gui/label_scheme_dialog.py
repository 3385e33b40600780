"""Choosing a label scheme for a label file whose values are not LegSeg's muscle ids 0..7.

Another tool's label map (QMRITools, ITK-SNAP, Dafne, ...) numbers the muscles its own way. The
dialog offers what ``--relabel`` accepts on the command line
(:func:`legseg_core.io.relabel.label_scheme`): a built-in scheme, an ITK-SNAP label description
file, or typed ``VALUE=MUSCLE`` pairs. It lists the values found in the file, starts on a built-in
scheme that covers them when there is one, and accepts only a scheme that maps every value (the
message names the values left over), so nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qtpy.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                            QLineEdit, QPushButton, QVBoxLayout, QWidget)

from legseg_core.errors import LegsegError
from legseg_core.io.relabel import KNOWN_MAPPINGS, fitting_schemes, label_scheme, values_text

#: How each built-in scheme is offered.
BUILT_IN_TITLES = {"qmritools-calf": "QMRITools calf labels (13..26, both legs)",
                   "legseg": "LegSeg muscle ids (0..7)"}
FROM_FILE = "file"
FROM_PAIRS = "pairs"
LABEL_FILE_FILTER = "ITK-SNAP label descriptions (*.txt *.label);;All files (*)"


def unmapped_values(spec: str, values: Sequence[int]) -> list[int]:
    """The non-zero values a scheme leaves unmapped (raises LabelSchemeError for a bad scheme)."""
    mapping = label_scheme(spec).mapping
    return [int(v) for v in values if int(v) != 0 and int(v) not in mapping]


class LabelSchemeDialog(QDialog):
    """Pick the scheme that maps a label file's ``values`` onto the muscle ids; :meth:`spec` is the choice."""

    def __init__(self, source: str, values: Sequence[int] | np.ndarray, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label scheme")
        self.values = [int(v) for v in np.unique(np.asarray(values))]
        self.combo = QComboBox()
        for name, title in BUILT_IN_TITLES.items():
            self.combo.addItem(title, name)
        self.combo.addItem("From a label description file…", FROM_FILE)
        self.combo.addItem("Typed VALUE=MUSCLE pairs", FROM_PAIRS)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("an ITK-SNAP label description file (.txt, .label)")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse)
        self.pairs_edit = QLineEdit()
        self.pairs_edit.setPlaceholderText("e.g. 13=GM,14=GM,15=GL,16=GL,17=SOL")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._build(source)
        self.combo.currentIndexChanged.connect(self._on_kind_changed)
        fits = [name for name in fitting_schemes(np.asarray(self.values)) if name in BUILT_IN_TITLES]
        self.combo.setCurrentIndex(self.combo.findData(fits[0]) if fits else self.combo.findData(FROM_PAIRS))
        self._on_kind_changed()

    def _build(self, source: str) -> None:
        intro = QLabel(f"{source} holds the label values {values_text(self.values)}, not LegSeg's muscle ids "
                       "0..7. How do its values map onto the seven muscles?")
        intro.setWordWrap(True)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Scheme", self.combo)
        form.addRow("Label file", file_row)
        form.addRow("Pairs", self.pairs_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    @property
    def kind(self) -> str:
        """The chosen built-in scheme's name, or 'file' or 'pairs'."""
        return str(self.combo.currentData())

    def spec(self) -> str:
        """The choice as a ``--relabel`` value: a built-in name, a label file path or the typed pairs."""
        if self.kind == FROM_FILE:
            return self.file_edit.text().strip()
        if self.kind == FROM_PAIRS:
            return self.pairs_edit.text().strip()
        return self.kind

    def choose(self, kind: str, text: str = "") -> None:
        """Choose a built-in scheme by name, or 'file' / 'pairs' with the path or the pairs."""
        self.combo.setCurrentIndex(self.combo.findData(kind))
        (self.file_edit if kind == FROM_FILE else self.pairs_edit).setText(text)

    def problem(self) -> str:
        """Why the choice cannot map the file's values ('' when it can)."""
        if not self.spec():
            return "give a label description file" if self.kind == FROM_FILE else "type VALUE=MUSCLE pairs"
        try:
            left = unmapped_values(self.spec(), self.values)
        except LegsegError as error:
            return str(error)
        return f"the scheme maps no muscle to the values {values_text(left)}" if left else ""

    def accept(self) -> None:  # noqa: D401 (Qt override): only a scheme that maps every value closes the dialog
        problem = self.problem()
        if problem:
            self.message.setText(problem)
            return
        super().accept()

    def _on_kind_changed(self, *_: object) -> None:
        self.file_edit.setEnabled(self.kind == FROM_FILE)
        self.browse_button.setEnabled(self.kind == FROM_FILE)
        self.pairs_edit.setEnabled(self.kind == FROM_PAIRS)
        if self.kind in KNOWN_MAPPINGS:
            problem = self.problem()
            self.message.setText(problem or f"{self.kind} maps every value of the file")

    def _on_browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Label description file", "", LABEL_FILE_FILTER)
        if path:
            self.file_edit.setText(path)


def ask_label_scheme(source: str, values: np.ndarray, parent: QWidget | None = None) -> str | None:
    """Ask for the scheme of a label file's values; the ``--relabel`` value, or None when cancelled."""
    dialog = LabelSchemeDialog(source, values, parent)
    return dialog.spec() if dialog.exec() == QDialog.DialogCode.Accepted else None
