"""Correction dock: edit a copy of a prediction with napari's label tools, accept it into the store
(adding the scan with a small metadata form when it is not there yet), autosave unsaved edits to
the recovery folder, and offer them back after a crash or restart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from legseg_core.errors import GridMismatchError, LegsegError
from legseg_core.recovery import RecoveryArea, entry_key
from legseg_core.review.accept import AcceptRequest, AcceptResult, accept_in_store
from legseg_core.review.unsaved import UnsavedEdits
from legseg_gui.worker import ProgressWorker
from legseg_napari._correction import (ACCEPT_NOTE, autosave_layer, recovery_key_fields, restore_entry,
                                       start_correction)
from legseg_napari._layers import (CASE, CORRECTS, IMAGE, MODEL, NOT_A_SCAN, OVERLAP, PROVENANCE, VERSION,
                                   image_volume, layers_of_kind)
from legseg_napari._pairs import latest_prediction
from legseg_napari._qt.docks import dock_opened
from legseg_napari._qt.case_form import CaseFormWidget
from legseg_napari._qt.layer_combo import LayerComboBox
from legseg_napari._qt.recovery_panel import RecoveryPanelWidget
from legseg_napari._qt.store_path import StorePathWidget
from legseg_napari._regions import EditWatcher

if TYPE_CHECKING:
    from napari import Viewer
    from napari.layers import Labels, Layer

#: Unsaved corrections are autosaved this often (the issue asks for at least every minute).
AUTOSAVE_INTERVAL_MS = 30_000


class CorrectionWidget(QWidget):
    """Start a correction, Accept it into the store; autosave and recovery run by themselves."""

    accepted = Signal(object)  # AcceptResult

    def __init__(self, napari_viewer: Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        dock_opened(self, napari_viewer)  # tabbed with the other LegSeg docks, oblique 3D camera
        self.viewer = napari_viewer
        self.dirty: UnsavedEdits[Labels] = UnsavedEdits()  # corrections edited since their last autosave
        self._watchers: dict[Any, EditWatcher] = {}
        self.worker: ProgressWorker | None = None
        self.labels_combo = LayerComboBox(napari_viewer, "labels", exclude=(OVERLAP,))
        self.image_combo = LayerComboBox(napari_viewer, "image", exclude=NOT_A_SCAN)
        self.store_path = StorePathWidget()
        self.case_form = CaseFormWidget()
        self.start_button = QPushButton("Correct a copy")
        self.start_button.setToolTip("paint on a copy of these labels with napari's tools (undo works)")
        self.accept_button = QPushButton("Accept into the store")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.recovery = RecoveryPanelWidget(self.recovery_areas)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self._build_layout()
        self._connect()
        for layer in layers_of_kind(napari_viewer, "labels"):
            self._watch_if_correction(layer)
        self.autosave_timer.start()
        prediction = latest_prediction(self.labels_combo.layers())  # correct LegSeg's newest, not the reference
        if prediction is not None:
            self.labels_combo.set_layer(prediction)
        self._on_labels_layer_changed(self.labels_combo.layer())

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Labels", self.labels_combo)
        form.addRow("Scan", self.image_combo)
        form.addRow("Store", self.store_path)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addWidget(self.case_form)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.status)
        layout.addWidget(self.recovery)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.start_button.clicked.connect(self._on_start_clicked)
        self.accept_button.clicked.connect(self._on_accept_clicked)
        self.labels_combo.layer_changed.connect(self._on_labels_layer_changed)
        self.store_path.changed.connect(self._on_store_changed)
        self.recovery.restore_requested.connect(self._on_restore_requested)
        self.autosave_timer.timeout.connect(self.autosave)
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)

    def _disconnect(self) -> None:
        """Stop following the viewer's layers and the corrections' edits (the dock is closing)."""
        self.viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
        self.viewer.layers.events.removed.disconnect(self._on_layer_removed)
        for watcher in self._watchers.values():
            watcher.disconnect()
        self._watchers.clear()

    # ---- correcting ------------------------------------------------------------------------------

    def start(self, layer: Layer | None = None) -> Any:
        """Begin (or continue) correcting ``layer`` (default: the chosen labels layer); returns the copy."""
        layer = layer if layer is not None else self.labels_combo.layer()
        if layer is None:
            self.status.setText("open or segment a scan first: there are no labels to correct")
            return None
        correction = start_correction(self.viewer, layer)
        self.labels_combo.set_layer(correction)
        self.status.setText(f"painting on {correction.name}; {layer.name} stays as it was")
        return correction

    def _watch_if_correction(self, layer: Layer) -> None:
        if layer.metadata.get(CORRECTS) and layer not in self._watchers:
            self._watchers[layer] = EditWatcher(layer, self._on_layer_edited)

    # ---- accepting -------------------------------------------------------------------------------

    def accept(self, layer: Layer | None = None) -> ProgressWorker | None:
        """Accept ``layer`` (default: the chosen labels layer) into the store, on a worker thread."""
        layer = layer if layer is not None else self.labels_combo.layer()
        if layer is None:
            self.status.setText("there is no labels layer to accept")
            return None
        try:
            request = self._accept_request(layer)
        except LegsegError as error:
            self.status.setText(str(error))
            return None
        self.accept_button.setEnabled(False)
        self.status.setText(f"saving {layer.name} to {request.store_path} …")
        worker = ProgressWorker.call(accept_in_store, request, what="accept")
        worker.finished.connect(lambda result: self._on_accept_finished(layer, result))
        worker.errored.connect(self.status.setText)
        worker.ended.connect(lambda: self.accept_button.setEnabled(True))
        self.worker = worker.start()
        return self.worker

    def _accept_request(self, layer: Layer) -> AcceptRequest:
        image_layer = self._image_layer_for(layer)
        if image_layer is None:
            raise GridMismatchError(f"no scan is open for {layer.name}; open the image it was drawn on")
        image = image_volume(image_layer)
        if tuple(image.shape) != tuple(np.shape(layer.data)):
            raise GridMismatchError(f"{layer.name} has shape {np.shape(layer.data)} but the scan {image_layer.name} "
                                    f"has {image.shape} ([z, y, x]); choose the scan it was drawn on")
        prediction_layer = self._prediction_layer_for(layer)
        if prediction_layer is None and _has_origin(layer) and not layer.metadata.get(CORRECTS):
            prediction_layer = layer  # a prediction, or labels from a file, accepted as they are
        return AcceptRequest(
            store_path=self.store_path.path(), labels=np.array(layer.data, np.uint8, copy=True), image=image,
            case_id=layer.metadata.get(CASE) or image_layer.metadata.get(CASE),
            prediction=None if prediction_layer is None else np.array(prediction_layer.data, np.uint8, copy=True),
            model=None if prediction_layer is None else prediction_layer.metadata.get(MODEL),
            base_version=layer.metadata.get(VERSION), metadata=self.case_form.metadata(), note=ACCEPT_NOTE,
            provenance=None if prediction_layer is None else prediction_layer.metadata.get(PROVENANCE))

    def _image_layer_for(self, layer: Layer) -> Any | None:
        wanted = layer.metadata.get(IMAGE)
        images = self.image_combo.layers()
        named = [image for image in images if image.name == wanted]
        return named[0] if named else self.image_combo.layer()

    def _prediction_layer_for(self, layer: Layer) -> Any | None:
        source = layer.metadata.get(CORRECTS)
        found = [other for other in self.viewer.layers if other.name == source and other is not layer]
        return found[0] if found and _has_origin(found[0]) else None

    def _on_accept_finished(self, layer: Layer, result: AcceptResult) -> None:
        keys = {entry_key(**recovery_key_fields(layer)), entry_key(case_id=result.case_id)}
        for target in (layer, self._prediction_layer_for(layer), self._image_layer_for(layer)):
            if target is not None:
                target.metadata[CASE] = result.case_id
        layer.metadata[VERSION] = result.accepted.id
        for area in self.recovery_areas():
            for key in keys:
                area.discard(key)
        self.dirty.forget(layer)
        self.recovery.refresh()
        self.case_form.setVisible(False)
        self.status.setText(result.summary())
        self.accepted.emit(result)

    # ---- autosave and recovery -------------------------------------------------------------------

    def recovery_areas(self) -> list[RecoveryArea]:
        """Where autosaves go (the store's recovery folder when the store exists, else the user
        data folder's), then the other one, so that both are offered back."""
        store_area = RecoveryArea.for_store(self.store_path.path())
        user_area = RecoveryArea.for_store(None)
        return [store_area, user_area] if self.store_path.exists() else [user_area, store_area]

    def autosave(self) -> int:
        """Save every correction edited since its last save; returns how many were saved."""
        area = self.recovery_areas()[0]
        saved = 0
        for layer in self.dirty.pending():
            count = self.dirty.edit_count(layer)
            try:
                autosave_layer(area, layer, np.array(layer.data, np.uint8, copy=True))
            except (LegsegError, OSError) as error:
                self.status.setText(f"autosave of {layer.name} failed: {error}")
                continue
            self.dirty.autosaved(layer, count)
            saved += 1
        return saved

    def _on_restore_requested(self, area: RecoveryArea, entry: Any) -> None:
        try:
            layer = restore_entry(self.viewer, area, entry, self.store_path.path())
        except LegsegError as error:
            self.status.setText(str(error))
            return
        self.labels_combo.set_layer(layer)
        self.status.setText(f"restored {layer.name}; Accept it to keep it, or go on correcting")

    # ---- slots -----------------------------------------------------------------------------------

    def _on_start_clicked(self) -> None:
        self.start()

    def _on_accept_clicked(self) -> None:
        self.accept()

    def _on_labels_layer_changed(self, layer: Layer) -> None:
        self.case_form.setVisible(layer is not None and not layer.metadata.get(CASE))

    def _on_store_changed(self, _path: str) -> None:
        self.recovery.refresh()

    def _on_layer_inserted(self, event: Any) -> None:
        self._watch_if_correction(event.value)

    def _on_layer_removed(self, event: Any) -> None:
        watcher = self._watchers.pop(event.value, None)
        if watcher is not None:
            watcher.disconnect()
        self.dirty.forget(event.value)

    def _on_layer_edited(self, layer: Layer, _region: Any) -> None:
        self.dirty.edited(layer)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override
        self.autosave()
        self.autosave_timer.stop()
        self._disconnect()
        super().closeEvent(event)


def _has_origin(layer: Any) -> bool:
    """A layer whose labels came from a model or a file (their provenance is known)."""
    return bool(layer.metadata.get(MODEL) or layer.metadata.get(PROVENANCE))
