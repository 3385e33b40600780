"""The open case of the application: provenance of saved versions, accept, review defaults, metadata guesses."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.errors import ImageShapeError, ImageValueError, StoreError
from legseg_core.io import Volume
from legseg_core.store import Store
from legseg_gui.app.metadata import guess_contrast, metadata_defaults
from legseg_core.review.session import EDIT, CaseSession, default_review_pair, provenance_reference
from tests.gui.app_helpers import store_with_case


@pytest.fixture
def labelled(tmp_path) -> tuple[Store, str]:
    return store_with_case(tmp_path / "store")


def test_a_case_opens_on_its_newest_version_and_accepting_it_unchanged_writes_nothing(labelled) -> None:
    store, case_id = labelled
    session = CaseSession.open(store, case_id)
    base = store.case(case_id).latest_version
    assert session.base_version == base and not session.dirty
    assert np.array_equal(session.editor.labels, store.load_labels(base))
    version = session.accept(author="reader")
    assert version.id == base and len(store.history(case_id)) == 1
    assert store.case(case_id).status == "accepted" and store.case(case_id).accepted_version == base


def test_accepting_edits_writes_a_correction_of_the_base_with_its_author(labelled) -> None:
    store, case_id = labelled
    session = CaseSession.open(store, case_id)
    base = session.base_version
    session.editor.paint(10, (3, 3), radius=2, label=3)  # a corner: background
    assert session.dirty
    version = session.accept(author="reader")
    assert version.provenance == f"corrected:{base}" and version.parent_id == base and version.author == "reader"
    assert version.edits.changed_voxels > 0 and version.edits.slices_touched == (10,)
    assert np.array_equal(store.load_labels(version.id), session.editor.labels)
    assert store.case(case_id).accepted_version == version.id and not session.dirty
    assert session.base_version == version.id


def test_a_prediction_is_saved_as_predicted_with_its_uncertainty_and_becomes_the_base(tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store", labelled=False)
    session = CaseSession.open(store, case_id)
    assert session.base_version is None and not session.editor.labels.any()
    labels = np.zeros(session.image.shape, np.uint8)
    labels[5:8, 20:30, 20:30] = 4
    version = session.save_prediction(labels, "model-abc/unet lite", uncertainty_score=0.25)
    assert version.provenance == "predicted:model-abc-unet-lite"
    assert session.base_version == version.id and not session.dirty
    assert np.array_equal(session.editor.labels, labels)
    case = store.case(case_id)
    assert case.metadata.extra["uncertainty_score"] == 0.25 and case.status == "in_review"
    assert session.default_review_pair() == (EDIT, version.id)


def test_drawing_from_scratch_is_manual_and_empty_labels_cannot_be_accepted(tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store", labelled=False)
    session = CaseSession.open(store, case_id)
    with pytest.raises(StoreError, match="no labels to accept"):
        session.accept()
    session.editor.paint(3, (10, 10), radius=1, label=2)
    draft = session.save_draft(author="reader")
    assert draft.provenance == "manual" and store.case(case_id).status == "in_review"
    assert session.save_draft() is None


def test_labels_from_outside_the_store_are_unsaved_edits_and_undo_removes_them(labelled) -> None:
    store, case_id = labelled
    case = store.case(case_id)
    outside = np.zeros(case.shape, np.uint8)
    outside[2, 3:6, 3:6] = 7
    session = CaseSession(store, case, store.load_image(case_id), base_version=case.latest_version, labels=outside)
    assert session.dirty and np.array_equal(session.editor.labels, outside)
    session.editor.undo()
    assert not session.dirty and np.array_equal(session.editor.labels, store.load_labels(case.latest_version))


def test_replace_all_refuses_labels_of_another_shape_or_out_of_range(labelled) -> None:
    session = CaseSession.open(*labelled)
    with pytest.raises(ImageShapeError, match="do not fit the label map"):
        session.editor.replace_all(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ImageValueError, match=r"must lie in 0..7, found 0..9"):
        session.editor.replace_all(np.full(session.editor.shape, 9, np.int16).clip(0, 9) * (np.arange(
            session.editor.shape[2]) % 2))
    assert session.editor.replace_all(session.editor.labels.copy()) is None


def test_the_review_defaults_compare_a_manual_version_with_the_edit(labelled) -> None:
    store, case_id = labelled
    synthetic = store.case(case_id).latest_version
    session = CaseSession.open(store, case_id)
    prediction = session.save_prediction(np.zeros(session.image.shape, np.uint8), "tiny")
    assert session.default_review_pair() == (synthetic, EDIT)
    keys = [source.key for source in session.label_sources()]
    assert keys == [EDIT, prediction.id, synthetic]
    assert not session.labels_of(synthetic).flags.writeable and session.labels_of(EDIT) is session.editor.labels
    file_key = session.add_label_file("manual.nii.gz", store.load_labels(synthetic))
    assert file_key in [source.key for source in session.label_sources()]


def test_default_review_pair_without_versions_compares_the_edit_with_itself() -> None:
    assert default_review_pair([], None) == (EDIT, EDIT)


@pytest.mark.parametrize("name, expected", [("model-1a2b", "model-1a2b"), ("my model (v2)", "my-model-v2"),
                                            ("***", "model"), ("x" * 150, "x" * 100)])
def test_provenance_reference_keeps_safe_characters(name: str, expected: str) -> None:
    assert provenance_reference(name) == expected


@pytest.mark.parametrize("texts, expected", [(("mDIXON W",), "dixon_water"), (("Dixon_fat",), "dixon_fat"),
                                             (("t1_tse_tra",), "t1w"), (("ep2d_diff_DWI",), "diffusion"),
                                             (("", "calf_T2_map.nii.gz"), "t2w"), (("localizer",), "unknown")])
def test_the_contrast_is_guessed_from_descriptions_and_file_names(texts, expected) -> None:
    assert guess_contrast(*texts) == expected


def test_metadata_defaults_take_the_technical_dicom_attributes() -> None:
    volume = Volume.from_array(np.zeros((4, 8, 8), np.float32), (5.0, 1.0, 1.0), SeriesDescription="T1 TSE axial",
                               ProtocolName="calf_t1", Manufacturer="Siemens", ManufacturerModelName="Prisma",
                               MagneticFieldStrength=3.0)
    defaults = metadata_defaults(volume, "scan.nii.gz")
    assert (defaults.contrast, defaults.protocol, defaults.scanner, defaults.health) == \
        ("t1w", "calf_t1", "Siemens Prisma 3 T", "unknown")
