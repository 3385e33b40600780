"""The review panel: a reference and a prediction, the Figure 4 overlap map, and live Dice.

The user picks the reference (e.g. the correction in progress, or a manual version) and the
prediction (e.g. the model's version) among the open case's label sources. An
:class:`~legseg_core.evaluation.OverlapTracker` keeps the overlap map and the per-muscle
counts; it listens to the label editor, so every stroke updates the map and the Dice and
volume columns for the changed region only. Dice per leg (legs parted where the reference's
muscles part, :func:`~legseg_core.evaluation.legs.split_labels`) follows each update. Average
Hausdorff distances are not incremental: they are computed on demand, off the UI thread, and
cleared by the next edit.
"""

from __future__ import annotations

import math
from typing import Any

from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from legseg_core.editing import Region
from legseg_core.labels import MUSCLE_IDS
from legseg_core.review.session import EDIT, CaseSession
from legseg_gui._events import connect_while_alive
from legseg_gui.dice_table import DiceTableWidget, ask_export_path
from legseg_gui.slice_view import SliceViewWidget
from legseg_gui.worker import ProgressWorker


class ReviewPanelWidget(QWidget):
    """Reference and prediction choice, overlap-map toggle, and the live per-muscle table.

    It drives the overlap overlay of ``view`` (a :class:`SliceViewWidget`) and follows the
    editor of the open :class:`CaseSession`. ``message(text)`` reports what it did.
    """

    message = Signal(str)
    pair_changed = Signal()

    def __init__(self, view: SliceViewWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.session: CaseSession | None = None
        self.tracker: Any = None
        self.legs: Any = None  # the LegSplit of the reference, found when the pair is chosen
        self._distances: ProgressWorker | None = None
        self._build()
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._update_timer.timeout.connect(self.update_table)

    def _build(self) -> None:
        self.reference_combo, self.prediction_combo = QComboBox(), QComboBox()
        for combo in (self.reference_combo, self.prediction_combo):
            combo.setMinimumContentsLength(18)
            combo.currentIndexChanged.connect(self._on_pair_chosen)
        self.overlap_check = QCheckBox("Show the overlap map (Figure 4)")
        self.overlap_check.toggled.connect(self._on_overlap_toggled)
        self.table = DiceTableWidget()
        self.distances_button = QPushButton("Compute AHD")
        self.distances_button.setToolTip("average Hausdorff distances of every muscle (seconds on large scans)")
        self.distances_button.clicked.connect(self.compute_distances)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("save the table, per leg (both, right, left) and muscle, as CSV or JSON")
        self.export_button.clicked.connect(lambda: self.export_table())
        self._ahd_mm: dict[int, float] = {}
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Reference", self.reference_combo)
        form.addRow("Prediction", self.prediction_combo)
        row = QHBoxLayout()  # the check box on its own line: beside the buttons it would widen the panel
        row.addWidget(self.distances_button)
        row.addWidget(self.export_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.overlap_check)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        connect_while_alive(self, self.view.view_state.events.changed, self._on_view_changed)

    # ---- the case --------------------------------------------------------------------------------

    def set_session(self, session: CaseSession | None) -> None:
        """Review another case (or none), starting from its default reference and prediction."""
        if self.session is not None:
            self.session.editor.events.labels_changed.disconnect(self._on_labels_changed)
        self.session = session
        self.tracker = None
        if session is not None:
            session.editor.events.labels_changed.connect(self._on_labels_changed)
        self.refresh_sources(*(session.default_review_pair() if session else (EDIT, EDIT)))

    def pause(self) -> None:
        """Stop following edits until the next :meth:`refresh_sources` (before a whole-volume change)."""
        self.tracker = None

    def refresh_sources(self, reference: str | None = None, prediction: str | None = None) -> None:
        """List the session's label sources again (after a save), choosing the given keys."""
        reference = reference or self.reference_key
        prediction = prediction or self.prediction_key
        sources = self.session.label_sources() if self.session else []
        for combo, wanted in ((self.reference_combo, reference), (self.prediction_combo, prediction)):
            combo.blockSignals(True)
            combo.clear()
            for source in sources:
                combo.addItem(source.title, source.key)
            index = combo.findData(wanted)
            combo.setCurrentIndex(index if index >= 0 else 0)
            combo.blockSignals(False)
        self._on_pair_chosen()

    @property
    def reference_key(self) -> str | None:
        return self.reference_combo.currentData()

    @property
    def prediction_key(self) -> str | None:
        return self.prediction_combo.currentData()

    def choose(self, reference: str, prediction: str) -> None:
        """Compare these two label sources (keys of the session's label sources)."""
        self.refresh_sources(reference, prediction)

    # ---- tracking -----------------------------------------------------------------------------------

    def _on_pair_chosen(self, *_: Any) -> None:
        if self.session is None or self.reference_key is None or self.prediction_key is None:
            self.tracker = None
            self.view.set_overlap(None)
            self.table.clear_values()
            return
        from legseg_core.evaluation.overlap import OverlapTracker

        from legseg_core.evaluation.legs import split_labels

        self.tracker = OverlapTracker(self.session.labels_of(self.reference_key),
                                      self.session.labels_of(self.prediction_key), self.session.image.spacing)
        self.legs = split_labels(self.tracker.reference)
        self.view.set_overlap(self.tracker.map)
        self.table.clear_values()
        self.update_table()
        self.pair_changed.emit()

    def _on_labels_changed(self, region: Region) -> None:
        if self.tracker is not None and EDIT in (self.reference_key, self.prediction_key):
            self.tracker.apply_edit(region)
            self.view.overlay_changed(region)
            self._update_timer.start()

    def update_table(self) -> None:
        """Dice, volume difference and overlap-class counts from the tracker's counts (AHD cleared)."""
        if self.tracker is None:
            return
        voxel_ml = math.prod(self.session.image.spacing) / 1000.0  # type: ignore[union-attr]
        differences = {}
        for label in MUSCLE_IDS:
            reference, predicted, _ = self.tracker.counts(label)
            differences[label] = (predicted - reference) * voxel_ml if reference or predicted else None
        self.table.set_dice(self.tracker.dice())
        self.table.set_legs(self.leg_agreement())
        self.table.set_column("volume_difference_ml", differences)
        self.table.set_column("ahd_mm", {})
        self._ahd_mm = {}
        self.view.legend.set_counts(self.tracker.class_counts(), voxel_ml=voxel_ml)

    def leg_agreement(self) -> dict[str, Any]:
        """Per leg: muscle id -> Dice and volume difference of the current pair
        (:func:`~legseg_core.evaluation.legs.leg_agreement`); empty when no pair is shown."""
        from legseg_core.evaluation.legs import leg_agreement

        if self.tracker is None or self.session is None:
            return {}
        return leg_agreement(self.tracker.reference, self.tracker.prediction, self.legs, self.session.image.spacing)

    def export_table(self, path: str | None = None) -> Any:
        """Write the table per leg (both, right, left) and muscle as CSV or JSON (asks where when no path)."""
        from legseg_core.errors import LegsegError
        from legseg_core.evaluation.legs import comparison_records, leg_agreement, write_comparison

        if self.tracker is None or self.session is None:
            self._say("choose a reference and a prediction first")
            return None
        path = path or ask_export_path(self)
        if path is None:
            return None
        agreement = leg_agreement(self.tracker.reference, self.tracker.prediction, self.legs,
                                  self.session.image.spacing, both=True)
        source = {"case": self.session.case_id, "reference": self.reference_combo.currentText(),
                  "prediction": self.prediction_combo.currentText()}
        try:
            written = write_comparison(comparison_records(agreement, self._ahd_mm), path, source=source)
        except (LegsegError, OSError) as error:
            self._say(str(error))
            return None
        self._say(f"table written to {written}")
        return written

    def dice_text(self, label: int | str, leg: str = "both") -> str:
        """The Dice shown for a muscle id or 'mean', of both legs or of the 'right' or 'left' one."""
        return self.table.text(label, "dice" if leg == "both" else f"dice_{leg}")

    # ---- distances on demand ------------------------------------------------------------------------

    def compute_distances(self) -> ProgressWorker | None:
        """Compute AHD (mm) of every muscle off the UI thread on a snapshot of the current labels."""
        if self.tracker is None or (self._distances is not None and self._distances.running):
            return None
        work = self.tracker.scores_work(case_id=self.session.case_id if self.session else "")
        self._distances = ProgressWorker(work, what="distances")
        self._distances.finished.connect(self._on_distances_finished)
        self._distances.errored.connect(self._say)
        self.distances_button.setEnabled(False)
        self._distances.ended.connect(lambda: self.distances_button.setEnabled(True))
        self._say("computing average Hausdorff distances…")
        return self._distances.start()

    def _on_distances_finished(self, scores: Any) -> None:
        self._ahd_mm = {m.label: m.ahd_mm for m in scores.muscles}
        self.table.set_column("ahd_mm", self._ahd_mm)
        self._say(f"mean AHD {scores.mean('ahd_mm'):.2f} mm" if math.isfinite(scores.mean("ahd_mm")) else
                  "AHD: no muscle present in both label maps")

    # ---- overlay toggle -----------------------------------------------------------------------------

    def _on_overlap_toggled(self, checked: bool) -> None:
        self.view.view_state.overlay = "overlap" if checked else "labels"

    def _on_view_changed(self, name: str) -> None:
        if name == "overlay":
            self.overlap_check.blockSignals(True)
            self.overlap_check.setChecked(self.view.view_state.overlay == "overlap")
            self.overlap_check.blockSignals(False)

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self.message.emit(text)
