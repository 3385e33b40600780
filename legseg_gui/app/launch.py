"""Starting the application: options, the window, opening a case or scan, and headless screenshots.

``legseg app --open SCAN --screenshot OUT.png --quit`` lets a machine without a display check
what the window shows: Qt runs on the offscreen platform, the window is rendered at a fixed
size, saved as ``OUT.png``, and ``OUT.json`` beside it says where the slice lies in the
picture (``image_rect``: x, y, width, height in pixels of the whole slice), which slice it is,
the overlay and its opacity, so a test can look up the colour of any voxel.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legseg_core.errors import InputPathError, LegsegError

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 900)


@dataclass(frozen=True)
class AppOptions:
    """What ``legseg app`` was asked to do (see ``legseg app --help``)."""

    store: str | None = None
    open: str | None = None
    labels: str | None = None
    reference: str | None = None
    relabel: str | None = None
    overlay: str | None = None
    slice: int | None = None
    panel: str | None = None
    screenshot: str | None = None
    quit: bool = False
    size: tuple[int, int] = DEFAULT_SIZE


def use_offscreen_if_headless(options: AppOptions) -> None:
    """Without a display, or with ``--quit``, draw offscreen (must run before the QApplication exists)."""
    no_display = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if options.quit or no_display:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def create_window(options: AppOptions) -> Any:
    """The QApplication (if none yet) and a shown main window on the store, with the options applied."""
    use_offscreen_if_headless(options)
    from qtpy.QtWidgets import QApplication

    from legseg_core.store import Store
    from legseg_gui.app.main_window import MainWindowWidget

    application = QApplication.instance() or QApplication(sys.argv[:1])
    application.setApplicationName("LegSeg")
    window = MainWindowWidget(Store.open(options.store, create=True))
    window.headless = options.quit
    window.resize(*options.size)
    window.show()
    if options.open:
        open_initial(window, options)
    if options.overlay:
        window.view.view_state.overlay = options.overlay
    if options.slice is not None:
        window.view.view_state.z = options.slice
    if options.panel:
        window.show_panel(options.panel)
    return window


def open_initial(window: Any, options: AppOptions) -> None:
    """Open ``--open`` (a case id of the store, or a scan file or DICOM folder) with its label options."""
    from legseg_gui.app.opening import add_reference_file, import_labels, open_scan

    target = str(options.open)
    known = {case.id for case in window.store.cases()}
    if target in known:
        window.open_case(target)
        if options.labels:
            import_labels(window, Path(options.labels), relabel=options.relabel)
    elif Path(target).expanduser().exists():
        open_scan(window, target, labels=options.labels, background=False, relabel=options.relabel)
    else:
        raise InputPathError(f"--open {target}: neither a case of the store {window.store.root} nor a scan file "
                             "or DICOM folder")
    if options.reference and window.session is not None:
        key = add_reference_file(window, Path(options.reference), relabel=options.relabel)
        if key is not None:
            window.review_panel.refresh_sources(key, "edit")


def settle(window: Any, rounds: int = 5) -> None:
    """Let Qt lay out and render the window (layouts, deferred renders) before a screenshot."""
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
    window.view.refresh()
    QApplication.processEvents()


def screenshot(window: Any, path: str | Path) -> Path:
    """Save the window as a PNG and, beside it, a JSON description of where the slice is shown."""
    settle(window)
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = window.grab()
    if not picture.save(str(path), "PNG"):
        raise InputPathError(f"cannot write the screenshot {path}")
    path.with_suffix(".json").write_text(json.dumps(view_description(window), indent=2), encoding="utf-8")
    return path


def view_description(window: Any) -> dict[str, Any]:
    """Where the shown slice lies in the window (pixels), and what is shown."""
    canvas = window.view.canvas
    rect = canvas.mapFromScene(canvas.image_rect()).boundingRect()
    origin = canvas.viewport().mapTo(window, rect.topLeft())
    state = window.view.view_state
    session = window.session
    return {"image_rect": [origin.x(), origin.y(), rect.width(), rect.height()], "slice": state.z,
            "overlay": state.overlay, "opacity": state.opacity, "outline": state.outline,
            "window_level": list(state.window), "case_id": session.case_id if session else None,
            "shape": list(session.image.shape) if session else None,
            "window_size": [window.width(), window.height()]}


def run_app(options: AppOptions, *, announce: Callable[[str], Any] | None = None) -> int:
    """Run the application until its window closes (or at once with ``quit``); the exit status.

    ``announce`` receives one line per file written (the screenshot)."""
    from qtpy.QtWidgets import QApplication

    from legseg_gui.worker import shutdown_workers

    try:
        window = create_window(options)
        if options.screenshot:
            written = screenshot(window, options.screenshot)
            if announce is not None:
                announce(f"screenshot: {written} (view: {written.with_suffix('.json')})")
        if options.quit:
            window.close()
            if window.errors:
                raise LegsegError("; ".join(window.errors))
            return 0
        window.offer_recovery_at_start()
        return int(QApplication.instance().exec())
    finally:
        shutdown_workers()  # no worker thread may outlive the interpreter
