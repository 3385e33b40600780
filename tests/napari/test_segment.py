"""Segment dock: the sample segmented with a tiny model on a worker thread (napari stays responsive),
labels in the muscle colours with names on hover, a hidden uncertainty layer, several models
compared side by side in one action, and cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.labels import MUSCLES
from tests.gui.app_helpers import TimerGaps, tiny_model_file


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("models")
    return [tiny_model_file(folder / f"tiny-{seed}.pt", seed=seed) for seed in (0, 1)]


@pytest.fixture
def segment(make_napari_viewer, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_models):
    from legseg_napari._qt.segment_widget import SegmentWidget

    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    viewer = make_napari_viewer()
    image_layer, _ = viewer.open_sample("legseg", "calf")
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.addWidget(widget)
    for path in tiny_models:
        widget.picker.add_model_file(path)
    widget.picker.set_device("cpu")
    return viewer, widget, image_layer


def test_the_sample_is_segmented_off_the_ui_thread(segment, qtbot) -> None:
    viewer, widget, image_layer = segment
    widget.picker.choose("tiny-0")
    gaps = TimerGaps().start()
    worker = widget.segment()
    assert worker is not None and widget.progress.cancel_button.isEnabled()
    worker.progress.connect(lambda event: gaps.timer.isActive() and event.fraction == 1.0 and gaps.stop())
    with qtbot.waitSignal(worker.ended, timeout=120_000):
        pass
    # measured from the start to the last progress event: the inference
    assert worker.outcome == "finished", worker.error
    qtbot.waitUntil(lambda: len(widget.uncertainty_layers) == 1, timeout=10_000)
    labels_layer, uncertainty_layer = viewer.layers[-2], viewer.layers[-1]
    assert labels_layer.name == "sample calf (T1w) · tiny-0" and labels_layer.data.dtype == np.uint8
    assert labels_layer.data.shape == image_layer.data.shape
    assert labels_layer.metadata["legseg_model"] == "tiny-0"
    assert labels_layer.metadata["legseg_image"] == image_layer.name
    assert tuple(labels_layer.colormap.map(np.array([m.id for m in MUSCLES]))[:, 3]) == (1.0,) * 7
    np.testing.assert_allclose(labels_layer.colormap.map(np.array([4]))[0], MUSCLES[3].color_float, atol=1e-6)
    assert list(labels_layer.features["muscle"])[1] == "GL (gastrocnemius lateralis)"
    assert uncertainty_layer.metadata["legseg_uncertainty"] and not uncertainty_layer.visible
    assert "uncertainty (score" in uncertainty_layer.name
    assert widget.progress.fraction == 1.0 and widget.segment_button.isEnabled()
    gaps.assert_responsive("napari segmentation ran")


def test_comparing_two_models_is_one_action_laid_out_side_by_side(segment, qtbot) -> None:
    from legseg_napari._segment import grid_of

    viewer, widget, image_layer = segment
    widget.set_checked(["tiny-0", "tiny-1"])
    assert [c.name for c in widget.checked_choices()] == ["tiny-0", "tiny-1"]
    widget.compare_button.click()
    qtbot.waitUntil(lambda: len(widget.uncertainty_layers) == 2, timeout=180_000)
    first, second = widget.result_layers
    assert (first.metadata["legseg_model"], second.metadata["legseg_model"]) == ("tiny-0", "tiny-1")
    grid = grid_of(viewer)
    assert grid.enabled and grid.stride == 2
    names = [layer.name for layer in viewer.layers]
    assert names[1] == first.name and names[3] == second.name  # each over its own view of the scan
    assert viewer.layers[0].data is image_layer.data and viewer.layers[0].metadata["legseg_view"]
    assert widget.image_combo.layers() == [image_layer]


def test_compare_needs_two_models_and_a_scan(segment) -> None:
    viewer, widget, image_layer = segment
    widget.set_checked(["tiny-0"])
    widget.compare_button.click()
    assert "at least two models" in widget.status.text()
    viewer.layers.remove(image_layer)
    assert widget.segment() is None and "choose a scan" in widget.status.text()


def test_cancel_stops_the_segmentation_and_adds_nothing(segment, qtbot) -> None:
    viewer, widget, _ = segment
    widget.picker.choose("tiny-1")
    count = len(viewer.layers)
    worker = widget.segment()
    worker.cancel()
    with qtbot.waitSignal(worker.ended, timeout=120_000):
        pass
    assert worker.outcome == "cancelled" and len(viewer.layers) == count
    assert "cancelled" in widget.progress.message


def test_a_missing_model_file_is_reported(segment, qtbot, tmp_path: Path, tiny_models) -> None:
    _, widget, _ = segment
    gone = tmp_path / "gone.pt"
    gone.write_bytes(Path(tiny_models[0]).read_bytes())
    widget.picker.add_model_file(gone)
    gone.unlink()
    worker = widget.segment()
    with qtbot.waitSignal(worker.ended, timeout=60_000):
        pass
    assert worker.outcome == "errored" and "gone.pt does not exist" in widget.status.text()


def test_a_registered_model_is_offered_first_and_its_prediction_is_accepted_with_provenance(
        make_napari_viewer, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_models) -> None:
    from legseg_core.store import Store
    from legseg_core.training.registry import ModelRegistry
    from legseg_gui.model_picker import ACTIVE_MARK
    from legseg_napari._qt.correction_widget import CorrectionWidget
    from legseg_napari._qt.segment_widget import SegmentWidget

    with Store.init(tmp_path / "store") as store:
        active = ModelRegistry(store).register(
            lambda path, model_id: path.write_bytes(tiny_models[0].read_bytes()), architecture="unet",
            training={"preset": "lite", "data": []}, metrics={"validation": {"mean_dice": 0.5}}, status="active").id
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    viewer = make_napari_viewer()
    image_layer, _ = viewer.open_sample("legseg", "calf")
    widget = SegmentWidget(viewer)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: bool(widget.picker.choices()) and widget.picker.choices()[0].model_id == active,
                    timeout=20_000)
    assert widget.picker.current_choice().title.startswith(ACTIVE_MARK)
    widget.picker.set_device("cpu")
    with qtbot.waitSignal(widget.segment().finished, timeout=120_000):
        pass
    prediction = widget.result_layers[0]
    assert prediction.metadata["legseg_model"] == active
    correction_dock = CorrectionWidget(viewer)
    qtbot.addWidget(correction_dock)
    correction = correction_dock.start(prediction)
    correction.data[correction.data.shape[0] // 2, :4, :4] = 2
    with qtbot.waitSignal(correction_dock.accepted, timeout=60_000) as accepted:
        correction_dock.accept(correction)
    result = accepted.args[0]
    assert result.predicted.provenance == f"predicted:{active}"
    assert result.accepted.provenance == f"corrected:{result.predicted.id}"
    already = int(np.sum(prediction.data[correction.data.shape[0] // 2, :4, :4] == 2))
    assert result.accepted.edits.added["GM"] == 16 - already


def test_the_dock_shows_the_quality_report_of_the_result(segment, qtbot) -> None:
    from legseg_core.evaluation.legs import leg_volumes, split_labels
    from legseg_gui.quality_widget import summary_text

    viewer, widget, image_layer = segment
    widget.picker.choose("tiny-0")
    worker = widget.segment()
    with qtbot.waitSignal(worker.ended, timeout=120_000):
        pass
    assert worker.outcome == "finished", worker.error
    labels_layer = widget.result_layers[-1]
    report = labels_layer.metadata["legseg_quality"]
    assert widget.quality.report is report and widget.quality.flag_texts() == report["flags"]
    assert widget.quality.summary.text() == f"{labels_layer.name}\n{summary_text(report)}"
    volumes = leg_volumes(labels_layer.data, split_labels(labels_layer.data), image_layer.scale)
    for leg in report["legs"]:
        for abbr, ml in volumes[leg].items():
            assert widget.quality.cell(abbr, f"{leg.capitalize()} (ml)") == f"{ml:.1f}"
    viewer.layers.selection.active = image_layer
    assert widget.quality.report is report  # an image layer leaves the report shown


def test_checking_the_selected_labels_reports_them_as_they_are_now(segment, qtbot) -> None:
    viewer, widget, image_layer = segment
    viewer.layers.selection.active = image_layer
    assert widget.check_selected_labels() is None and "select a 3D labels layer" in widget.status.text()
    labels_layer = viewer.layers["sample calf ground truth"]  # the sample's labels, as a user would correct them
    viewer.layers.selection.active = labels_layer
    worker = widget.check_selected_labels()
    with qtbot.waitSignal(worker.ended, timeout=30_000):
        pass
    report = widget.quality.report
    assert report is not None and widget.quality.summary.text().startswith(f"{labels_layer.name} (as it is now)")
    assert not any(flag.startswith("missing") for flag in report["flags"])
    labels_layer.data = np.where(labels_layer.data == MUSCLES[6].id, 0, labels_layer.data).astype(labels_layer.data.dtype)
    worker = widget.check_selected_labels()
    with qtbot.waitSignal(worker.ended, timeout=30_000):
        pass
    missing = [flag for flag in widget.quality.report["flags"] if flag.startswith("missing") and "TP" in flag]
    assert len(missing) == len(widget.quality.report["legs"]) >= 1


def test_the_real_t2_scan_segmented_in_the_dock_shows_its_flags(make_napari_viewer, qtbot, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 real_data: Path) -> None:
    """The T2 scan in napari: the starter U-Net on its last echo (little signal left) leaves TP out of the left
    leg; the dock says so, with the volume of each muscle per leg, and a screenshot shows it."""
    from legseg_core.io import load_volume
    from legseg_core.model_lookup import resolve_model
    from legseg_napari._layers import VOLUME
    from legseg_napari._qt.segment_widget import SegmentWidget

    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    viewer = make_napari_viewer()
    volume = load_volume(real_data / "t2_mese.nii.gz", frame=17)
    image_layer = viewer.add_image(volume.data, name="t2 last echo", scale=volume.spacing, metadata={VOLUME: volume})
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Segment")
    widget.picker.add_model_file(resolve_model("unet-lite-starter"))
    widget.picker.set_device("cpu")
    worker = widget.segment()
    with qtbot.waitSignal(worker.ended, timeout=300_000):
        pass
    assert worker.outcome == "finished", worker.error
    flags = widget.quality.flag_texts()
    assert any(flag.startswith("missing: TP") and "left leg" in flag for flag in flags), flags
    assert widget.quality.cell("TP", "Left (ml)") == "0.0" and float(widget.quality.cell("SOL", "Right (ml)")) > 100
    assert image_layer.name in widget.quality.summary.text()
    viewer.window.resize(1600, 1000)
    qtbot.wait(300)
    shot = tmp_path / "napari-segment-dock.png"
    viewer.window._qt_window.grab().save(str(shot))
    assert shot.stat().st_size > 10_000
