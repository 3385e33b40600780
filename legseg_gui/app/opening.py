"""Opening scans from files: read a NIfTI file or DICOM folder, ask what it is, add it to the store.

Reading runs off the UI thread (a DICOM folder may take a while); the metadata dialog and the
store write follow on the UI thread. A scan that is in the store already is not added twice:
its case is opened. Label files given with a scan open as unsaved edits of that case.

Label files from other tools go through a label scheme (:mod:`legseg_core.io.relabel`): given
(``relabel``, as ``legseg app --relabel``), or, when a file holds values outside 0..7 and none was
given, chosen in :class:`~legseg_gui.label_scheme_dialog.LabelSchemeDialog` (headless, such a
file is refused with the message that names ``--relabel``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from legseg_core.errors import LegsegError
from legseg_core.io import Volume, labels_from_volume, load_volume
from legseg_core.io.relabel import needs_scheme
from legseg_core.store import CaseMetadata, DuplicateCaseError
from legseg_core.store.provenance import label_file_provenance
from legseg_gui.app.metadata import metadata_defaults
from legseg_gui.worker import ProgressWorker

log = logging.getLogger(__name__)

SCAN_FILTER = "NIfTI images (*.nii *.nii.gz);;All files (*)"


def ask_metadata(window: Any, volume: Volume, path: Path) -> CaseMetadata | None:
    """The metadata dialog, started from the file's defaults; None when cancelled."""
    from legseg_gui.app.metadata_dialog import CaseMetadataDialog

    dialog = CaseMetadataDialog(metadata_defaults(volume, path), source=path.name, parent=window)
    return dialog.metadata() if dialog.exec() else None


def add_scan(window: Any, path: Path, volume: Volume, *, metadata: CaseMetadata | None = None) -> str | None:
    """Add a read scan to the window's store (asking for its metadata unless given); its case id, or None."""
    if metadata is None:
        metadata = metadata_defaults(volume, path) if window.headless else ask_metadata(window, volume, path)
        if metadata is None:
            window.say(f"{path.name} was not added")
            return None
    try:
        case = window.store.add_case(volume, metadata=metadata, source_name=path.name, author=window.author)
    except DuplicateCaseError as error:
        window.say(f"{path.name} is in the store already as {error.case_id}")
        return error.case_id
    window.refresh_worklist()
    window.say(f"added {path.name} as {case.id} ({case.metadata.contrast}, {case.metadata.health})")
    return case.id


def open_scan(window: Any, path: str | Path, *, labels: str | Path | None = None,
              metadata: CaseMetadata | None = None, background: bool = True,
              relabel: str | None = None) -> ProgressWorker | None:
    """Open a scan file or DICOM folder: read it, add it to the store, open its case (with labels as edits).

    ``background`` reads on a worker thread (the interactive menus); otherwise reading happens
    now (start-up options). Errors are reported by the window.
    """
    path = Path(path).expanduser()

    def finish(volume: Volume) -> None:
        case_id = add_scan(window, path, volume, metadata=metadata)
        if case_id is not None and window.open_case(case_id) and labels is not None:
            import_labels(window, Path(labels), relabel=relabel)

    if not background:
        try:
            finish(load_volume(path))
        except LegsegError as error:
            window.report_error(str(error))
        return None
    worker = ProgressWorker.call(load_volume, path, what=f"reading {path.name}")
    worker.finished.connect(finish)
    worker.errored.connect(window.report_error)
    window.say(f"reading {path}…")
    return worker.start()


def read_label_file(window: Any, path: Path, *, relabel: str | None = None) -> Volume | None:
    """The label Volume of a file on the open scan's grid (uint8 ``[z, y, x]``), through ``relabel``, else through
    the scheme the user picks when its values are not the muscle ids; None when cancelled or refused (reported)."""
    try:
        volume = load_volume(path)
        if relabel is None and needs_scheme(volume.data) and not window.headless:
            relabel = choose_label_scheme(window, path, volume.data)
            if relabel is None:
                window.say(f"{path.name} was not loaded: its values need a label scheme")
                return None
        return labels_from_volume(volume, path, window.session.image, relabel=relabel)
    except LegsegError as error:
        window.report_error(str(error))
        return None


def choose_label_scheme(window: Any, path: Path, data: Any) -> str | None:
    """Ask which label scheme maps a file's values onto the muscle ids; its ``--relabel`` value, or None."""
    import numpy as np

    from legseg_gui.label_scheme_dialog import ask_label_scheme

    return ask_label_scheme(path.name, np.unique(data), window)


def import_labels(window: Any, path: Path, *, relabel: str | None = None) -> bool:
    """Put a label file (on the open scan's grid) into the editor as unsaved edits; saved, they keep the
    file's provenance (``predicted:<model>`` for a ``legseg segment`` output, else ``imported:<name>``)."""
    session = window.session
    if session is None:
        window.report_error(f"open a scan before its labels {path}")
        return False
    labels = read_label_file(window, path, relabel=relabel)
    if labels is None:
        return False
    provenance = label_file_provenance(labels, path)
    session.load_labels_file(labels.data, provenance)
    window.say(f"labels from {path.name} loaded as unsaved edits ({provenance})")
    return True
    return True


def add_reference_file(window: Any, path: Path, *, relabel: str | None = None) -> str | None:
    """Offer a label file as a reference in the review panel (not stored); returns its key."""
    session = window.session
    if session is None:
        window.report_error(f"open a scan before the reference labels {path}")
        return None
    labels = read_label_file(window, path, relabel=relabel)
    return None if labels is None else session.add_label_file(path.name, labels.data)
