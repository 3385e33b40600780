"""Adapt dock in napari: "Learn from my corrections" on a correction layer runs `legseg adapt` in its own
process; the corrected leg slices stay voxel for voxel, the prediction layer and the model stay as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.adapt import LegColumns, changed_leg_slices
from tests.gui.app_helpers import TimerGaps


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def test_learning_from_a_painted_correction(make_napari_viewer, qtbot, places) -> None:
    from legseg_napari._correction import start_correction
    from legseg_napari._layers import IMAGE, MODEL, VOLUME, image_volume, muscle_labels_kwargs
    from legseg_napari._qt.adapt_dock import AdaptDockWidget

    viewer = make_napari_viewer()
    image_layer, truth_layer = viewer.open_sample("legseg", "calf")
    predicted = np.where(truth_layer.data == 1, 0, truth_layer.data).astype(np.uint8)
    prediction = viewer.add_labels(predicted, **muscle_labels_kwargs(
        "starter labels", {VOLUME: truth_layer.metadata[VOLUME], MODEL: "unet-lite-starter",
                           IMAGE: image_layer.name}, truth_layer.scale))
    correction = start_correction(viewer, prediction)
    z = correction.data.shape[0] // 2
    correction.data[z][truth_layer.data[z] == 1] = 1  # the expert draws the missing GL on one slice
    corrected = np.array(correction.data, copy=True)
    dock = AdaptDockWidget(viewer)
    viewer.window.add_dock_widget(dock)
    qtbot.addWidget(dock)
    dock.labels_combo.set_layer(correction)
    panel = dock.adapt
    panel.steps, panel.device = 1, "cpu"
    assert panel.button.isEnabled() and panel.case.model == "unet-lite-starter"
    gaps = TimerGaps().start()
    with qtbot.waitSignal(panel.ended, timeout=300_000) as ended:
        panel.button.click()
        assert panel.running
    longest_gap = gaps.stop()
    assert ended.args[0].get("event") == "result", panel.status.text()
    legs = LegColumns.of(image_volume(image_layer))
    touched = changed_leg_slices(corrected, predicted, legs)
    assert touched and {s.z for s in touched} == {z}
    mask = legs.mask(touched, corrected.shape)
    assert np.array_equal(np.asarray(correction.data)[mask], corrected[mask])
    assert np.array_equal(prediction.data, predicted)
    assert panel.case.model_path.is_file() and panel.case.model_path.parent.name == "recovery"
    assert longest_gap < 1.0, f"napari's event loop stalled for {longest_gap:.3f} s while the adaptation ran"
