"""The first-use loop in napari, from no store at all: open the real scan, segment with the default model,
correct a copy, accept (which creates the store, with the starter models), fine-tune with the button,
and put the new model to use with one confirmed click (the panel says why it is not validated)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.io import load_labels
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry
from tests.gui.first_use_helpers import FIRST_USE_FINETUNE, check_unvalidated_result, right_leg_case


@pytest.fixture(scope="module")
def right_leg(real_data, tmp_path_factory):
    return right_leg_case(real_data, tmp_path_factory.mktemp("right-leg"))


def test_a_new_user_corrects_one_case_fine_tunes_and_uses_the_model(make_napari_viewer, qtbot, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    right_leg) -> None:
    from legseg_napari._qt.correction_widget import CorrectionWidget
    from legseg_napari._qt.finetune_dock import FinetuneDockWidget
    from legseg_napari._qt.segment_widget import SegmentWidget

    root = tmp_path / "store"
    monkeypatch.setenv("LEGSEG_STORE", str(root))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    viewer = make_napari_viewer()
    [image_layer] = viewer.open(str(right_leg["scan"]), plugin="legseg")
    segment, correct = SegmentWidget(viewer), CorrectionWidget(viewer)
    for widget in (segment, correct):
        viewer.window.add_dock_widget(widget)
        qtbot.addWidget(widget)
    assert segment.picker.current_choice().name == "unet-lite-starter"  # the default without a store
    segment.picker.set_device("cpu")
    worker = segment.segment()
    with qtbot.waitSignal(worker.ended, timeout=120_000):
        pass
    assert worker.outcome == "finished", worker.error
    qtbot.waitUntil(lambda: bool(segment.result_layers), timeout=10_000)
    prediction = segment.result_layers[0]
    correction = correct.start(prediction)
    reference = load_labels(right_leg["labels"]).data
    assert not np.array_equal(correction.data, reference)
    correction.data = reference.copy()  # the expert's correction of the leg, written into the label layer
    correct.case_form.set_values(contrast="dwi", health="healthy")
    with qtbot.waitSignal(correct.accepted, timeout=60_000) as accepted:
        correct.accept(correction)
    result = accepted.args[0]
    assert result.predicted.provenance == "predicted:unet-lite-starter"
    assert result.accepted.provenance == f"corrected:{result.predicted.id}"
    with Store.open(root) as store:
        starter = ModelRegistry(store).require_active()
    assert starter.training["shipped"] == "unet-lite-starter"  # the store Accept created has the starter models
    dock = FinetuneDockWidget(viewer)
    viewer.window.add_dock_widget(dock)
    qtbot.addWidget(dock)
    panel = dock.finetune
    panel.extra_arguments = list(FIRST_USE_FINETUNE)
    qtbot.waitUntil(lambda: bool(panel.counts and panel.counts["unseen"] == 1), timeout=20_000)
    assert "No accepted validation or test case yet" in panel.unseen_label.text()
    with qtbot.waitSignal(panel.ended, timeout=240_000) as finished:
        panel.start_button.click()
    candidate = check_unvalidated_result(finished.args[0], starter.id, panel.verdict_label.text())
    qtbot.waitUntil(lambda: panel.use_button.isEnabled(), timeout=20_000)
    panel.confirm = lambda title, question: True
    with qtbot.waitSignal(panel.models_changed):
        panel.use_button.click()
    registry = ModelRegistry(dock.store)
    assert registry.require_active().id == candidate
    assert registry.events(candidate)[-1]["reason"].startswith("used unvalidated (fine-tune panel)")
    assert "In use, unvalidated" in panel.verdict_label.text()


def test_a_label_file_keeps_its_provenance_when_accepted(make_napari_viewer, qtbot, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, right_leg) -> None:
    from legseg_napari._qt.correction_widget import CorrectionWidget

    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    viewer = make_napari_viewer()
    viewer.open(str(right_leg["scan"]), plugin="legseg")
    [labels_layer] = viewer.open(str(right_leg["labels"]), plugin="legseg")
    assert labels_layer.metadata["legseg_provenance"] == "imported:right_leg_labels.nii.gz"
    widget = CorrectionWidget(viewer)
    qtbot.addWidget(widget)
    correction = widget.start(labels_layer)
    correction.data = np.where(correction.data == 7, 0, correction.data).astype(np.uint8)  # TP erased in napari
    with qtbot.waitSignal(widget.accepted, timeout=60_000) as accepted:
        widget.accept(correction)
    result = accepted.args[0]
    assert result.predicted.provenance == "imported:right_leg_labels.nii.gz"
    assert result.accepted.provenance == f"corrected:{result.predicted.id}"
    assert result.accepted.edits.removed["TP"] > 0
