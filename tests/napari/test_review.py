"""Review dock: overlap map layer, live Dice and volume table while painting, undo, distances, 3D view."""

from __future__ import annotations

import json

import numpy as np
import pytest

from legseg_core.evaluation import evaluate_labels, overlap_map
from legseg_core.io import Volume
from legseg_core.labels import OVERLAP_AGREE, OVERLAP_MANUAL_ONLY, OVERLAP_PREDICTED_ONLY

SHAPE = (6, 32, 40)
SPACING = (4.0, 1.0, 1.0)


def pair() -> tuple[np.ndarray, np.ndarray]:
    reference = np.zeros(SHAPE, np.uint8)
    reference[1:5, 4:14, 4:14] = 1
    reference[1:5, 16:28, 20:34] = 4
    prediction = reference.copy()
    prediction[1:5, 4:14, 12:16] = 3
    return reference, prediction


def settle() -> None:
    """Let the Qt event loop run the edits' deferred handling."""
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()


@pytest.fixture
def review(make_napari_viewer, qtbot):
    from legseg_napari._layers import MODEL, VOLUME, muscle_labels_kwargs
    from legseg_napari._qt.review_widget import ReviewWidget

    viewer = make_napari_viewer()
    reference, prediction = pair()
    like = Volume.from_array(reference, SPACING)
    ref_layer = viewer.add_labels(reference, **muscle_labels_kwargs("manual", {VOLUME: like}, SPACING))
    pred_layer = viewer.add_labels(prediction, **muscle_labels_kwargs("predicted", {VOLUME: like, MODEL: "m"}, SPACING))
    widget = ReviewWidget(viewer)
    viewer.window.add_dock_widget(widget)
    qtbot.addWidget(widget)
    yield viewer, widget, ref_layer, pred_layer
    widget.close()


def test_default_pair_and_overlap_layer(review, qtbot) -> None:
    viewer, widget, ref_layer, pred_layer = review
    assert widget.reference_combo.layer() is ref_layer and widget.prediction_combo.layer() is pred_layer
    session = widget.compare()
    overlap_layer = session.overlap_layer
    assert overlap_layer in viewer.layers and overlap_layer.metadata["legseg_overlap"]
    np.testing.assert_array_equal(overlap_layer.data, overlap_map(ref_layer.data, pred_layer.data))
    predicted_only_ml = 4 * 10 * 2 * np.prod(SPACING) / 1000  # in ml, and percent of the reference's voxels
    percent = 100 * 4 * 10 * 2 / np.count_nonzero(ref_layer.data)
    assert widget.legend.count_text(OVERLAP_PREDICTED_ONLY) == f"{predicted_only_ml:.1f} ml · {percent:.1f}% of ref."
    expected = evaluate_labels(ref_layer.data, pred_layer.data, SPACING, with_distances=False)
    assert widget.table.text(4, "dice") == "1.000"
    assert widget.table.text(1, "dice") == f"{expected.muscle(1).dice:.3f}"
    assert widget.table.text(3, "volume_difference_ml") == f"{4 * 10 * 4 * 4 / 1000:+.1f}"
    qtbot.waitUntil(lambda: widget.table.text(4, "ahd_mm") == "0.00", timeout=20000)


