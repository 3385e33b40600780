"""A progress bar, a message and a cancel button for long work.

:class:`ProgressWidget` follows a :class:`~legseg_gui.worker.ProgressWorker` (:meth:`attach`)
or any other source that calls :meth:`show_progress` and listens to ``cancel_requested`` (the
fine-tuning panel, which follows a separate process). It keeps no state of its own beyond what
it shows and when the work began: the worker holds the work, the bar shows its latest event, and
beside it the time elapsed and, from the fraction done, about how long is left (long work only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from legseg_core.progress import Progress
from legseg_gui.worker import ProgressWorker

#: Steps of the bar: fractions are shown in tenths of a percent.
BAR_STEPS = 1000
ERROR_STYLE = "color: #c62828;"
#: Work shorter than this (seconds) shows no times; an estimate of what is left needs this fraction done.
SHOW_TIMES_AFTER_S, ESTIMATE_FROM_FRACTION = 10.0, 0.05


def clock_text(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour."""
    whole = int(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def timing_text(elapsed: float, fraction: float) -> str:
    """What the bar's side says: time elapsed and, once enough is done, about how long is left at the pace so
    far; nothing for short work."""
    if elapsed < SHOW_TIMES_AFTER_S:
        return ""
    text = f"{clock_text(elapsed)} elapsed"
    if ESTIMATE_FROM_FRACTION <= fraction < 1.0:
        left = elapsed * (1.0 - fraction) / fraction
        text += " · less than a minute left" if left < 60 else f" · about {math.ceil(left / 60)} min left"
    return text


class ProgressWidget(QWidget):
    """Shows the latest progress event of some work, and offers to cancel it.

    ``cancel_requested()`` is emitted when the cancel button is pressed; an attached worker is
    cancelled directly. When the work ends, the bar stays at its last value and the message
    says how it ended (done, cancelled, or the error).
    """

    cancel_requested = Signal()

    def __init__(self, *, title: str = "", clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.clock = title, clock
        self.worker: ProgressWorker | None = None
        self._began: float | None = None
        self.time_label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.bar.setTextVisible(False)  # no "0%" while nothing runs: the percentage appears with the work
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.time_label)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.message_label)

    # ---- following a worker ----------------------------------------------------------------------

    def attach(self, worker: ProgressWorker) -> ProgressWorker:
        """Follow ``worker`` (started or not) until it ends; returns it."""
        self.detach()
        self.worker = worker
        worker.progress.connect(self.show_progress)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self.show_error)
        worker.cancelled.connect(self._on_cancelled)
        worker.ended.connect(self._on_ended)
        self.begin(f"{worker.what}: starting")
        return worker

    def detach(self) -> None:
        """Stop following the current worker (it keeps running)."""
        worker, self.worker = self.worker, None
        if worker is None:
            return
        for signal, slot in ((worker.progress, self.show_progress), (worker.finished, self._on_finished),
                             (worker.errored, self.show_error), (worker.cancelled, self._on_cancelled),
                             (worker.ended, self._on_ended)):
            signal.disconnect(slot)

    # ---- what it shows (also for sources other than a worker) ------------------------------------

    def begin(self, message: str = "") -> None:
        """Show that work has started: an empty busy bar, the message, cancel enabled."""
        self.bar.setRange(0, 0)  # busy indicator until the first event with a total
        self.bar.setTextVisible(True)
        self._set_message(message)
        self._began = self.clock()
        self.time_label.setText("")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")

    def show_progress(self, event: Progress) -> None:
        """Show one progress event (a total of 0 shows a busy bar)."""
        self.bar.setTextVisible(True)
        if event.total:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(round(event.fraction * BAR_STEPS))
        else:
            self.bar.setRange(0, 0)
        prefix = f"{self.title}: " if self.title else ""
        self._set_message(prefix + event.message if event.message else self.message_label.text())
        if self._began is None:
            self._began = self.clock()
        self.time_label.setText(timing_text(self.clock() - self._began, event.fraction if event.total else 0.0))

    def show_error(self, message: str) -> None:
        """Show the error that ended the work."""
        self._set_message(message, error=True)

    def end(self, message: str = "", *, success: bool = True) -> None:
        """Show that the work has ended: the bar full on success, cancel disabled."""
        if self.bar.maximum() == 0:
            self.bar.setRange(0, BAR_STEPS)
        if success:
            self.bar.setValue(BAR_STEPS)
        if message:
            self._set_message(message)
        if self._began is not None:
            elapsed = self.clock() - self._began
            self.time_label.setText(f"took {clock_text(elapsed)}" if elapsed >= SHOW_TIMES_AFTER_S else "")
            self._began = None
        self.cancel_button.setEnabled(False)

    @property
    def message(self) -> str:
        return self.message_label.text()

    @property
    def fraction(self) -> float:
        """The bar's value as 0..1 (0 while busy without a total)."""
        return self.bar.value() / BAR_STEPS if self.bar.maximum() else 0.0

    # ---- slots -----------------------------------------------------------------------------------

    def _on_cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        if self.worker is not None:
            self.worker.cancel()
        self.cancel_requested.emit()

    def _on_finished(self, _result: object) -> None:
        self.end(f"{self.worker.what if self.worker else 'the work'}: done")

    def _on_cancelled(self) -> None:
        self.end(f"{self.worker.what if self.worker else 'the work'}: cancelled", success=False)

    def _on_ended(self) -> None:
        self.end(success=self.worker is not None and self.worker.outcome == "finished")
        self.cancel_button.setText("Cancel")
        self.detach()

    def _set_message(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")
        self.message_label.setText(text)
