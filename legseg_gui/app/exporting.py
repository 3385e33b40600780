"""File > Export: the open case's current labels as DICOM SEG, ITK-SNAP, 3D Slicer or BIDS files.

The labels exported are the ones shown (the editor's, with unsaved edits). The case's scan in
the store is NIfTI, so a DICOM SEG names the DICOM series the case was read from; the window
asks for that folder. Errors are reported by the window, one line naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from legseg_core.errors import LegsegError
from legseg_core.export import EXPORT_FORMATS, FORMAT_TITLES


def export_case(window: Any, fmt: str, folder: str | Path, *, reference_dicom: str | Path | None = None) -> list[Path]:
    """Export the open case's labels in ``fmt`` into ``folder``; the files written ([] on an error, reported)."""
    from legseg_core.export import export_labels

    session = window.session
    if session is None:
        window.report_error("open a case before exporting its labels")
        return []
    try:
        files = export_labels(fmt, session.editor.labels, session.image, folder, session.case_id,
                              reference_dicom=reference_dicom, model=session.base_version or "")
    except LegsegError as error:
        window.report_error(str(error))
        return []
    window.say(f"exported {session.case_id} as {FORMAT_TITLES[fmt]}: {', '.join(p.name for p in files)}")
    return files


def choose_and_export(window: Any, fmt: str) -> list[Path]:
    """Ask for the export folder (and, for DICOM SEG, the case's DICOM series), then export."""
    from qtpy.QtWidgets import QFileDialog

    if window.session is None:
        window.report_error("open a case before exporting its labels")
        return []
    reference = None
    if fmt == "dicom-seg":
        reference = QFileDialog.getExistingDirectory(window, f"The DICOM series {window.session.case_id} was read from")
        if not reference:
            return []
    folder = QFileDialog.getExistingDirectory(window, f"Export as {FORMAT_TITLES[fmt]} into")
    return export_case(window, fmt, folder, reference_dicom=reference) if folder else []


def add_export_menu(window: Any, files: Any, add: Any) -> None:
    """The File > Export submenu: one entry per format."""
    menu = files.addMenu("&Export labels")
    for fmt in EXPORT_FORMATS:
        add(menu, f"export_{fmt}", f"{FORMAT_TITLES[fmt]}…", lambda fmt=fmt: choose_and_export(window, fmt), None,
            f"write the open case's labels as {FORMAT_TITLES[fmt]}")
