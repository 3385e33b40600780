"""The review workflow of legseg_core.review, without a window: accept with provenance, unsaved edits."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.errors import StoreError
from legseg_core.io import Volume
from legseg_core.review import AcceptRequest, AcceptResult, accept_request
from legseg_core.review.unsaved import UnsavedEdits
from legseg_core.store import CaseMetadata, Store


@pytest.fixture
def scan() -> Volume:
    rng = np.random.default_rng(3)
    return Volume.from_array(rng.random((6, 24, 32), dtype=np.float32) * 100, (4.0, 1.0, 1.0), name="calf")


def predicted_and_corrected(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    prediction = np.zeros(shape, np.uint8)
    prediction[1:5, 5:15, 5:15] = 3
    corrected = prediction.copy()
    corrected[2, 5:8, 5:8] = 4
    return prediction, corrected


def test_a_new_scan_its_prediction_and_the_correction_are_stored_and_accepted(tmp_path, scan) -> None:
    store = Store.init(tmp_path / "store")
    prediction, corrected = predicted_and_corrected(scan.shape)
    request = AcceptRequest(labels=corrected, image=scan, prediction=prediction, model="my net (v2)",
                            metadata=CaseMetadata(contrast="t1w"), author="reader", note="checked")
    result = accept_request(store, request)
    assert isinstance(result, AcceptResult) and result.case_added and result.store_root == store.root
    assert result.predicted.provenance == "predicted:my-net-v2"
    assert result.accepted.provenance == f"corrected:{result.predicted.id}" and result.accepted.author == "reader"
    assert result.accepted.edits.changed_voxels == 9 and result.accepted.edits.slices_touched == (2,)
    assert store.case(result.case_id).accepted_version == result.accepted.id
    assert "added to the store and accepted" in result.summary()
    again = accept_request(store, AcceptRequest(labels=corrected, image=scan))  # same scan: found by checksum
    assert again.case_id == result.case_id and not again.case_added


def test_unchanged_labels_accept_their_base_and_empty_labels_are_refused(tmp_path, scan) -> None:
    store = Store.init(tmp_path / "store")
    case = store.add_case(scan, contrast="t1w")
    prediction, _ = predicted_and_corrected(scan.shape)
    base = store.add_label_version(case.id, prediction, provenance="predicted:net")
    result = accept_request(store, AcceptRequest(labels=prediction, case_id=case.id, base_version=base.id,
                                                 unchanged=True))
    assert result.accepted.id == base.id and len(store.history(case.id)) == 1 and not result.case_added
    with pytest.raises(StoreError, match="no labels to accept"):
        accept_request(store, AcceptRequest(labels=np.zeros(scan.shape, np.uint8), case_id=case.id))


def test_unsaved_edits_are_pending_until_autosaved_at_their_latest_edit() -> None:
    edits = UnsavedEdits()
    assert edits.pending() == [] and "a" not in edits
    edits.edited("a")
    count = edits.edited("a")
    edits.edited("b")
    assert edits.pending() == ["a", "b"] and len(edits) == 2
    edits.autosaved("a", count - 1)  # autosaved before the last edit: still pending
    assert "a" in edits
    edits.autosaved("a")
    edits.forget("b")
    assert edits.pending() == [] and edits.edit_count("b") == 0
