"""Segmenting in the application with a tiny model: off the UI thread, saved as predicted, corrected, accepted."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.review.session import EDIT
from tests.gui.app_helpers import TimerGaps, background_row, drag, make_window, store_with_case, tiny_model_file


@pytest.fixture
def unlabelled(tmp_path):
    store, case_id = store_with_case(tmp_path / "store", labelled=False)
    return store, case_id, tiny_model_file(tmp_path / "tiny-unet.pt")


def start_segmentation(qtbot, window, model_file) -> None:
    window.segment_panel.picker.add_model_file(model_file)
    window.segment_panel.picker.set_device("cpu")
    window.segment_panel.segment_button.click()


def test_segment_paint_undo_accept_with_a_tiny_model_while_the_window_stays_responsive(qtbot, unlabelled) -> None:
    store, case_id, model_file = unlabelled
    window = make_window(qtbot, store)
    window.open_case(case_id)
    gaps = TimerGaps().start()
    with qtbot.waitSignal(window.segmentation_ended, timeout=180_000) as ended:
        start_segmentation(qtbot, window, model_file)
        assert window.segmentation.running and not window.segment_panel.segment_button.isEnabled()
    gaps.stop()
    assert ended.args == ["finished"], window.segment_panel.progress.message
    gaps.assert_responsive("segmentation ran")
    predicted = store.history(case_id)[-1]
    assert predicted.provenance == "predicted:tiny-unet" and window.session.base_version == predicted.id
    assert np.array_equal(window.session.editor.labels, store.load_labels(predicted.id))
    assert window.worklist.column_texts("uncertainty")[0] != "" and window.worklist.column_texts("status") == ["in review"]
    assert (window.review_panel.reference_key, window.review_panel.prediction_key) == (EDIT, predicted.id)
    assert window.segment_panel.progress.fraction == 1.0
    labels = window.session.editor.labels
    z = window.view.view_state.z
    window.tool_state.select(0 if labels[z].any() else 2)  # erase a predicted stroke, or paint one
    window.tool_state.brush_radius = 8  # a stroke wide enough to move the mean Dice in its third decimal
    row = int(np.flatnonzero(labels[z].any(axis=1))[0]) if labels[z].any() else background_row(labels, z)
    before = labels.copy()
    drag(qtbot, window, [(row, 0), (row, labels.shape[2] - 1)])
    assert not np.array_equal(labels, before)
    qtbot.waitUntil(lambda: window.review_panel.dice_text("mean") not in ("1.000", "–"), timeout=2000)
    window.edit_panel.tools.undo_button.click()
    assert np.array_equal(labels, before)
    drag(qtbot, window, [(row, 0), (row, labels.shape[2] - 1)])
    corrected = labels.copy()
    with qtbot.waitSignal(window.saving_ended, timeout=10_000):
        window.actions["accept"].trigger()
    case = store.case(case_id)
    accepted = store.version(case.accepted_version)
    assert case.status == "accepted" and accepted.provenance == f"corrected:{predicted.id}"
    assert np.array_equal(store.load_labels(accepted.id), corrected)


def test_a_segmentation_can_be_cancelled_and_leaves_the_store_alone(qtbot, unlabelled) -> None:
    store, case_id, model_file = unlabelled
    window = make_window(qtbot, store)
    window.open_case(case_id)
    with qtbot.waitSignal(window.segmentation_ended, timeout=180_000) as ended:
        start_segmentation(qtbot, window, model_file)
        window.segment_panel.progress.cancel_button.click()
    assert ended.args == ["cancelled"] and store.history(case_id) == []
    assert "cancelled" in window.segment_panel.progress.message and window.segment_panel.segment_button.isEnabled()


def test_a_broken_model_file_is_reported(qtbot, unlabelled, tmp_path) -> None:
    store, case_id, _ = unlabelled
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    window = make_window(qtbot, store)
    reported = []
    window.report_error = reported.append
    window.open_case(case_id)
    with qtbot.waitSignal(window.segmentation_ended, timeout=60_000) as ended:
        start_segmentation(qtbot, window, broken)
    assert ended.args == ["errored"] and reported and "broken.pt" in reported[0]
    assert store.history(case_id) == []


def test_segmenting_all_new_cases_fills_the_quality_columns_and_sorts_by_effort(qtbot, unlabelled) -> None:
    from legseg_core.store.quality import version_quality
    from tests.gui.app_helpers import tiny_phantom

    store, first, model_file = unlabelled
    second = store.add_case(tiny_phantom(seed=4).images["t1w"], contrast="t1w", health="patient").id
    window = make_window(qtbot, store)
    window.open_case(first)
    window.segment_panel.picker.add_model_file(model_file)
    window.segment_panel.picker.set_device("cpu")
    assert window.segment_panel.segment_new_button.isEnabled()
    with qtbot.waitSignal(window.segmentation_ended, timeout=180_000) as ended:
        window.segment_panel.segment_new_button.click()
    assert ended.args == ["finished"], window.segment_panel.progress.message
    scores = {case.id: case.metadata.extra["uncertainty_score"] for case in store.cases()}
    assert set(scores) == {first, second} and all(0.0 <= score <= 1.0 for score in scores.values())
    quality = {case_id: version_quality(store, store.case(case_id).latest_version) for case_id in scores}
    assert all(q is not None and 0.0 <= q.uncertainty <= 1.0 for q in quality.values())
    efforts = {case_id: q.effort for case_id, q in quality.items()}
    assert window.worklist.case_ids() == sorted(efforts, key=efforts.get, reverse=True)
    assert window.worklist.column_texts("effort") == [f"{efforts[c]:.2f}" for c in window.worklist.case_ids()]
    assert window.worklist.column_texts("flags") == [str(quality[c].flag_count) for c in window.worklist.case_ids()]
    assert window.worklist.column_texts("status") == ["in review", "in review"]
    assert window.segment_panel.quality.flag_texts() == quality[first].flags
    assert not window.segment_panel.segment_new_button.isEnabled()
    predicted = store.history(first)[-1]
    assert predicted.provenance == "predicted:tiny-unet" and window.session.base_version == predicted.id
    assert np.array_equal(window.session.editor.labels, store.load_labels(predicted.id))
