"""Adapt dock: "Learn from my corrections" on the labels layer being corrected.

The work is :class:`legseg_gui.adapt_widget.AdaptWidget` (shared with the LegSeg application):
``legseg adapt`` in its own process, a progress bar, cancel. This dock picks the labels layer,
finds its scan (the image layer it was drawn on) and what it was corrected from (the layer it is
a copy of, else its own labels when chosen), and keeps the adapted model beside the layer's
autosaved draft in the store's recovery folder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from legseg_core.adapt.job import CaseAdaptation, adapted_model_path
from legseg_core.errors import LegsegError
from legseg_core.recovery import entry_key, recovery_folder
from legseg_gui.adapt_widget import AdaptWidget
from legseg_napari._correction import recovery_key_fields
from legseg_napari._layers import CORRECTS, IMAGE, MODEL, NOT_A_SCAN, OVERLAP, image_volume
from legseg_napari._qt.layer_combo import LayerComboBox
from legseg_napari._qt.store_path import StorePathWidget

STARTER_MODEL = "unet-lite-starter"


class AdaptDockWidget(QWidget):
    """Adapt the model to the chosen labels layer's scan from its corrected slices."""

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.labels_combo = LayerComboBox(napari_viewer, "labels", exclude=(OVERLAP,))
        self.image_combo = LayerComboBox(napari_viewer, "image", exclude=NOT_A_SCAN)
        self.store_path = StorePathWidget()
        self.adapt = AdaptWidget()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Labels", self.labels_combo)
        form.addRow("Scan", self.image_combo)
        form.addRow("Store", self.store_path)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.adapt)
        layout.addStretch(1)
        for combo in (self.labels_combo, self.image_combo):
            combo.currentIndexChanged.connect(self._on_choice_changed)
        self._on_choice_changed()

    def _on_choice_changed(self, _index: int = 0) -> None:
        if self.adapt.running:
            return
        layer = self.labels_combo.layer()
        try:
            case = self.case_for(layer)
        except LegsegError as error:
            self.status.setText(str(error))
            case = None
        else:
            self.status.setText("" if case is None else f"correct a few slices of {layer.name}, then learn from them")
        if case is None:
            self.adapt.set_case(None)
            return
        self.adapt.set_case(case, labels=lambda: np.asarray(layer.data), show=lambda labels: _show(layer, labels))

    def case_for(self, layer: Any) -> CaseAdaptation | None:
        """The adaptation state of a labels layer (None when no layer or scan is chosen)."""
        image_layer = self._image_layer_for(layer) if layer is not None else None
        if layer is None or image_layer is None:
            return None
        source = [other for other in self.viewer.layers if other.name == layer.metadata.get(CORRECTS)]
        baseline = np.asarray(source[0].data if source else layer.data)
        model = (source[0].metadata.get(MODEL) if source else None) or layer.metadata.get(MODEL) or STARTER_MODEL
        path = adapted_model_path(recovery_folder(self.store_path.path()), entry_key(**recovery_key_fields(layer)))
        return CaseAdaptation(image_volume(image_layer), baseline, str(model), path)

    def _image_layer_for(self, layer: Any) -> Any | None:
        named = [image for image in self.image_combo.layers() if image.name == layer.metadata.get(IMAGE)]
        return named[0] if named else self.image_combo.layer()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override
        self.adapt.shutdown()
        super().closeEvent(event)


def _show(layer: Any, labels: np.ndarray) -> None:
    """Write the voxels that change into the layer and redraw it."""
    changed = np.nonzero(np.asarray(layer.data) != labels)
    if len(changed[0]):
        layer.data[changed] = labels[changed]
        layer.refresh()
