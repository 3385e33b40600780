"""Segment dock: an image layer, a network (registered models with the active one marked, shipped
and added model files) and a device; segmentation runs on a worker thread with a progress bar and
cancel. "Compare" segments the scan with every checked model in one action and lays the results
out side by side. After segmenting, the dock shows the quality-control report of the result: its
flags and the volume of each muscle per leg (of the selected result layer when several). "Check the
selected labels" makes the same report of any labels layer as it is now (corrected, or read from a file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                            QWidget)

from legseg_core.errors import LegsegError
from legseg_gui.model_picker import ModelPickerWidget
from legseg_gui.progress_widget import ProgressWidget
from legseg_gui.quality_widget import QualityReportWidget, quality_check_worker
from legseg_gui.worker import ProgressWorker
from legseg_napari._layers import NOT_A_SCAN, QUALITY, image_volume, volume_of
from legseg_napari._qt.docks import dock_opened
from legseg_napari._qt.layer_combo import LayerComboBox
from legseg_napari._qt.store_path import StorePathWidget
from legseg_napari._segment import (ModelResult, add_labels_layer, add_uncertainty_layer, compare_work,
                                    show_side_by_side)

KEY_ROLE = Qt.ItemDataRole.UserRole

if TYPE_CHECKING:
    from legseg_core.store import Store
    from napari import Viewer
    from napari.layers import Layer


class SegmentWidget(QWidget):
    """Segment the chosen scan with the chosen model, or compare several models on it."""

    def __init__(self, napari_viewer: Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        dock_opened(self, napari_viewer)  # tabbed with the other LegSeg docks, oblique 3D camera
        self.viewer = napari_viewer
        self.store: Store | None = None
        self.worker: ProgressWorker | None = None
        self.result_layers: list[Any] = []
        self.uncertainty_layers: list[Any] = []
        self.image_combo = LayerComboBox(napari_viewer, "image", exclude=NOT_A_SCAN)
        self.store_path = StorePathWidget()
        self._open_store()
        self.picker = ModelPickerWidget(self.store, background=True)
        self.segment_button = QPushButton("Segment")
        self.compare_list = QListWidget()
        self.compare_list.setToolTip("check the models to compare on this scan")
        self.compare_button = QPushButton("Compare checked models")
        self.progress = ProgressWidget(title="segmentation")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.check_button = QPushButton("Check the selected labels")
        self.check_button.setToolTip("the quality-control report of the selected labels layer as it is now, "
                                     "corrections included: volume of each muscle per leg, left/right ratios, "
                                     "missing or fragmented muscles (the network's uncertainty is not part of it)")
        self.checking: ProgressWorker | None = None
        self.quality = QualityReportWidget()
        self._build_layout()
        self.segment_button.clicked.connect(self._on_segment_clicked)
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.check_button.clicked.connect(self.check_selected_labels)
        self.picker.choice_changed.connect(self._on_choices_changed)
        self.store_path.changed.connect(self._on_store_changed)
        napari_viewer.layers.selection.events.active.connect(self._on_active_layer)
        self._on_choices_changed(None)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Scan", self.image_combo)
        form.addRow("Store", self.store_path)
        compare = QHBoxLayout()
        compare.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.picker)
        layout.addWidget(self.segment_button)
        layout.addWidget(QLabel("Compare networks on this scan (Figure 3):"))
        layout.addWidget(self.compare_list)
        layout.addLayout(compare)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.check_button)
        layout.addWidget(self.quality)
        layout.addStretch(1)

    def _open_store(self) -> None:
        from legseg_core.store import Store

        if self.store is not None:
            self.store.close()
            self.store = None
        if self.store_path.exists():
            try:
                self.store = Store.open(self.store_path.path())
            except LegsegError as error:
                self.status.setText(str(error))

    # ---- running -----------------------------------------------------------------------------------

    def segment(self, choices: list[Any] | None = None) -> ProgressWorker | None:
        """Segment the chosen scan with ``choices`` (default: the picked model) on a worker thread."""
        image_layer = self.image_combo.layer()
        choices = choices if choices is not None else [c for c in [self.picker.current_choice()] if c is not None]
        if image_layer is None or not choices:
            self.status.setText("choose a scan (open one, or File > Open Sample > LegSeg) and a model")
            return None
        if self.worker is not None and self.worker.running:
            self.status.setText("a segmentation is running; cancel it or wait for it to end")
            return None
        image = image_volume(image_layer)
        work = compare_work(image, choices, self.picker.device, self.store_path.path() if self.store else None)
        worker = ProgressWorker(work, what=f"segmenting {image_layer.name}")
        worker.finished.connect(lambda results: self._on_finished(image_layer, results))
        worker.errored.connect(self.status.setText)
        worker.ended.connect(self._on_ended)
        self.segment_button.setEnabled(False)
        self.compare_button.setEnabled(False)
        self.status.setText("")
        self.result_layers, self.uncertainty_layers = [], []
        self.worker = self.progress.attach(worker).start()
        return self.worker

    def checked_choices(self) -> list[Any]:
        """The models checked in the compare list, in list order."""
        keys = [self.compare_list.item(i).data(KEY_ROLE)[0] for i in range(self.compare_list.count())
                if self.compare_list.item(i).checkState() == Qt.CheckState.Checked]
        return [c for c in self.picker.choices() if c.key in keys]

    def set_checked(self, keys: list[str]) -> None:
        """Check exactly the models with these keys (or names) in the compare list."""
        for index in range(self.compare_list.count()):
            item = self.compare_list.item(index)
            wanted = any(name in keys for name in item.data(KEY_ROLE))
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    # ---- slots -------------------------------------------------------------------------------------

    def _on_segment_clicked(self) -> None:
        self.segment()

    def _on_compare_clicked(self) -> None:
        choices = self.checked_choices()
        if len(choices) < 2:
            self.status.setText("check at least two models to compare")
            return
        self.segment(choices)

    def _on_finished(self, image_layer: Layer, results: list[ModelResult]) -> None:
        if image_layer not in self.viewer.layers:
            self.status.setText(f"{image_layer.name} was closed before its segmentation ended")
            return
        self.result_layers = [add_labels_layer(self.viewer, image_layer, result) for result in results]
        if len(self.result_layers) > 1:
            show_side_by_side(self.viewer, image_layer, self.result_layers)
        self.viewer.layers.selection.active = self.result_layers[-1]
        self.show_quality(self.result_layers[-1])
        self.picker.refresh_devices()
        self.status.setText("added " + ", ".join(layer.name for layer in self.result_layers)
                            + "; hover over a muscle to see its name")
        self._add_uncertainty_layers(image_layer, list(results))

    def _add_uncertainty_layers(self, image_layer: Layer, results: list[ModelResult]) -> None:
        """One uncertainty layer per turn of the event loop, so that adding layers never blocks it long."""
        if not results or image_layer not in self.viewer.layers:
            return
        layer = add_uncertainty_layer(self.viewer, image_layer, results[0])
        if layer is not None:
            self.uncertainty_layers.append(layer)
        QTimer.singleShot(0, lambda: self._add_uncertainty_layers(image_layer, results[1:]))

    def show_quality(self, layer: Any) -> None:
        """Show the quality-control report of a result layer (flags, per-leg volumes), titled with its name."""
        report = layer.metadata.get(QUALITY) if layer is not None else None
        self.quality.set_report(report, title=layer.name if report is not None else "")

    def check_selected_labels(self) -> ProgressWorker | None:
        """The quality-control report of the selected labels layer as it is now (a copy of its data, checked
        on a worker thread), shown under the layer's name; the layer's stored report is left as it was."""
        from napari.layers import Labels

        layer = self.viewer.layers.selection.active
        if not isinstance(layer, Labels) or np.ndim(layer.data) != 3:
            self.status.setText("select a 3D labels layer (a segmentation, or labels you opened) to check it")
            return None
        if self.checking is not None and self.checking.running:
            return None
        worker = quality_check_worker(layer.data, volume_of(layer).spacing)
        worker.finished.connect(lambda report: self.quality.set_report(report, title=f"{layer.name} (as it is now)"))
        worker.errored.connect(self.status.setText)
        self.checking = worker.start()
        return worker

    def _on_active_layer(self, event: Any) -> None:
        if event.value is not None and event.value.metadata.get(QUALITY) is not None:
            self.show_quality(event.value)

    def _on_ended(self) -> None:
        self.segment_button.setEnabled(True)
        self.compare_button.setEnabled(True)

    def _on_choices_changed(self, _choice: Any) -> None:
        checked = {c.key for c in self.checked_choices()}
        self.compare_list.clear()
        for choice in self.picker.choices():
            item = QListWidgetItem(choice.title)
            item.setData(KEY_ROLE, (choice.key, choice.name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if choice.key in checked else Qt.CheckState.Unchecked)
            self.compare_list.addItem(item)

    def _on_store_changed(self, _path: str) -> None:
        self._open_store()
        self.picker.set_store(self.store)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override
        if self.worker is not None and self.worker.running:
            self.worker.cancel_and_wait()
        self.viewer.layers.selection.events.active.disconnect(self._on_active_layer)
        if self.store is not None:
            self.store.close()
        super().closeEvent(event)
