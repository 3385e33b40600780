"""Running segmentations from the application window: the open case, or every new case of the worklist.

:class:`SegmentationRuns` starts the work of :mod:`legseg_gui.app.segmentation` in a
:class:`~legseg_gui.worker.ProgressWorker` (model loading, inference and the store write all
off the UI thread), shows it in the segment panel's progress widget, and, on the UI thread,
makes the stored prediction the labels being edited and the review panel's prediction.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QObject, Signal

from legseg_gui.app.session import CaseSession
from legseg_gui.worker import ProgressWorker


class SegmentationRuns(QObject):
    """Segmentations of a :class:`~legseg_gui.app.main_window.MainWindowWidget`, one at a time.

    ``ended(outcome)`` follows each run: 'finished', 'errored' or 'cancelled'.
    """

    ended = Signal(str)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.worker: ProgressWorker | None = None

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.running

    def segment_open_case(self) -> ProgressWorker | None:
        """Segment the open case with the chosen model; the prediction is stored and becomes the edit."""
        window = self.window
        choice = window.segment_panel.picker.current_choice()
        if choice is None:
            window.report_error("no model to segment with: add a model file or register one with `legseg train`")
            return None
        if window.session is None or self.running or not window.confirm_unsaved("replace the labels with a new "
                                                                                "segmentation"):
            return None
        from legseg_gui.app.segmentation import segment_and_store

        session = window.session
        work = segment_and_store(session, choice, window.segment_panel.picker.device, author=window.author)
        worker = ProgressWorker(work, what=f"segmentation with {choice.name}")
        worker.finished.connect(lambda outcome: self._on_segmented(session, choice, *outcome))
        return self._start(worker)

    def segment_new_cases(self) -> ProgressWorker | None:
        """Segment every case without labels (status new) with one model load; then sort by uncertainty."""
        window = self.window
        choice = window.segment_panel.picker.current_choice()
        new = [case.id for case in window.store.cases(status="new")]
        if choice is None or not new or self.running:
            return None
        if window.session is not None and window.session.case_id in new and not window.confirm_unsaved("segment it"):
            return None
        from legseg_gui.app.segmentation import segment_cases_work

        work = segment_cases_work(window.store, new, choice, window.segment_panel.picker.device, author=window.author)
        worker = ProgressWorker(work, what=f"segmentation of {len(new)} new case(s) with {choice.name}")
        worker.progress.connect(self._on_batch_progress)
        worker.finished.connect(self._on_cases_segmented)
        return self._start(worker)

    def _start(self, worker: ProgressWorker) -> ProgressWorker:
        worker.ended.connect(lambda: self._on_ended(worker))
        self.window.segment_panel.progress.attach(worker)
        self.worker = worker.start()
        self.window.update_actions()
        return worker

    # ---- results (UI thread) ---------------------------------------------------------------------------

    def _on_segmented(self, session: CaseSession, choice: Any, result: Any, version: Any) -> None:
        window = self.window
        window.refresh_worklist()
        if session is window.session:
            self._adopt(session, version, result.labels, getattr(result, "uncertainty", None))
        score = getattr(result, "uncertainty_score", None)
        score_text = f", uncertainty {score:.3f}" if score is not None else ""
        window.segment_panel.result_label.setText(f"saved {version.id} (predicted:{choice.name}{score_text})")

    def _on_batch_progress(self, event: Any) -> None:
        if event.details.get("stored"):  # a case's prediction is in the store: show it in the worklist
            self.window.refresh_worklist()

    def _on_cases_segmented(self, stored: dict[str, Any]) -> None:
        window = self.window
        window.refresh_worklist()
        window.worklist.sort_by("effort", descending=True)
        session = window.session
        if session is not None and session.case_id in stored and not session.dirty:
            version = stored[session.case_id]
            self._adopt(session, version, window.store.load_labels(version.id), None)
        window.segment_panel.result_label.setText(f"segmented {len(stored)} case(s); the worklist is sorted by "
                                                  "expected correction effort, highest first")

    def _adopt(self, session: CaseSession, version: Any, labels: Any, uncertainty: Any) -> None:
        """The stored prediction becomes the edit; the review tracker is rebuilt once, not updated voxel by voxel."""
        review = self.window.review_panel
        review.pause()
        session.adopt_prediction(version, labels, uncertainty=uncertainty)
        review.refresh_sources(*session.default_review_pair())

    def _on_ended(self, worker: ProgressWorker) -> None:
        window = self.window
        window.segment_panel.picker.refresh_devices()
        window.update_actions()
        if worker.outcome == "errored":
            window.report_error(str(worker.error))
        self.ended.emit(str(worker.outcome))

    def cancel_and_wait(self, timeout_seconds: float = 10.0) -> None:
        """Stop a running segmentation (the window is closing)."""
        if self.running:
            self.worker.cancel_and_wait(timeout_seconds)  # type: ignore[union-attr]
