"""One-button fine-tuning from the GUI: ``legseg finetune`` in its own process, followed live.

:class:`FinetuneWidget` shows how many accepted training cases the active model has not seen,
starts ``legseg finetune --json-progress --store S`` as a separate process (``QProcess``), so
the window stays responsive and a crash of the training cannot take the session with it, and
reads its JSON lines: a progress bar, a live plot of the training loss (per step) and the
validation Dice (per epoch), cancel (terminates the process; the store's registry is crash
safe, so the active model never changes on a cancelled run), and at the end the gate's
verdict (promoted or not, and why) with one-click rollback.

A store without accepted validation or test cases (a new user's first corrections) cannot
validate a candidate: it waits as an *unvalidated* candidate, and the panel shows the gate's
comparison with the active model on the cases it learnt from (:mod:`legseg_core.training.gate`).
"Use it (unvalidated)" puts it to use after one confirmation; the choice is recorded in the
model's status log and "Roll back" undoes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QProcess, QTimer, Signal
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from legseg_core.errors import LegsegError
from legseg_core.progress import Progress
from legseg_gui.process_lines import JsonLines, progress_of
from legseg_core.review.finetune import finetune_command, unseen_accepted_cases
from legseg_core.training.recipes import FINETUNE
from legseg_gui.line_plot import LinePlotWidget
from legseg_gui.progress_widget import ProgressWidget
from legseg_gui.worker import ProgressWorker


#: Milliseconds a terminated process gets before it is killed.
TERMINATE_GRACE_MS = 3000
LOSS_COLOR, DICE_COLOR = (200, 60, 60), (40, 160, 70)
#: Epochs of a quick fine-tune: half the recipe's steps, about half the time.
QUICK_EPOCHS = max(1, FINETUNE.epochs // 2)
QUICK_TIP = (f"{QUICK_EPOCHS} epochs instead of {FINETUNE.epochs}: about half the time, a little less accurate. On the "
             "real labelled calf (one leg corrected, the other scored, seeds 5 to 9) the mean Dice was 0.864 instead "
             "of 0.866, the thin EDL 0.70 to 0.75 instead of 0.75 to 0.77.")

if TYPE_CHECKING:
    from legseg_core.store import Store


def counts_text(counts: dict[str, Any] | None) -> str:
    """What the panel says about the store before fine-tuning: new cases, and how the gate will judge."""
    if counts is None:
        return "No store is open."
    if counts["active"] is None:
        return ("The store has no active model: register the starter models with `legseg starter register` "
                "or train one with `legseg train`.")
    if counts.get("problem"):
        return f"Cannot fine-tune: {counts['problem']}"
    text = (f"{counts['unseen']} accepted training case(s) that the active model {counts['active']} has "
            f"not seen (of {counts['accepted']} accepted).")
    if not counts.get("held_out"):
        text += (" No accepted validation or test case yet: the gate will compare the new model with the "
                 "active one on the cases it learns from, and you choose whether to use it.")
    if counts.get("unvalidated"):
        text += f" Unvalidated candidate waiting: {counts['unvalidated']}."
    return text


def verdict_text(result: dict[str, Any]) -> str:
    """The gate's verdict of a ``result`` line, in words."""
    decision = result.get("decision", "?")
    candidate = result.get("candidate") or "no candidate"
    headline = {"promoted": f"Promoted: {candidate} is now the active model.",
                "promoted unvalidated": f"Promoted unvalidated: {candidate} is now the active model.",
                "unvalidated": f"Not validated: {candidate} waits for your choice; \"Use it (unvalidated)\" makes "
                               f"it active, {result.get('base')} stays active until then.",
                "rejected": f"Not promoted: {candidate} was rejected; {result.get('base')} stays active.",
                "kept as candidate": f"Not promoted: {candidate} is kept as a candidate."}.get(decision, decision)
    reasons = (result.get("verdict") or {}).get("reasons") or []
    return "\n".join([headline, str(result.get("reason", "")), *(f"• {r}" for r in reasons)]).strip()