def test_a_brush_stroke_updates_map_and_dice_in_its_box_and_undo_restores(review, qtbot) -> None:
    viewer, widget, ref_layer, pred_layer = review
    session = widget.compare()
    before_dice = widget.table.text(4, "dice")
    calls = []
    original = session.tracker.apply_edit
    session.tracker.apply_edit = lambda region: (calls.append(region), original(region))[1]
    pred_layer.selected_label = 0
    pred_layer.brush_size = 5
    viewer.dims.set_current_step(0, 2)
    pred_layer.paint((2, 22, 27), 0)  # erase a disc of TA on slice 2
    settle()
    assert calls and calls[0][0] == slice(2, 3)  # one axial slice, not the whole grid
    assert widget.table.text(4, "dice") != before_dice
    assert session.overlap_layer.data[2, 22, 27] == OVERLAP_MANUAL_ONLY
    np.testing.assert_array_equal(session.overlap_layer.data, overlap_map(ref_layer.data, pred_layer.data))
    pred_layer.undo()
    settle()
    assert session.overlap_layer.data[2, 22, 27] == OVERLAP_AGREE
    assert widget.table.text(4, "dice") == before_dice
    pred_layer.redo()
    settle()
    assert widget.table.text(4, "dice") != before_dice
    viewer.dims.set_current_step(0, 3)  # scrolling changes nothing
    settle()
    assert session.edits == 3


def test_painting_the_reference_and_replacing_data_are_taken_in(review) -> None:
    _, widget, ref_layer, pred_layer = review
    session = widget.compare()
    ref_layer.selected_label = 3
    ref_layer.fill((2, 6, 13), 3)  # the GL square becomes SOL on slice 2 in the reference
    settle()
    np.testing.assert_array_equal(session.tracker.map, overlap_map(ref_layer.data, pred_layer.data))
    ref_layer.data = np.zeros(SHAPE, np.uint8)
    settle()
    np.testing.assert_array_equal(session.overlap_layer.data, overlap_map(ref_layer.data, pred_layer.data))
    assert widget.table.text(1, "dice") == "0.000"


def test_a_label_out_of_range_is_reported_not_raised(review) -> None:
    _, widget, _, pred_layer = review
    widget.compare()
    pred_layer.selected_label = 9
    pred_layer.paint((2, 5, 5), 9)
    settle()
    assert "0..7" in widget.status.text()


def test_one_layer_twice_is_refused_the_3d_button_switches_and_stop_removes_the_map(review) -> None:
    viewer, widget, ref_layer, _ = review
    assert widget.compare(ref_layer, ref_layer) is None
    assert "same layer 'manual'" in widget.status.text()
    widget.view_3d_button.click()
    assert viewer.dims.ndisplay == 3
    viewer.dims.ndisplay = 2
    assert not widget.view_3d_button.isChecked()
    session = widget.compare()
    widget.stop()
    assert session.overlap_layer not in viewer.layers
    assert widget.table.text(1, "dice") == "–"
    session = widget.compare()
    viewer.layers.remove(session.prediction)  # closing a compared layer ends the comparison
    assert widget.session is None and session.overlap_layer not in viewer.layers
    assert "was closed" in widget.status.text()


def test_the_overlap_map_shows_the_prediction_as_outlines_and_hides_the_reference_then_restores_them(review) -> None:
    viewer, widget, ref_layer, pred_layer = review
    ref_layer.opacity = 0.4  # the user's own choice is what comes back
    session = widget.compare()
    layers = list(viewer.layers)
    assert layers.index(session.overlap_layer) < min(layers.index(ref_layer), layers.index(pred_layer))
    assert ref_layer.opacity == 0.0  # hidden, still editable
    assert pred_layer.contour == 1 and pred_layer.opacity == 1.0  # opaque outlines over the map: nothing blends
    session.overlap_layer.visible = False
    assert (ref_layer.opacity, pred_layer.contour, pred_layer.opacity) == (0.4, 0, 0.6)
    session.overlap_layer.visible = True
    assert ref_layer.opacity == 0.0
    widget.stop()
    assert (ref_layer.opacity, pred_layer.contour, pred_layer.opacity) == (0.4, 0, 0.6)


