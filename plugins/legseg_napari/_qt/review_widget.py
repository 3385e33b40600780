"""Review dock: reference against prediction, the Figure 4 overlap map with its legend, a live
per-muscle table (Dice of both legs and of each leg, AHD, volume difference), and the 3D view of
Figure 5 one click away."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from legseg_core.errors import LegsegError
from legseg_gui.dice_table import DiceTableWidget, ask_export_path
from legseg_gui.overlap_legend import OverlapLegendWidget
from legseg_gui.progress_widget import ProgressWidget
from legseg_gui.worker import ProgressWorker
from legseg_napari._layers import OVERLAP
from legseg_napari._pairs import default_pair
from legseg_napari._qt.docks import dock_opened
from legseg_napari._qt.layer_combo import LayerComboBox
from legseg_napari._review import ReviewSession

def next_event_loop_turn(function: Any) -> None:
    """Run ``function`` on the next turn of the Qt event loop (after napari has written the voxels)."""
    QTimer.singleShot(0, function)

if TYPE_CHECKING:
    from napari import Viewer


#: Average Hausdorff distances are recomputed this long after the last edit (when automatic).
DISTANCES_DELAY_MS = 1500


class ReviewWidget(QWidget):
    """Pick a reference and a prediction labels layer; "Compare" shows their overlap and scores."""

    def __init__(self, napari_viewer: Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        dock_opened(self, napari_viewer)  # tabbed with the other LegSeg docks, oblique 3D camera
        self.viewer = napari_viewer
        self.session: ReviewSession | None = None
        self.distances_worker: ProgressWorker | None = None
        self._distances_wanted = False
        self.reference_combo = LayerComboBox(napari_viewer, "labels", exclude=(OVERLAP,))
        self.prediction_combo = LayerComboBox(napari_viewer, "labels", exclude=(OVERLAP,))
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("show the overlap map and the per-muscle scores of the two layers")
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.legend = OverlapLegendWidget()
        self.table = DiceTableWidget()
        self.distances_button = QPushButton("Update distances")
        self.distances_button.clicked.connect(self._on_distances_clicked)
        self.auto_distances = QCheckBox("after each pause in painting")
        self.auto_distances.setChecked(True)
        self.export_button = QPushButton("Export table…")
        self.export_button.setToolTip("save the table, per leg (both, right, left) and muscle, as CSV or JSON")
        self.export_button.clicked.connect(lambda: self.export_table())
        self._ahd_mm: dict[int, float] = {}
        self.view_3d_button = QPushButton("3D view")
        self.view_3d_button.setCheckable(True)
        self.view_3d_button.setChecked(napari_viewer.dims.ndisplay == 3)
        self.view_3d_button.toggled.connect(self._on_view_3d_toggled)
        napari_viewer.dims.events.ndisplay.connect(self._on_ndisplay_changed)
        napari_viewer.layers.events.removed.connect(self._on_layer_removed)
        self.progress = ProgressWidget(title="distances")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._distances_timer = QTimer(self)
        self._distances_timer.setSingleShot(True)
        self._distances_timer.setInterval(DISTANCES_DELAY_MS)
        self._distances_timer.timeout.connect(self._start_distances)
        self._build_layout()
        self._choose_default_pair()

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Reference (manual)", self.reference_combo)
        form.addRow("Prediction", self.prediction_combo)
        distances = QHBoxLayout()
        distances.addWidget(self.distances_button)
        distances.addWidget(self.auto_distances)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.compare_button)
        layout.addWidget(self.legend)
        layout.addWidget(self.table)
        layout.addLayout(distances)
        layout.addWidget(self.export_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.view_3d_button)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def _choose_default_pair(self) -> None:
        """A labels layer LegSeg did not make as the reference, LegSeg's newest as the prediction (see ``_pairs``)."""
        reference, prediction = default_pair(self.reference_combo.layers())
        if reference is not None:
            self.reference_combo.set_layer(reference)
        if prediction is not None:
            self.prediction_combo.set_layer(prediction)

    # ---- comparing -----------------------------------------------------------------------------

    def compare(self, reference: Any = None, prediction: Any = None) -> ReviewSession | None:
        """Start reviewing ``prediction`` against ``reference`` (default: the chosen layers)."""
        reference = reference if reference is not None else self.reference_combo.layer()
        prediction = prediction if prediction is not None else self.prediction_combo.layer()
        self.stop()
        if reference is None or prediction is None:
            self.status.setText("open or create two labels layers first: a reference and a prediction")
            return None
        try:
            self.session = ReviewSession(self.viewer, reference, prediction, on_change=self._on_session_changed,
                                         on_error=self._on_session_error, defer=next_event_loop_turn)
        except LegsegError as error:
            self.status.setText(str(error))
            return None
        self.status.setText(f"{prediction.name} against {reference.name}: paint either layer, the scores follow")
        self._show_live_scores()
        self._start_distances()
        return self.session

    def stop(self) -> None:
        """End the current comparison (its overlap layer is removed)."""
        self._distances_timer.stop()
        if self.session is not None:
            self.session.close()
            self.session = None
        self.table.clear_values()
        self._ahd_mm = {}
        self.legend.set_counts(None)

    def _show_live_scores(self) -> None:
        if self.session is None:
            return
        scores = self.session.live_scores()
        self.table.set_column("dice", {label: values["dice"] for label, values in scores.items()})
        self.table.set_column("volume_difference_ml",
                              {label: values["volume_difference_ml"] for label, values in scores.items()})
        self.table.set_legs(self.session.leg_scores())
        self.legend.set_counts(self.session.class_counts(), voxel_ml=self.session.voxel_ml)

    # ---- distances (off the UI thread) -------------------------------------------------------------

    def _start_distances(self) -> None:
        if self.session is None:
            return
        if self.distances_worker is not None and self.distances_worker.running:
            self._distances_wanted = True  # run again when the current one ends
            return
        self._distances_wanted = False
        worker = ProgressWorker(self.session.distances_work(), what="distances")
        worker.finished.connect(self._on_distances_finished)
        worker.ended.connect(self._on_distances_ended)
        self.distances_worker = self.progress.attach(worker).start()

    def _on_distances_finished(self, scores: Any) -> None:
        if self.session is not None:
            self._ahd_mm = {m.label: m.ahd_mm for m in scores.muscles}
            self.table.set_column("ahd_mm", self._ahd_mm)

    def export_table(self, path: str | None = None) -> Any:
        """Write the table per leg (both, right, left) and muscle as CSV or JSON (asks where when no path)."""
        from legseg_core.evaluation.legs import comparison_records, write_comparison

        if self.session is None:
            self.status.setText("compare two labels layers first")
            return None
        path = path or ask_export_path(self)
        if path is None:
            return None
        source = {"reference": self.session.reference.name, "prediction": self.session.prediction.name}
        try:
            written = write_comparison(comparison_records(self.session.leg_scores(both=True), self._ahd_mm), path,
                                       source=source)
        except (LegsegError, OSError) as error:
            self.status.setText(str(error))
            return None
        self.status.setText(f"table written to {written}")
        return written

    def _on_distances_ended(self) -> None:
        if self._distances_wanted:
            self._start_distances()

    # ---- slots ---------------------------------------------------------------------------------

    def _on_compare_clicked(self) -> None:
        self.compare()

    def _on_distances_clicked(self) -> None:
        self._distances_timer.stop()
        self._start_distances()

    def _on_session_changed(self) -> None:
        self._show_live_scores()
        if self.auto_distances.isChecked():
            self._distances_timer.start()

    def _on_session_error(self, message: str) -> None:
        self.status.setText(message)

    def _on_view_3d_toggled(self, checked: bool) -> None:
        self.viewer.dims.ndisplay = 3 if checked else 2

    def _on_layer_removed(self, event: Any) -> None:
        if self.session is not None and event.value in (self.session.reference, self.session.prediction):
            self.status.setText(f"{event.value.name} was closed; the comparison ended")
            self.stop()

    def _on_ndisplay_changed(self, event: Any) -> None:
        self.view_3d_button.setChecked(event.value == 3)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 -- Qt override
        if self.distances_worker is not None:
            self.distances_worker.cancel_and_wait()
        self.stop()
        super().closeEvent(event)
