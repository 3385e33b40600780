"""The LegSeg application's main window: worklist, image view, and panels to segment, edit, review, fine-tune.

Layout: the worklist of the store on the left (sortable by status, contrast, health, expected
correction effort, quality-control flags and uncertainty), the axial image view in the middle,
and tabs on the right for segmentation (with the open case's quality report), the editing tools,
the review (overlap map, reference and prediction, live Dice) and fine-tuning.
The window keeps no label state of its own: the open case is a
:class:`~legseg_core.review.session.CaseSession`, whose editor the view paints through.

Questions to the user (unsaved edits, recovery) go through :meth:`MainWindowWidget.ask`, one
method that tests and the headless mode replace. Closing a headless window (``legseg app ...
--quit``) writes nothing: unsaved edits, such as labels loaded with ``--labels``, are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QTabWidget, QWidget

from legseg_core.editing import EditingState
from legseg_core.errors import LegsegError
from legseg_core.review.accept import AcceptRequest, AcceptResult
from legseg_core.review.session import CaseSession
from legseg_core.store.records import LabelVersion
from legseg_gui.app.autosave import AutosaveController
from legseg_gui.app.orthogonal import OrthogonalViewsWidget, ViewSplitterWidget
from legseg_gui.app.panels import EditPanelWidget, SegmentPanelWidget
from legseg_gui.app.review import ReviewPanelWidget
from legseg_gui.app.segment_runs import SegmentationRuns
from legseg_gui.app.worklist import CaseListWidget
from legseg_gui.adapt_widget import AdaptWidget
from legseg_gui.finetune_widget import FinetuneWidget
from legseg_gui.quality_widget import quality_check_worker
from legseg_gui.slice_view import SliceViewWidget
from legseg_gui.worker import ProgressWorker

log = logging.getLogger(__name__)

SAVE, DISCARD, CANCEL, RESTORE, LATER = "Save", "Discard", "Cancel", "Restore", "Later"
WINDOW_TITLE = "LegSeg"
WORKLIST_WIDTH, PANEL_WIDTH = 300, 380
SECTION_SHARE = 0.22  # of the width beside the docks, for the sagittal and coronal sections at start

if TYPE_CHECKING:
    from legseg_core.store import Store


class MainWindowWidget(QMainWindow):
    """The review station for one store (a :class:`~legseg_core.store.Store`).

    ``case_opened(case_id)`` follows opening a case; ``segmentation_ended(outcome)`` the end of a
    segmentation and ``saving_ended(outcome)`` the end of an accept or of a draft saved in the
    background ('finished', 'errored' or 'cancelled').
    """

    case_opened = Signal(str)
    segmentation_ended = Signal(str)
    saving_ended = Signal(str)

    def __init__(self, store: Store, *, finetune_arguments: tuple[str, ...] = (),
                 autosave_seconds: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.session: CaseSession | None = None
        self.qualities: dict[str, Any] = {}  # case id -> latest stored quality report, read with the worklist
        self.author: str | None = None
        self.headless = False  # no dialogs: questions take their default, errors go to the log
        self._new_cases = 0
        self.errors: list[str] = []  # every error reported, for the headless mode's exit status
        self.tool_state = EditingState()
        self.saving: ProgressWorker | None = None  # an accept or a draft being written
        self.opening: ProgressWorker | None = None  # a case being read from the store
        self.checking: ProgressWorker | None = None  # the quality check of the labels on screen
        self.setWindowTitle(f"{WINDOW_TITLE} — {store.root}")
        self._build(finetune_arguments)
        self.segment_runs = SegmentationRuns(self)
        self.segment_runs.ended.connect(self.segmentation_ended)
        options = {} if autosave_seconds is None else {"interval_seconds": autosave_seconds}
        self.autosave = AutosaveController(store.root, parent=self, **options)
        from legseg_gui.app.menus import build_menus

        self.actions = build_menus(self)
        self.refresh_worklist()
        self.update_actions()

    def _build(self, finetune_arguments: tuple[str, ...]) -> None:
        self.view = SliceViewWidget(tool_state=self.tool_state)
        self.worklist = CaseListWidget()
        self.worklist.case_activated.connect(self.open_case_in_background)
        self.segment_panel = SegmentPanelWidget(self.store)
        self.segment_panel.segment_requested.connect(self.segment)
        self.segment_panel.segment_new_requested.connect(self.segment_new_cases)
        self.segment_panel.check_requested.connect(self.check_labels_on_screen)
        self.edit_panel = EditPanelWidget(self.tool_state)
        self.review_panel = ReviewPanelWidget(self.view)
        self.finetune_panel = FinetuneWidget(self.store, extra_arguments=finetune_arguments)
        self.finetune_panel.models_changed.connect(lambda: self.segment_panel.picker.refresh(background=True))
        self.adapt_panel = AdaptWidget()
        self.segmentation_ended.connect(lambda _outcome: self._follow_adaptation(self.session))
        self.tabs = QTabWidget()
        for widget, title in ((self.segment_panel, "Segment"), (self.review_panel, "Review"),
                              (self.adapt_panel, "Adapt"), (self.finetune_panel, "Fine-tune")):
            self.tabs.addTab(widget, title)
        self.orthogonal = OrthogonalViewsWidget(self.view)
        self.review_panel.pair_changed.connect(self.orthogonal.refresh)
        self.views = ViewSplitterWidget(self.view, self.orthogonal)
        self.setCentralWidget(self.views)
        docks = [self._dock(self.worklist, "Worklist", Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock(self.edit_panel, "Edit", Qt.DockWidgetArea.RightDockWidgetArea),
                 self._dock(self.tabs, "Panels", Qt.DockWidgetArea.RightDockWidgetArea)]
        self._docks, self._laid_out = docks, False
        self.resizeDocks(docks, [WORKLIST_WIDTH, PANEL_WIDTH, PANEL_WIDTH], Qt.Orientation.Horizontal)
        self.view.status_changed.connect(lambda text: self.statusBar().showMessage(text))
        self.view.status_label.hide()  # the window's status bar shows the same line
        self.edit_panel.tools.message.connect(self.say)
        self.review_panel.message.connect(self.say)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override): widths once the window has its size
        super().showEvent(event)
        if not self._laid_out:
            self._laid_out = True
            self.resizeDocks(self._docks, [WORKLIST_WIDTH, PANEL_WIDTH, PANEL_WIDTH], Qt.Orientation.Horizontal)
            self.views.set_section_share(SECTION_SHARE)

    def show_panel(self, name: str) -> None:
        """Bring a side panel to the front: 'segment', 'review' or 'finetune'."""
        panels = {"segment": self.segment_panel, "review": self.review_panel, "finetune": self.finetune_panel}
        self.tabs.setCurrentWidget(panels[name])

    def _dock(self, widget: QWidget, title: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        features = QDockWidget.DockWidgetFeature
        dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # ---- questions and messages ---------------------------------------------------------------------

    def ask(self, title: str, text: str, choices: tuple[str, ...], default: str) -> str:
        """Ask the user to pick one of ``choices`` (button texts); returns the text of the choice.

        Headless, the default is taken without asking."""
        if self.headless:
            return default
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        buttons = {box.addButton(choice, _role(choice)): choice for choice in choices}
        box.setDefaultButton(next(b for b, c in buttons.items() if c == default))
        box.exec()
        return buttons.get(box.clickedButton(), CANCEL if CANCEL in choices else default)

    def say(self, text: str) -> None:
        """Show a message in the status bar."""
        self.statusBar().showMessage(text, 10_000)

    def report_error(self, text: str) -> None:
        """Show an error message (status bar and a message box when interactive); kept in :attr:`errors`."""
        self.errors.append(text)
        self.say(text)
        log.warning("%s", text)
        if not self.headless:
            QMessageBox.warning(self, WINDOW_TITLE, text)

    # ---- the worklist and cases ----------------------------------------------------------------------

    def refresh_worklist(self) -> None:
        """Read the store's cases and their latest quality reports again."""
        from legseg_core.store.quality import case_qualities

        cases = self.store.cases()
        self._new_cases = sum(case.status == "new" for case in cases)
        self.qualities = case_qualities(self.store)
        self.worklist.set_cases(cases, current=self.session.case_id if self.session else None, quality=self.qualities)
        self.show_quality()
        self.update_actions()

    def show_quality(self) -> None:
        """Show the open case's latest quality report (flags, per-leg volumes) in the segment panel."""
        quality = self.qualities.get(self.session.case_id) if self.session else None
        self.segment_panel.quality.set_report(quality.report if quality else None)

    def check_labels_on_screen(self) -> ProgressWorker | None:
        """The quality-control report (flags, per-leg volumes, left/right ratios) of the labels as they are
        now, computed off the UI thread on a copy of them, shown in the segment panel under a title that
        says so. The report kept in the store describes the labels a segmentation produced; this one
        describes imported labels and corrections as well."""
        if self.session is None or (self.checking is not None and self.checking.running):
            return None
        session = self.session
        worker = quality_check_worker(session.editor.labels, session.image.spacing)
        worker.finished.connect(lambda report: self._show_checked(session, report))
        worker.errored.connect(self.report_error)
        self.checking = worker.start()
        return worker

    def _show_checked(self, session: CaseSession, report: dict) -> None:
        if session is not self.session:  # another case was opened meanwhile
            return
        self.segment_panel.quality.set_report(report, title="The labels on screen (edits included):")
        flags = len(report.get("flags", []))
        self.say(f"quality check: {flags} flag{'s' if flags != 1 else ''}" if flags else "quality check: no flags")

    def open_case(self, case_id: str, *, recovery: str | None = None) -> bool:
        """Open a store case (asking first about unsaved edits of the open one); True when it is open.

        An autosave of the case is offered back (``recovery`` answers that question beforehand:
        Restore, Discard or Later)."""
        if self.session is not None and self.session.case_id == case_id:
            return True
        if not self.confirm_unsaved("open another case"):
            return False
        try:
            session = CaseSession.open(self.store, case_id)
        except LegsegError as error:
            self.report_error(str(error))
            return False
        self._show_opened(session, recovery)
        return True

    def open_case_in_background(self, case_id: str) -> ProgressWorker | None:
        """Open a store case as :meth:`open_case` does, reading its scan and labels off the UI thread (the
        worklist's double click); ``case_opened`` follows."""
        if self.session is not None and self.session.case_id == case_id:
            return None
        if (self.opening is not None and self.opening.running) or not self.confirm_unsaved("open another case"):
            return None
        worker = ProgressWorker.call(CaseSession.open, self.store, case_id, what=f"opening {case_id}")
        worker.finished.connect(self._on_case_read)
        worker.errored.connect(self.report_error)
        self.say(f"opening {case_id}…")
        self.opening = worker.start()
        return worker

    def _on_case_read(self, session: CaseSession) -> None:
        if self.confirm_unsaved("open another case"):  # edits made while the case was read
            self._show_opened(session)

    def _show_opened(self, session: CaseSession, recovery: str | None = None) -> None:
        self._show_session(session)
        self._offer_recovery(session, recovery)
        self.case_opened.emit(session.case_id)

    def _show_session(self, session: CaseSession | None) -> None:
        self.session = session
        if session is not None:
            self.view.set_volume(session.image)
            self.view.set_editor(session.editor)
            self.view.view_state.z = session.image.shape[0] // 2
            session.editor.events.history_changed.connect(self.update_actions)
            self.setWindowTitle(f"{WINDOW_TITLE} — {session.case_id} ({session.case.metadata.contrast})")
        else:
            self.view.set_editor(None)
        self.edit_panel.set_editor(session.editor if session else None)
        self.review_panel.set_session(session)
        self.orthogonal.follow_editor()
        self.autosave.follow(session)
        self.show_quality()
        self._follow_adaptation(session)
        if session is not None:
            self.worklist.select_case(session.case_id)
        self.update_actions()

    def _follow_adaptation(self, session: CaseSession | None) -> None:
        """Give the adapt panel the open case (its adapted model is kept beside its autosaved draft)."""
        from legseg_gui.app.adapt import case_adaptation

        if session is None:
            self.adapt_panel.set_case(None)
            return
        self.adapt_panel.set_case(case_adaptation(session), labels=lambda: session.editor.labels,
                                  show=lambda labels: session.editor.replace_all(labels, kind="adapt"))

    def offer_recovery_at_start(self) -> None:
        """After a crash: offer to open the newest autosaved case of this store and restore its edits."""
        pending = self.autosave.pending({case.id for case in self.store.cases()})
        if not pending:
            return
        others = f" ({len(pending) - 1} more autosave(s) are offered when their cases open)" if len(pending) > 1 else ""
        choice = self.ask("Unsaved edits found", f"Unsaved edits of {pending[0].description} were autosaved, "
                          f"perhaps before a crash.{others}\nOpen the case and restore them?", (RESTORE, LATER),
                          RESTORE)
        if choice == RESTORE:
            self.open_case(str(pending[0].case_id), recovery=RESTORE)

    def _offer_recovery(self, session: CaseSession, choice: str | None = None) -> None:
        entry = self.autosave.entry_for(session.case_id)
        if entry is None:
            return
        if choice is None:
            choice = self.ask("Unsaved edits found", f"Unsaved edits of {entry.description} were autosaved.\n"
                              "Restore them?", (RESTORE, DISCARD, LATER), RESTORE)
        if choice == RESTORE:
            try:
                self.autosave.restore_into(session, entry)
                self.say(f"restored the unsaved edits of {session.case_id}")
            except LegsegError as error:
                self.report_error(str(error))
        elif choice == DISCARD:
            self.autosave.discard(session.case_id)

    def confirm_unsaved(self, doing: str) -> bool:
        """With unsaved edits, ask to save them (as a draft version), discard them, or cancel ``doing``."""
        if self.session is None or not self.session.dirty:
            return True
        if self.saving_running:  # its result decides what stays unsaved
            self.say(f"{self.session.case_id} is being saved; {doing} once it is saved")
            return False
        choice = self.ask("Unsaved edits", f"{self.session.case_id} has unsaved edits. Save them before you "
                          f"{doing}?", (SAVE, DISCARD, CANCEL), SAVE)
        if choice == CANCEL:
            return False
        if choice == SAVE:
            return self.save_draft() is not None
        self.autosave.discard(self.session.case_id)
        self.session.editor.mark_saved()
        return True

    # ---- saving ----------------------------------------------------------------------------------------

    def save_draft(self) -> Any | None:
        """Store the edits as a new (not accepted) label version; returns it (None on failure or no edits)."""
        if self.session is None:
            return None
        try:
            version = self.session.save_draft(author=self.author)
        except LegsegError as error:
            self.report_error(str(error))
            return None
        if version is not None:
            self._after_save(f"saved {version.id} ({version.provenance})")
        return version

    def save_draft_in_background(self) -> ProgressWorker | None:
        """The Save action: store the edits as a new (not accepted) label version off the UI thread;
        ``saving_ended`` follows."""
        if self.session is None or not self.session.dirty or self.saving_running:
            return None
        from legseg_core.review.accept import save_draft_request

        session = self.session
        request = session.save_request(author=self.author)
        return self._start_saving(save_draft_request, request, f"saving {session.case_id}",
                                  lambda version: self._on_draft_saved(session, request, version))

    def accept_case(self) -> ProgressWorker | None:
        """Accept the current labels off the UI thread (see :mod:`legseg_core.review.accept`): store them
        as a version if they changed, and mark the case accepted; ``saving_ended`` follows."""
        if self.session is None or self.saving_running:
            return None
        from legseg_core.review.accept import accept_request

        session = self.session
        request = session.save_request(author=self.author)
        return self._start_saving(accept_request, request, f"accepting {session.case_id}",
                                  lambda result: self._on_accepted(session, request, result))

    @property
    def saving_running(self) -> bool:
        """True while an accept or a draft is being written to the store."""
        return self.saving is not None and self.saving.running

    def _start_saving(self, function: Callable[[Store, AcceptRequest], Any], request: AcceptRequest, what: str,
                      on_finished: Callable[[Any], None]) -> ProgressWorker:
        worker = ProgressWorker.call(function, self.store, request, what=what)
        worker.finished.connect(on_finished)
        worker.errored.connect(self.report_error)
        worker.ended.connect(lambda: self._on_saving_ended(worker))
        self.saving = worker.start()
        self.update_actions()
        return worker

    def _on_accepted(self, session: CaseSession, request: AcceptRequest, result: AcceptResult) -> None:
        version = session.adopt_accepted(request, result)
        self._after_save(f"accepted {version.id} ({version.provenance}) for {session.case_id}", session)
        self.finetune_panel.refresh()

    def _on_draft_saved(self, session: CaseSession, request: AcceptRequest, version: LabelVersion | None) -> None:
        session.adopt_saved(request, version)
        if version is not None:
            self._after_save(f"saved {version.id} ({version.provenance})", session)

    def _on_saving_ended(self, worker: ProgressWorker) -> None:
        self.update_actions()
        self.saving_ended.emit(str(worker.outcome))

    def _after_save(self, message: str, session: CaseSession | None = None) -> None:
        session = session or self.session
        if session is not None and not session.dirty:
            self.autosave.discard(session.case_id)
        if session is self.session:
            self.review_panel.refresh_sources()
        self.refresh_worklist()
        self.update_actions()
        self.say(message)

    # ---- segmentation (see legseg_gui.app.segment_runs) ---------------------------------------------------

    @property
    def segmentation(self) -> ProgressWorker | None:
        """The worker of the latest segmentation (running or ended), or None."""
        return self.segment_runs.worker

    def segment(self) -> ProgressWorker | None:
        """Segment the open scan with the chosen model, off the UI thread; the result is saved as predicted."""
        return self.segment_runs.segment_open_case()

    def segment_new_cases(self) -> ProgressWorker | None:
        """Segment every new case of the store; the worklist is then sorted by expected correction effort."""
        return self.segment_runs.segment_new_cases()

    # ---- state of the actions ----------------------------------------------------------------------------

    def update_actions(self) -> None:
        """Enable what can be done now (a case is open, edits are unsaved, no segmentation runs)."""
        has_case = self.session is not None
        busy = self.segment_runs.running or self.saving_running
        dirty = has_case and self.session.dirty  # type: ignore[union-attr]
        self.segment_panel.set_ready(has_case and not busy, not busy and self._new_cases > 0)
        for name, enabled in (("accept", has_case and not busy), ("save", dirty and not busy)):
            action = getattr(self, "actions", {}).get(name)
            if action is not None:
                action.setEnabled(bool(enabled))

    # ---- closing -----------------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.headless:  # nobody to ask: unsaved edits are neither saved nor autosaved, the store stays as it was
            self.finetune_panel.shutdown()
            self.segment_runs.cancel_and_wait(10.0)
            self.autosave.stop()
            event.accept()
            return
        if not self.confirm_unsaved("close LegSeg"):
            event.ignore()
            return
        if self.finetune_panel.running and self.ask(
                "Fine-tuning runs", "Fine-tuning is still running. Stop it and close?", (DISCARD, CANCEL),
                CANCEL) == CANCEL:
            event.ignore()
            return
        self.finetune_panel.shutdown()
        self.adapt_panel.shutdown()
        self.segment_runs.cancel_and_wait(10.0)
        if self.opening is not None and self.opening.running:
            self.opening.cancel_and_wait(10.0)  # the case read meanwhile is not shown
        if self.saving is not None and self.saving_running:
            self.saving.wait(30.0)  # a save is not cancelled half-way: the store write ends first
        self.autosave.follow(None)
        event.accept()


def _role(choice: str) -> QMessageBox.ButtonRole:
    return {SAVE: QMessageBox.ButtonRole.AcceptRole, RESTORE: QMessageBox.ButtonRole.AcceptRole,
            DISCARD: QMessageBox.ButtonRole.DestructiveRole, CANCEL: QMessageBox.ButtonRole.RejectRole,
            LATER: QMessageBox.ButtonRole.RejectRole}.get(choice, QMessageBox.ButtonRole.ActionRole)