class FinetuneWidget(QWidget):
    """Fine-tunes the active model of a store in a separate process and shows the outcome.

    ``extra_arguments`` are passed on to ``legseg finetune`` (e.g. ``--epochs 1 --device cpu``);
    ``command(store_root, extra_arguments) -> (program, arguments)`` replaces the process started
    (default :func:`finetune_command`).
    ``ended(result)`` carries the result line (``{}`` when the process ended without one);
    ``models_changed()`` follows a promotion or a rollback, so model pickers can refresh.
    """

    ended = Signal(dict)
    models_changed = Signal()

    def __init__(self, store: Store | None = None, *, extra_arguments: Sequence[str] = (),
                 command: Callable[[str, Sequence[str]], tuple[str, list[str]]] = finetune_command,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.extra_arguments = list(extra_arguments)
        self.command = command
        self.process: QProcess | None = None
        self.result: dict[str, Any] | None = None
        self.errors: list[str] = []
        self._lines = JsonLines("fine-tuning")
        self._error_message = ""
        self._counter: ProgressWorker | None = None
        self.counts: dict[str, Any] | None = None
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.unseen_label = QLabel()
        self.unseen_label.setWordWrap(True)
        self.start_button = QPushButton("Fine-tune")
        self.quick_check = QCheckBox("Quick")
        self.quick_check.setToolTip(QUICK_TIP)
        self.refresh_button = QPushButton("Refresh")
        self.progress = ProgressWidget(title="fine-tuning")
        self.loss_plot = LinePlotWidget("training loss")
        self.loss_plot.add_series("loss", LOSS_COLOR)
        self.dice_plot = LinePlotWidget("validation Dice", y_range=(0.0, 1.0))
        self.dice_plot.add_series("dice", DICE_COLOR)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip("re-activate the model that was active before the current one")
        self.use_button = QPushButton("Use it (unvalidated)")
        self.use_button.setToolTip("make the fine-tuned candidate active although the store has no held-out case "
                                   "to validate it on (recorded; Roll back undoes it)")
        run_row, model_row = QHBoxLayout(), QHBoxLayout()  # two rows: one would widen the panel beside the image
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.quick_check)
        run_row.addWidget(self.refresh_button)
        model_row.addWidget(self.use_button)
        model_row.addWidget(self.rollback_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.unseen_label)
        layout.addLayout(run_row)
        layout.addLayout(model_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.dice_plot, 1)
        layout.addWidget(self.verdict_label)
        self.start_button.clicked.connect(self.start)
        self.refresh_button.clicked.connect(self.refresh)
        self.rollback_button.clicked.connect(self._on_rollback_clicked)
        self.use_button.clicked.connect(self._on_use_clicked)
        self.progress.cancel_requested.connect(self.cancel)
        self.progress.cancel_button.setEnabled(False)

    # ---- the store -------------------------------------------------------------------------------------

    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        """Count the unseen accepted cases again (in the background: it reads the catalog)."""
        if self.store is None:
            self._show_counts(None)
            return
        self._counter = ProgressWorker.call(unseen_accepted_cases, self.store, what="counting new cases")
        self._counter.finished.connect(self._show_counts)
        self._counter.errored.connect(self.unseen_label.setText)
        self._counter.start()

    def _show_counts(self, counts: dict[str, Any] | None) -> None:
        self.counts = counts
        running = self.running
        self.unseen_label.setText(counts_text(counts))
        ready = bool(counts and counts["active"] and counts["unseen"] and not counts.get("problem"))
        self.start_button.setEnabled(ready and not running)
        self.quick_check.setEnabled(not running)
        self.use_button.setEnabled(bool(counts and counts.get("unvalidated")) and not running)
        self.rollback_button.setEnabled(bool(counts and counts["active"]) and not running)

    # ---- the process -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Start ``legseg finetune --json-progress`` for the open store."""
        if self.store is None or self.running:
            return
        self.result, self.errors, self._lines, self._error_message = None, [], JsonLines("fine-tuning"), ""
        self.loss_plot.clear()
        self.dice_plot.clear()
        self.verdict_label.setText("")
        program, arguments = self.command(str(self.store.root), self.arguments())
        self.process = QProcess(self)
        self.process.setProgram(program)
        self.process.setArguments(arguments)
        self.process.readyReadStandardOutput.connect(self._on_output)
        self.process.readyReadStandardError.connect(self._on_error_output)
        self.process.finished.connect(self._on_process_finished)
        for button in (self.start_button, self.quick_check, self.use_button, self.rollback_button):
            button.setEnabled(False)
        self.progress.begin("starting the fine-tuning process")
        self.process.start()

    def arguments(self) -> list[str]:
        """The options given to ``legseg finetune``: the widget's own, then ``--epochs`` when Quick is ticked
        (unless they name the epochs themselves)."""
        quick = self.quick_check.isChecked() and "--epochs" not in self.extra_arguments
        return [*self.extra_arguments, *(["--epochs", str(QUICK_EPOCHS)] if quick else [])]

    def cancel(self) -> None:
        """Stop the process (terminate, then kill after a grace period)."""
        if not self.running:
            return
        self.progress.show_progress(Progress(0, 0, "cancelling"))
        self._error_message = "fine-tuning was cancelled; the active model is unchanged"
        process = self.process
        process.terminate()  # type: ignore[union-attr]
        QTimer.singleShot(TERMINATE_GRACE_MS, process, lambda: self._kill_if_running(process))  # dropped with it

    def _kill_if_running(self, process: QProcess | None) -> None:
        if process is not None and process is self.process and self.running:
            process.kill()

    def _on_output(self) -> None:
        for record in self._lines.feed(bytes(self.process.readAllStandardOutput())):  # type: ignore[union-attr]
            self.handle_record(record)

    def _on_error_output(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")  # type: ignore[union-attr]
        self.errors = (self.errors + text.splitlines())[-40:]

    def handle_line(self, line: str) -> None:
        """Take in one JSON line of the process: progress, plot points, the result or an error."""
        record = self._lines.parse(line)
        if record is not None:
            self.handle_record(record)

    def handle_record(self, record: dict[str, Any]) -> None:
        """Take in one record of the process: progress, plot points, the result or an error."""
        event = record.get("event")
        if event == "result":
            self.result = record
        elif event == "error":
            self._error_message = str(record.get("message", "fine-tuning failed"))
            self.progress.show_error(self._error_message)
        else:
            self.progress.show_progress(progress_of(record))
            self._plot(record)

    def _plot(self, record: dict[str, Any]) -> None:
        step = record.get("step")
        if step is None:
            return
        if record.get("event") == "step" and record.get("loss") is not None:
            self.loss_plot.append("loss", step, record["loss"])
        elif record.get("event") == "epoch" and record.get("validation_mean_dice") is not None:
            self.dice_plot.append("dice", step, record["validation_mean_dice"])

    def _on_process_finished(self, exit_code: int, _status: Any) -> None:
        self._on_output()
        for record in self._lines.flush():
            self.handle_record(record)
        if self.result is not None:
            self.progress.end("fine-tuning: done")
            self.verdict_label.setText(verdict_text(self.result))
            if self.result.get("decision") in ("promoted", "promoted unvalidated"):
                self.models_changed.emit()
        elif exit_code == 0:
            self.progress.end("fine-tuning ended without a result", success=False)
        else:
            last = next((line for line in reversed(self.errors) if line.strip()), "")
            self.progress.end(success=False)
            self.progress.show_error(self._error_message or f"fine-tuning stopped (exit status {exit_code}) {last}")
        self.refresh()
        self.ended.emit(dict(self.result or {}))

    # ---- rollback --------------------------------------------------------------------------------------

    def _on_rollback_clicked(self) -> None:
        if self.store is None:
            return
        from legseg_core.training.registry import ModelRegistry

        try:
            model = ModelRegistry(self.store).rollback(reason="rolled back from the LegSeg app")
        except LegsegError as error:
            self.verdict_label.setText(str(error))
            return
        self.verdict_label.setText(f"Rolled back: {model.id} is the active model again.")
        self.models_changed.emit()
        self.refresh()

    # ---- using an unvalidated candidate ----------------------------------------------------------------

    def confirm(self, title: str, text: str) -> bool:
        """Ask yes or no (tests replace this method)."""
        from qtpy.QtWidgets import QMessageBox

        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        return QMessageBox.question(self, title, text, buttons) == QMessageBox.StandardButton.Yes

    def _on_use_clicked(self) -> None:
        candidate = (self.counts or {}).get("unvalidated")
        if self.store is None or not candidate:
            return
        if not self.confirm("Use an unvalidated model", f"The store has no accepted validation or test case, so "
                            f"{candidate} was only checked on the cases it learnt from.\nMake it the active model "
                            "anyway? The choice is recorded; Roll back undoes it."):
            return
        from legseg_core.store import default_author
        from legseg_core.training.finetune import use_unvalidated

        try:
            model = use_unvalidated(self.store, candidate, author=default_author(), where="fine-tune panel")
        except LegsegError as error:
            self.verdict_label.setText(str(error))
            return
        self.verdict_label.setText(f"In use, unvalidated (your recorded choice): {model.id} is the active model. "
                                   "Roll back returns to the one before.")
        self.models_changed.emit()
        self.refresh()

    def shutdown(self) -> None:
        """Stop a running process (the window is closing)."""
        self.cancel()
