"""Label schemes in the application: another tool's label file is offered the schemes instead of failing,
``--relabel`` maps it up front, and the scheme dialog accepts only a scheme that maps every value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qtpy.QtWidgets import QDialog

from legseg_gui.app.opening import add_reference_file, import_labels
from legseg_gui.label_scheme_dialog import FROM_FILE, FROM_PAIRS, LabelSchemeDialog
from tests.gui.app_helpers import make_window

QMRITOOLS_VALUES = [0, *range(13, 27)]


@pytest.fixture
def real_window(qtbot, tmp_path, real_data: Path):
    """The application with the real diffusion scan open (a case of a new store)."""
    from legseg_core.io import load_volume
    from legseg_core.store import Store

    store = Store.init(tmp_path / "store")
    case = store.add_case(load_volume(real_data / "dwi_mean.nii.gz"), contrast="dwi", health="healthy")
    window = make_window(qtbot, store)
    window.open_case(case.id)
    return window


def pick(kind: str, text: str = ""):
    """A stand-in for the dialog's exec: choose a scheme and press OK (the dialog's own check applies)."""
    def exec_(dialog: LabelSchemeDialog) -> int:
        dialog.choose(kind, text)
        dialog.accept()
        return dialog.result()
    return exec_


def test_a_qmritools_file_is_offered_the_schemes_and_loads_with_the_one_that_fits(
        real_window, real_data: Path, real_case, monkeypatch: pytest.MonkeyPatch) -> None:
    offered = []

    def exec_(dialog: LabelSchemeDialog) -> int:
        offered.append((dialog.kind, dialog.values, dialog.message.text()))
        dialog.accept()  # OK on what the dialog proposes
        return dialog.result()

    monkeypatch.setattr(LabelSchemeDialog, "exec", exec_)
    assert import_labels(real_window, real_data / "labels.nii.gz")
    assert offered == [("qmritools-calf", QMRITOOLS_VALUES, "qmritools-calf maps every value of the file")]
    _, expected, _ = real_case
    np.testing.assert_array_equal(real_window.session.editor.labels, expected.data)
    assert real_window.session.dirty


def test_typed_pairs_map_a_file_and_a_cancel_leaves_the_labels_alone(
        real_window, real_data: Path, real_case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LabelSchemeDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    assert not import_labels(real_window, real_data / "labels.nii.gz")
    assert not real_window.session.editor.labels.any() and not real_window.session.dirty
    pairs = ",".join(f"{value}=TA" if value in (19, 20) else f"{value}=0" for value in QMRITOOLS_VALUES[1:])
    monkeypatch.setattr(LabelSchemeDialog, "exec", pick(FROM_PAIRS, pairs))
    key = add_reference_file(real_window, real_data / "labels.nii.gz")
    _, expected, _ = real_case
    np.testing.assert_array_equal(real_window.session.labels_of(key), np.where(expected.data == 4, 4, 0))


def test_headless_a_foreign_file_is_refused_unless_relabel_names_a_scheme(
        real_window, real_data: Path, real_case) -> None:
    reported = []
    real_window.report_error = reported.append
    real_window.headless = True
    assert not import_labels(real_window, real_data / "labels.nii.gz")
    assert reported and "labels.nii.gz: label values must lie in 0..7, found 0..26" in reported[0]
    assert "--relabel qmritools-calf covers these values" in reported[0]
    assert import_labels(real_window, real_data / "labels.nii.gz", relabel="qmritools-calf")
    np.testing.assert_array_equal(real_window.session.editor.labels, real_case[1].data)


def test_the_dialog_accepts_only_a_scheme_that_maps_every_value(qtbot, tmp_path: Path) -> None:
    dialog = LabelSchemeDialog("other.nii.gz", np.array([0, 1, 2, 30]))
    qtbot.addWidget(dialog)
    assert dialog.kind == FROM_PAIRS  # no built-in scheme covers 30
    dialog.choose(FROM_PAIRS, "1=GL,2=GM")
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and "values 30" in dialog.message.text()
    dialog.choose(FROM_PAIRS, "1=GL,2=GM,30=calf")
    dialog.accept()
    assert "'calf' is not a muscle id 0..7 or a muscle name" in dialog.message.text()
    descriptions = tmp_path / "dafne.txt"
    descriptions.write_text('0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 "LG"\n2 0 255 0 1 1 1 "MG"\n'
                            '30 0 0 255 1 1 1 "SOL"\n', encoding="utf-8")
    dialog.choose(FROM_FILE, str(descriptions))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.spec() == str(descriptions)


def test_legseg_app_relabel_option_maps_labels_and_reference(real_window, real_data: Path, real_case) -> None:
    from legseg_gui.app.launch import AppOptions, open_initial

    real_window.headless = True
    labels = str(real_data / "labels.nii.gz")
    open_initial(real_window, AppOptions(open=real_window.session.case_id, labels=labels, reference=labels,
                                         relabel="qmritools-calf"))
    np.testing.assert_array_equal(real_window.session.editor.labels, real_case[1].data)
    assert real_window.review_panel.reference_key == "file:labels.nii.gz"
    assert real_window.review_panel.dice_text("mean") == "1.000"
    assert real_window.review_panel.dice_text("mean", "left") == "1.000"
