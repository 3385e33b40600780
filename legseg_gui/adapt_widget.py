""""Learn from my corrections": case adaptation from a viewer, in its own process, followed live.

:class:`AdaptWidget` is shared by the LegSeg application and napari. The host gives it the case
(:class:`~legseg_core.adapt.job.CaseAdaptation`), a function that returns the labels being
corrected and one that shows new labels. The button writes the inputs and starts ``legseg adapt
--json-progress`` as a separate process (``QProcess``): the window stays responsive, a progress
bar follows the steps, cancel terminates the process (nothing is written before its end, so the
labels and the active model stay as they were). At the end the new labels replace the slices
nobody corrected, and only where nothing was edited while it ran.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QProcess, QTimer, Signal
from qtpy.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from legseg_core.adapt.job import AdaptRun, CaseAdaptation, adapt_command
from legseg_core.errors import LegsegError
from legseg_core.progress import Progress
from legseg_gui.process_lines import JsonLines, progress_of
from legseg_gui.progress_widget import ProgressWidget


TERMINATE_GRACE_MS = 3000
BUTTON_TEXT = "Learn from my corrections"


class AdaptWidget(QWidget):
    """The adapt button, its progress bar with cancel, and a line saying what happened.

    ``ended(result)`` carries the process's result line (``{}`` when it ended without one);
    ``extra`` options (``steps``, ``device``) are passed on to ``legseg adapt``.
    """

    ended = Signal(dict)

    def __init__(self, *, steps: int | None = None, device: str | None = None,
                 command: Callable[[list[str]], tuple[str, list[str]]] = adapt_command,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps, self.device, self.command = steps, device, command
        self.case: CaseAdaptation | None = None
        self._labels: Callable[[], np.ndarray] | None = None
        self._show: Callable[[np.ndarray], object] | None = None
        self.process: QProcess | None = None
        self.run: AdaptRun | None = None
        self.result: dict[str, Any] | None = None
        self._lines, self._message = JsonLines("the adaptation"), ""
        self._errors: list[str] = []
        self.button = QPushButton(BUTTON_TEXT)
        self.button.setToolTip("adapt the model to this scan from the slices you corrected, then re-segment the "
                               "slices you have not touched; between two corrected slices, the muscles both show are "
                               "interpolated (corrected slices never change)")
        self.progress = ProgressWidget(title="learning from corrections")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.button.clicked.connect(self.start)
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.cancel_button.setEnabled(False)
        self.set_case(None)

    def set_case(self, case: CaseAdaptation | None, labels: Callable[[], np.ndarray] | None = None,
                 show: Callable[[np.ndarray], object] | None = None) -> None:
        """The case to adapt to, how to read its labels and how to show new ones (None: no case)."""
        if self.running:
            self.cancel()
        self.case, self._labels, self._show = case, labels, show
        self.button.setEnabled(case is not None)
        self.status.setText("" if case is not None else "Open a scan with labels to correct first.")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> bool:
        """Write the inputs and start ``legseg adapt``; False (and a message) when it cannot start."""
        if self.case is None or self._labels is None or self.running:
            return False
        folder = Path(tempfile.mkdtemp(prefix="legseg-adapt-"))
        try:
            self.run, arguments = self.case.prepare(self._labels(), folder, steps=self.steps, device=self.device)
        except LegsegError as error:
            shutil.rmtree(folder, ignore_errors=True)
            self.status.setText(str(error))
            return False
        self.result, self._lines, self._message, self._errors = None, JsonLines("the adaptation"), "", []
        program, arguments = self.command(arguments)
        self.process = QProcess(self)
        self.process.setProgram(program)
        self.process.setArguments(arguments)
        self.process.readyReadStandardOutput.connect(self._on_output)
        self.process.readyReadStandardError.connect(self._on_error_output)
        self.process.finished.connect(self._on_process_finished)
        self.button.setEnabled(False)
        self.status.setText(f"learning from {len(self.run.corrected)} corrected leg slice(s)")
        self.progress.begin("starting the adaptation process")
        self.process.start()
        return True

    def cancel(self) -> None:
        """Stop the process (terminate, then kill after a grace period); nothing changes."""
        if not self.running:
            return
        self._message = "the adaptation was cancelled; the labels and the model are unchanged"
        self.progress.show_progress(Progress(0, 0, "cancelling"))
        process = self.process
        if process is None:
            return
        process.terminate()
        QTimer.singleShot(TERMINATE_GRACE_MS, process, lambda: process.kill() if process is self.process
                          and self.running else None)

    def _on_output(self) -> None:
        if self.process is None:
            return
        for record in self._lines.feed(bytes(self.process.readAllStandardOutput().data())):
            self.handle_record(record)

    def _on_error_output(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        self._errors = (self._errors + text.splitlines())[-20:]

    def handle_line(self, line: str) -> None:
        """Take in one JSON line of the process: progress, the result or an error."""
        record = self._lines.parse(line)
        if record is not None:
            self.handle_record(record)

    def handle_record(self, record: dict[str, Any]) -> None:
        """Take in one record of the process: progress, the result or an error."""
        if record.get("event") == "result":
            self.result = record
        elif record.get("event") == "error":
            self._message = str(record.get("message", "the adaptation failed"))
        else:
            self.progress.show_progress(progress_of(record))

    def _on_process_finished(self, exit_code: int, _status: Any) -> None:
        self._on_output()
        for record in self._lines.flush():
            self.handle_record(record)
        try:
            self._finish(exit_code)
        finally:
            if self.run is not None:
                shutil.rmtree(self.run.folder, ignore_errors=True)
            self.button.setEnabled(self.case is not None)
            self.ended.emit(dict(self.result or {}))

    def _finish(self, exit_code: int) -> None:
        if self.result is None or self.run is None or self.case is None or self._labels is None:
            last = next((line for line in reversed(self._errors) if line.strip()), "")
            self.progress.end(success=False)
            self.status.setText(self._message or f"the adaptation stopped (exit status {exit_code}) {last}".strip())
            return
        try:
            merged = self.case.merge(self.run, self._labels())
        except LegsegError as error:
            self.progress.end(success=False)
            self.status.setText(str(error))
            return
        if self._show is not None:
            self._show(merged)
        self.progress.end("learning from corrections: done")
        seconds = (self.result.get("seconds") or {}).get("total", "?")
        self.status.setText(f"Learnt from {len(self.run.corrected)} corrected leg slice(s) in {seconds} s and "
                            f"relabelled {self.result.get('replaced_voxels', '?')} voxels of the others; the adapted "
                            f"model is kept with this case ({Path(str(self.result.get('adapted_model'))).name}).")

    def shutdown(self) -> None:
        """Stop a running process (the window is closing)."""
        self.cancel()
