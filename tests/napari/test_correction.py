"""Correction dock: a copy to paint on (undo works), Accept into the store with provenance and edit
statistics, autosave to the recovery folder, and recovered edits offered back on start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.store import Store


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A store path (not created yet) and a user data folder, both in tmp."""
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"store": tmp_path / "store", "user": tmp_path / "data" / "legseg"}


@pytest.fixture
def calf(make_napari_viewer, places):
    """A viewer with the sample calf and a fake prediction of model 'unet-test' (GL shifted)."""
    from legseg_napari._layers import IMAGE, MODEL, VOLUME, muscle_labels_kwargs

    viewer = make_napari_viewer()
    image_layer, truth_layer = viewer.open_sample("legseg", "calf")
    predicted = np.where(truth_layer.data == 1, 0, truth_layer.data).astype(np.uint8)
    predicted[np.roll(truth_layer.data == 1, 2, axis=2)] = 1
    prediction_layer = viewer.add_labels(predicted, **muscle_labels_kwargs(
        "unet-test labels", {VOLUME: truth_layer.metadata[VOLUME], MODEL: "unet-test", IMAGE: image_layer.name},
        truth_layer.scale))
    return viewer, image_layer, truth_layer, prediction_layer


def correction_widget(viewer, qtbot):
    from legseg_napari._qt.correction_widget import CorrectionWidget

    widget = CorrectionWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.addWidget(widget)
    return widget


def paint_muscle(layer, label: int = 3) -> tuple[int, int, int]:
    """Paint one disc of ``label`` on the middle slice, where there is muscle; returns the point."""
    z = layer.data.shape[0] // 2
    y, x = np.argwhere(layer.data[z] == 4)[0]
    layer.selected_label, layer.brush_size = label, 3
    layer.paint((z, int(y), int(x)), label)
    return z, int(y), int(x)


def test_the_sample_opens_and_a_copy_is_corrected_with_undo(calf, qtbot) -> None:
    viewer, image_layer, truth_layer, prediction_layer = calf
    assert image_layer.data.shape == truth_layer.data.shape and image_layer.data.shape[0] == 20
    assert set(np.unique(truth_layer.data)) == set(range(8))
    assert truth_layer.get_status((0, 0, 0))["value"].endswith("background")
    assert tuple(image_layer.scale) == pytest.approx(image_layer.metadata["legseg_volume"].spacing)
    widget = correction_widget(viewer, qtbot)
    before = prediction_layer.data.copy()
    correction = widget.start(prediction_layer)
    assert correction.name == "unet-test labels (correction)" and correction.mode == "paint"
    assert correction.metadata["legseg_corrects"] == prediction_layer.name
    point = paint_muscle(correction)
    assert correction.data[point] == 3
    np.testing.assert_array_equal(prediction_layer.data, before)
    assert correction in widget.dirty
    correction.undo()
    np.testing.assert_array_equal(correction.data, before)
    assert widget.start(correction) is correction


def test_accept_writes_predicted_and_corrected_versions_and_accepts(calf, places, qtbot) -> None:
    viewer, image_layer, _, prediction_layer = calf
    widget = correction_widget(viewer, qtbot)
    correction = widget.start(prediction_layer)
    paint_muscle(correction)
    assert widget.case_form.isVisibleTo(widget)
    widget.case_form.set_values(contrast="t1w", health="healthy")
    with qtbot.waitSignal(widget.accepted, timeout=60000) as accepted:
        widget.accept()
    result = accepted.args[0]
    with Store.open(places["store"]) as store:
        case = store.case(result.case_id)
        predicted, corrected = store.history(case.id)
        assert case.status == "accepted" and case.accepted_version == corrected.id
        assert case.metadata.contrast == "t1w" and case.metadata.health == "healthy"
        assert predicted.provenance == "predicted:unet-test"
        assert corrected.provenance == f"corrected:{predicted.id}" and corrected.parent_id == predicted.id
        assert corrected.edits.added["SOL"] > 0 and corrected.edits.removed["TA"] > 0
        assert len(corrected.edits.slices_touched) == 1
        np.testing.assert_array_equal(store.load_labels(corrected.id), correction.data)
    assert correction.metadata["legseg_case"] == case.id == image_layer.metadata["legseg_case"]
    assert "accepted with version" in widget.status.text() and not widget.case_form.isVisibleTo(widget)


def test_a_prediction_accepted_unchanged_is_one_version(calf, places, qtbot) -> None:
    viewer, _, _, prediction_layer = calf
    widget = correction_widget(viewer, qtbot)
    with qtbot.waitSignal(widget.accepted, timeout=60000) as accepted:
        widget.accept(prediction_layer)
    result = accepted.args[0]
    assert result.accepted is result.predicted and result.accepted.provenance == "predicted:unet-test"


def test_accept_without_a_matching_scan_is_refused(calf, qtbot) -> None:
    viewer, image_layer, _, prediction_layer = calf
    widget = correction_widget(viewer, qtbot)
    viewer.layers.remove(image_layer)
    assert widget.accept(prediction_layer) is None
    assert "no scan is open" in widget.status.text()


def test_autosave_then_recovery_is_offered_and_restored(calf, places, make_napari_viewer, qtbot) -> None:
    from legseg_napari._qt.correction_widget import AUTOSAVE_INTERVAL_MS

    viewer, image_layer, _, prediction_layer = calf
    widget = correction_widget(viewer, qtbot)
    assert widget.autosave_timer.isActive() and widget.autosave_timer.interval() == AUTOSAVE_INTERVAL_MS <= 60_000
    correction = widget.start(prediction_layer)
    paint_muscle(correction)
    assert widget.autosave() == 1 and widget.autosave() == 0  # saved once, then clean
    edited = correction.data.copy()
    # a crash: a new session starts with the scan open again
    viewer2 = make_napari_viewer()
    image2, _ = viewer2.open_sample("legseg", "calf")
    widget2 = correction_widget(viewer2, qtbot)
    assert widget2.recovery.pending_count() == 1 and widget2.recovery.isVisibleTo(widget2)
    assert widget2.recovery.entries.item(0).text().startswith("unsaved scan unet-test labels, saved ")
    widget2.recovery.restore_button.click()
    restored = viewer2.layers[-1]
    np.testing.assert_array_equal(restored.data, edited)
    assert restored.metadata["legseg_model"] == "unet-test" and restored.metadata["legseg_corrects"]
    assert restored.name == "unet-test labels (correction) (recovered)"
    widget2.recovery.discard_button.click()
    assert widget2.recovery.pending_count() == 0 and not list((places["user"] / "recovery").glob("*.npz"))


def test_a_closed_dock_autosaves_and_stops_following_the_viewer(calf, places, qtbot) -> None:
    from legseg_core.recovery import RecoveryArea

    viewer, _, _, prediction_layer = calf
    widget = correction_widget(viewer, qtbot)
    correction = widget.start(prediction_layer)
    paint_muscle(correction)
    assert correction in widget.dirty and len(widget.dirty) == 1
    widget.close()
    assert len(RecoveryArea.for_store(None).pending()) == 1 and not widget.dirty
    paint_muscle(correction, label=5)  # edits after closing reach no watcher
    assert not widget.dirty and not widget._watchers
    viewer.layers.remove(correction)  # nor do the viewer's layer events
    widget.start(prediction_layer)
    assert not widget._watchers
