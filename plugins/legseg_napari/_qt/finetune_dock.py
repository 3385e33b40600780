"""Fine-tune dock: the store's unseen accepted cases, ``legseg finetune`` in its own process with a
progress bar, a live plot of loss and validation Dice, cancel, the gate's verdict and rollback.

The work is :class:`legseg_gui.finetune_widget.FinetuneWidget` (shared with the LegSeg
application); this dock adds the store chooser and opens the store for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from legseg_core.errors import LegsegError
from legseg_gui.finetune_widget import FinetuneWidget
from legseg_napari._qt.docks import dock_opened
from legseg_napari._qt.store_path import StorePathWidget

if TYPE_CHECKING:
    from legseg_core.store import Store
    from napari import Viewer


class FinetuneDockWidget(QWidget):
    """Fine-tune the active model of the chosen store on the cases accepted since it was trained."""

    def __init__(self, napari_viewer: Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        dock_opened(self, napari_viewer)  # tabbed with the other LegSeg docks, oblique 3D camera
        self.viewer = napari_viewer
        self.store: Store | None = None
        self.store_path = StorePathWidget()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._open_store()
        self.finetune = FinetuneWidget(self.store)
        form = QFormLayout()
        form.addRow("Store", self.store_path)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.finetune, 1)
        self.store_path.changed.connect(self._on_store_changed)

    def _open_store(self) -> None:
        from legseg_core.store import Store

        if self.store is not None:
            self.store.close()
            self.store = None
        self.status.setText("")
        if not self.store_path.exists():
            self.status.setText(f"no store at {self.store_path.path()} yet: accept a correction to start one")
            return
        try:
            self.store = Store.open(self.store_path.path())
        except LegsegError as error:
            self.status.setText(str(error))

    def _on_store_changed(self, _path: str) -> None:
        self._open_store()
        self.finetune.set_store(self.store)

    def showEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override: counts may have changed meanwhile
        if self.store is None and self.store_path.exists():
            self._on_store_changed(self.store_path.path())
        elif not self.finetune.running:
            self.finetune.refresh()
        super().showEvent(event)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override
        self.finetune.shutdown()
        if self.store is not None:
            self.store.close()
        super().closeEvent(event)
