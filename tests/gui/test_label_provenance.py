"""The application keeps a label file's provenance; only its own edits are corrections; `--quit` writes nothing."""

from __future__ import annotations

import numpy as np

from legseg_core.io import save_image, save_labels
from legseg_core.store import Store
from legseg_core.store.provenance import prediction_description
from legseg_gui.app.session import CaseSession
from tests.gui.app_helpers import store_with_case, tiny_phantom
from tests.gui.test_app_screenshot import legseg


def test_a_predicted_file_saved_unchanged_stays_predicted_and_an_edit_is_its_correction(tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store", labelled=False)
    session = CaseSession.open(store, case_id)
    predicted = tiny_phantom(1).labels.data
    session.load_labels_file(predicted, "predicted:unet-lite-starter")
    kept = session.save_draft(author="reader")
    assert kept.provenance == "predicted:unet-lite-starter" and not session.dirty
    session.load_labels_file(predicted, "imported:other.nii.gz")
    session.editor.paint(3, (10, 10), radius=1, label=2)
    accepted = session.accept(author="reader")
    imported, corrected = store.history(case_id)[-2:]
    assert imported.provenance == "imported:other.nii.gz" and imported.note == "loaded from a file"
    assert accepted.id == corrected.id and corrected.provenance == f"corrected:{imported.id}"
    assert corrected.edits.changed_voxels > 0
    np.testing.assert_array_equal(store.load_labels(imported.id), predicted)


def test_a_headless_quit_with_a_prediction_file_writes_no_label_version(tmp_path) -> None:
    phantom = tiny_phantom(seed=3)
    image = phantom.images["t1w"]
    scan = save_image(image.data, image, tmp_path / "calf.nii.gz")
    prediction = save_labels(phantom.labels.data, image, tmp_path / "pred.nii.gz",
                             description=prediction_description("unet-lite-starter"))
    result = legseg("app", "--store", str(tmp_path / "store"), "--open", str(scan), "--labels", str(prediction),
                    "--screenshot", str(tmp_path / "shot.png"), "--quit")
    assert result.returncode == 0, result.stderr[-3000:]
    with Store.open(tmp_path / "store") as store:
        [case] = store.cases()
        assert store.history(case.id) == [] and case.status == "new"
        assert not any((tmp_path / "store").rglob("*.npz"))
