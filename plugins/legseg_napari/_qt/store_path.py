"""The store folder the docks read and write: a path field (default ``$LEGSEG_STORE`` or the user
data folder) with a folder chooser."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from legseg_core.store import resolve_store_path
from legseg_core.store.catalog import CATALOG_NAME


class StorePathWidget(QWidget):
    """A line edit holding the store folder; ``changed(str)`` when the user picks another one."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(str(resolve_store_path()))
        self.edit.setToolTip("the LegSeg store (the growing training set); created on the first Accept")
        self.edit.editingFinished.connect(self._on_editing_finished)
        browse = QPushButton("…")
        browse.setToolTip("choose the store folder")
        browse.clicked.connect(self._on_browse_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def path(self) -> str:
        """The folder as typed (resolved like ``--store``)."""
        return str(resolve_store_path(self.edit.text()))

    def exists(self) -> bool:
        """True when a store (its catalog) is at the path."""
        return (Path(self.path()) / CATALOG_NAME).is_file()

    def set_path(self, path: str | Path) -> None:
        """Show another folder and tell listeners."""
        self.edit.setText(str(path))
        self.changed.emit(self.path())

    def _on_editing_finished(self) -> None:
        self.changed.emit(self.path())

    def _on_browse_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "LegSeg store folder", self.path())
        if chosen:
            self.set_path(chosen)