@pytest.mark.filterwarnings("ignore:Contours are not displayed during 3D rendering")  # napari slices first
def test_in_3d_the_overlap_map_is_not_covered_by_a_filled_prediction(review) -> None:
    """napari draws no outlines in 3D: the prediction's opaque outlines would become an opaque fill over the map
    (napari warns, once, as it slices in 3D). In 3D the map shows alone; the outlines come back in 2D, and the
    user's looks after the review."""
    viewer, widget, ref_layer, pred_layer = review
    session = widget.compare()
    viewer.dims.ndisplay = 3
    assert (ref_layer.opacity, pred_layer.opacity, pred_layer.contour) == (0.0, 0.0, 0)
    assert session.overlap_layer.visible
    viewer.dims.ndisplay = 2
    assert (pred_layer.contour, pred_layer.opacity) == (1, 1.0)
    viewer.dims.ndisplay = 3
    session.overlap_layer.visible = False
    assert (pred_layer.contour, pred_layer.opacity) == (0, 0.6)
    widget.stop()
    viewer.dims.ndisplay = 2
    assert (pred_layer.contour, pred_layer.opacity) == (0, 0.6), "a closed review no longer follows the view"


def test_the_table_gives_dice_per_leg_on_the_real_case(make_napari_viewer, qtbot, real_case, tmp_path) -> None:
    from legseg_core.evaluation.legs import split_labels
    from legseg_napari._layers import MODEL, VOLUME, muscle_labels_kwargs
    from legseg_napari._qt.review_widget import ReviewWidget

    image, labels, _ = real_case
    reference = labels.data.copy()
    prediction = reference.copy()
    left = split_labels(reference).mask("left", reference.shape)
    prediction[left & (prediction == 4)] = 0  # the model missed TA in the left leg only
    viewer = make_napari_viewer()
    spacing = image.spacing
    ref_layer = viewer.add_labels(reference, **muscle_labels_kwargs("manual", {VOLUME: labels}, spacing))
    pred_layer = viewer.add_labels(prediction, **muscle_labels_kwargs("predicted", {VOLUME: labels, MODEL: "m"},
                                                                     spacing))
    widget = ReviewWidget(viewer)
    qtbot.addWidget(widget)
    widget.compare(ref_layer, pred_layer)
    assert widget.table.text(4, "dice_right") == "1.000" and widget.table.text(4, "dice_left") == "0.000"
    right_ta, left_ta = (int(np.count_nonzero(reference[split_labels(reference).mask(leg, reference.shape)] == 4))
                         for leg in ("right", "left"))
    assert widget.table.text(4, "dice") == f"{2 * right_ta / (2 * right_ta + left_ta):.3f}"
    assert widget.table.text(3, "dice_right") == widget.table.text(3, "dice_left") == "1.000"
    pred_layer.data[left & (reference == 4)] = 4  # the correction of the left leg
    pred_layer.refresh()
    widget.session._on_edit(pred_layer, None)
    assert widget.table.text(4, "dice_left") == "1.000" and widget.table.text(4, "dice") == "1.000"
    qtbot.waitUntil(lambda: widget.table.text(4, "ahd_mm") == "0.00", timeout=60_000)
    data = json.loads(widget.export_table(str(tmp_path / "review.json")).read_text())
    assert data["compared"] == {"reference": "manual", "prediction": "predicted"}
    ta = {row["leg"]: row for row in data["rows"] if row["muscle"] == "TA"}
    assert set(ta) == {"both", "right", "left"} and ta["both"]["ahd_mm"] == 0.0 and "ahd_mm" not in ta["left"]
    assert ta["right"]["dice"] == ta["left"]["dice"] == 1.0
    assert ta["both"]["reference_ml"] == pytest.approx(ta["right"]["reference_ml"] + ta["left"]["reference_ml"],
                                                       abs=1e-3)
    widget.close()


def test_a_leg_without_muscle_reads_as_undefined(review) -> None:
    viewer, widget, ref_layer, pred_layer = review
    widget.compare()
    assert widget.session.legs.sides == ("right", "left")  # the pair's two muscles lie apart, as two legs would
    assert widget.table.text(4, "dice_left") == "1.000" and widget.table.text(4, "dice_right") == "–"
    assert widget.table.text(1, "dice_right") == widget.table.text(1, "dice")
