"""The application's menus and shortcuts: File (open, save, accept, quit), View, Cases, Help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import QFileDialog, QMessageBox

from legseg_core import __version__
from legseg_gui.app.exporting import add_export_menu
from legseg_gui.app.opening import SCAN_FILTER, add_reference_file, choose_label_scheme, import_labels, open_scan


def build_menus(window: Any) -> dict[str, QAction]:
    """Create the menus of a :class:`~legseg_gui.app.main_window.MainWindowWidget`; returns its actions by name."""
    actions: dict[str, QAction] = {}

    def add(menu: Any, name: str, text: str, slot: Any, shortcut: str | QKeySequence | None = None,
            tip: str = "") -> QAction:
        action = QAction(text, window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(lambda *_: slot())
        menu.addAction(action)
        actions[name] = action
        return action

    bar = window.menuBar()
    _file_menu(window, bar.addMenu("&File"), add)
    _view_menu(window, bar.addMenu("&View"), add)
    cases = bar.addMenu("&Cases")
    add(cases, "refresh", "&Refresh worklist", window.refresh_worklist, QKeySequence.StandardKey.Refresh)
    add(cases, "most_effort", "Sort by expected correction &effort (highest first)",
        lambda: window.worklist.sort_by("effort", descending=True))
    add(cases, "most_uncertain", "Sort by &uncertainty (highest first)",
        lambda: window.worklist.sort_by("uncertainty", descending=True))
    help_menu = bar.addMenu("&Help")
    add(help_menu, "controls", "&Controls…", lambda: _show_controls(window), None,
        "every mouse and key binding of the image view")
    add(help_menu, "controls_overlay", "Controls over the &image", window.view.controls_overlay.toggle, "F1",
        "show or hide the list of bindings over the image")
    add(help_menu, "about", "&About LegSeg", lambda: QMessageBox.about(
        window, "About LegSeg", f"LegSeg {__version__}\nSegmentation of the seven lower-leg muscles in 3D MRI.\n"
                                f"Store: {window.store.root}"))
    return actions


def _show_controls(window: Any) -> None:
    from legseg_gui.controls_help import ControlsDialog

    window.controls_dialog = ControlsDialog(window)
    window.controls_dialog.show()


def _file_menu(window: Any, files: Any, add: Any) -> None:
    add(files, "open", "&Open NIfTI scan…", lambda: _choose_scan(window), QKeySequence.StandardKey.Open,
        "add a NIfTI scan to the store and open it")
    add(files, "open_dicom", "Open &DICOM folder…", lambda: _choose_dicom(window), "Ctrl+Shift+O",
        "add a DICOM series to the store and open it")
    add(files, "import_labels", "Load &labels into the editor…", lambda: _choose_labels(window), None,
        "load a label file on the open scan's grid as unsaved edits")
    add(files, "import_foreign_labels", "Load labels from &another tool…", lambda: _choose_labels(window, True), None,
        "load another tool's label file through a label scheme (built-in, label description file or pairs)")
    add(files, "reference", "Add a &reference label file…", lambda: _choose_reference(window), None,
        "compare against a label file in the review panel")
    files.addSeparator()
    add(files, "save", "&Save draft version", window.save_draft_in_background, QKeySequence.StandardKey.Save,
        "store the edits as a new label version without accepting it")
    add(files, "accept", "&Accept", window.accept_case, "Ctrl+Return",
        "store the labels as a version (if changed) and mark the case accepted")
    files.addSeparator()
    add_export_menu(window, files, add)
    files.addSeparator()
    add(files, "quit", "&Quit", window.close, QKeySequence.StandardKey.Quit)


def _view_menu(window: Any, view: Any, add: Any) -> None:
    state = window.view.view_state
    for overlay, text, key in (("labels", "&Labels overlay", "L"), ("overlap", "&Overlap map", "M"),
                               ("none", "&No overlay", "N")):
        add(view, f"overlay_{overlay}", text, lambda overlay=overlay: setattr(state, "overlay", overlay), f"Ctrl+{key}")
    add(view, "outline", "Toggle &outline", lambda: setattr(state, "outline", not state.outline), "Ctrl+U")


def _choose_scan(window: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open a scan", "", SCAN_FILTER)
    if path and window.confirm_unsaved("open another scan"):
        open_scan(window, path)


def _choose_dicom(window: Any) -> None:
    path = QFileDialog.getExistingDirectory(window, "Open a DICOM folder")
    if path and window.confirm_unsaved("open another scan"):
        open_scan(window, path)


def _choose_labels(window: Any, with_scheme: bool = False) -> None:
    """Load a label file into the editor; ``with_scheme`` asks for its label scheme first, whatever its values."""
    path, _ = QFileDialog.getOpenFileName(window, "Load labels", "", SCAN_FILTER)
    if not path:
        return
    relabel = None
    if with_scheme and window.session is not None:
        from legseg_core.errors import LegsegError
        from legseg_core.io import load_volume

        try:
            relabel = choose_label_scheme(window, Path(path), load_volume(path).data)
        except LegsegError as error:
            window.report_error(str(error))
            return
        if relabel is None:
            return
    import_labels(window, Path(path), relabel=relabel)


def _choose_reference(window: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Reference labels", "", SCAN_FILTER)
    if path:
        key = add_reference_file(window, Path(path))
        if key is not None:
            window.review_panel.refresh_sources(key, None)
