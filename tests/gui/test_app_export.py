"""File > Export writes the open case's labels (with unsaved edits) in the chosen format."""

from __future__ import annotations

import numpy as np

from legseg_core.io import load_volume
from legseg_gui.app.exporting import export_case
from tests.gui.app_helpers import make_window, store_with_case


def test_file_export_writes_the_labels_shown_and_lists_every_format(qtbot, tmp_path) -> None:
    import nrrd

    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    assert {f"export_{fmt}" for fmt in ("dicom-seg", "itksnap", "slicer", "bids")} <= set(window.actions)
    window.open_case(case_id)
    window.session.editor.labels[0, 0, 0] = 5  # an unsaved edit is exported too
    [path] = export_case(window, "slicer", tmp_path / "out")
    data, header = nrrd.read(str(path))
    np.testing.assert_array_equal(data.transpose(2, 1, 0), window.session.editor.labels)
    assert header["Segment0_Name"] == "GL gastrocnemius lateralis"
    bids = export_case(window, "bids", tmp_path / "bids")
    np.testing.assert_array_equal(load_volume(bids[1]).data, window.session.editor.labels)


def test_dicom_seg_of_a_case_without_its_dicom_series_is_reported_in_one_line(qtbot, tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    errors: list[str] = []
    window.report_error = errors.append
    window.open_case(case_id)
    assert export_case(window, "dicom-seg", tmp_path / "out") == []
    assert len(errors) == 1 and "\n" not in errors[0] and "DICOM SEG needs the DICOM series" in errors[0]
