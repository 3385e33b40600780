"""The Figure 4 overlap map and the incremental OverlapTracker (checked against full recomputation)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from legseg_core.errors import ImageShapeError, ImageValueError
from legseg_core.evaluation import OverlapTracker, confusion_counts, evaluate_labels, overlap_map
from legseg_core.evaluation.overlap import overlap_class_counts, region_slices
from legseg_core.labels import (OVERLAP_AGREE, OVERLAP_BACKGROUND, OVERLAP_DIFFERENT_MUSCLE, OVERLAP_MANUAL_ONLY,
                                OVERLAP_PREDICTED_ONLY)


def test_overlap_classes_by_hand() -> None:
    reference = np.array([[[0, 0, 3, 3, 5]]], dtype=np.uint8)
    prediction = np.array([[[0, 4, 3, 2, 0]]], dtype=np.uint8)
    expected = [OVERLAP_BACKGROUND, OVERLAP_PREDICTED_ONLY, OVERLAP_AGREE, OVERLAP_DIFFERENT_MUSCLE,
                OVERLAP_MANUAL_ONLY]
    overlap = overlap_map(reference, prediction)
    assert overlap.dtype == np.uint8 and overlap.tolist() == [[expected]]
    assert overlap_class_counts(overlap) == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}


def random_pair(rng: np.random.Generator, shape=(6, 12, 10)) -> tuple[np.ndarray, np.ndarray]:
    reference = rng.integers(0, 8, size=shape).astype(np.uint8)
    prediction = np.where(rng.random(shape) < 0.4, rng.integers(0, 8, size=shape), reference).astype(np.uint8)
    return reference, prediction


def assert_tracker_current(tracker: OverlapTracker, reference: np.ndarray, prediction: np.ndarray) -> None:
    np.testing.assert_array_equal(tracker.map, overlap_map(reference, prediction))
    np.testing.assert_array_equal(tracker.confusion(), confusion_counts(reference, prediction))
    full = evaluate_labels(reference, prediction, with_distances=False)
    for label, dice in tracker.dice().items():
        np.testing.assert_equal(dice, full.muscle(label).dice)
    assert tracker.class_counts() == overlap_class_counts(overlap_map(reference, prediction))


def test_random_edits_of_either_map_keep_map_and_dice_current() -> None:
    rng = np.random.default_rng(3)
    reference, prediction = random_pair(rng)
    tracker = OverlapTracker(reference, prediction)
    for step in range(40):
        z0, y0, x0 = rng.integers(0, 5), rng.integers(0, 10), rng.integers(0, 8)
        region = (slice(z0, z0 + rng.integers(1, 3)), slice(y0, y0 + rng.integers(1, 4)), slice(x0, None))
        target = ("prediction", "reference", "both")[step % 3]
        tracker.update(region, int(rng.integers(0, 8)), target=target)
        assert_tracker_current(tracker, reference, prediction)
        # the caller paints directly into its arrays and reports the slice
        k = int(rng.integers(0, reference.shape[0]))
        edited = reference if step % 2 else prediction
        edited[k][rng.random(edited.shape[1:]) < 0.3] = int(rng.integers(0, 8))
        tracker.apply_edit(k)
        assert_tracker_current(tracker, reference, prediction)


def test_update_with_an_array_of_values_and_scores_on_demand() -> None:
    reference, prediction = random_pair(np.random.default_rng(5))
    tracker = OverlapTracker(reference, prediction, spacing=(3.0, 1.0, 1.0))
    tracker.update((slice(1, 3),), reference[1:3].copy())
    assert_tracker_current(tracker, reference, prediction)
    full = evaluate_labels(reference, prediction, (3.0, 1.0, 1.0))
    on_demand = tracker.scores()
    for label in range(1, 8):
        assert on_demand.muscle(label) == full.muscle(label)


def test_reset_after_arrays_are_replaced() -> None:
    reference, prediction = random_pair(np.random.default_rng(9))
    tracker = OverlapTracker(reference, prediction)
    tracker.reset(prediction=reference.copy())
    assert set(tracker.dice().values()) == {1.0}
    assert tracker.class_counts()[OVERLAP_AGREE] == int((reference > 0).sum())


def test_tracker_takes_int32_arrays_as_painted_by_a_viewer() -> None:
    reference, prediction = random_pair(np.random.default_rng(1))
    reference32, prediction32 = reference.astype(np.int32), prediction.astype(np.int32)
    tracker = OverlapTracker(reference32, prediction32)
    prediction32[2] = 4
    tracker.apply_edit(2)
    assert_tracker_current(tracker, reference, prediction32.astype(np.uint8))


def test_bad_values_and_regions_are_refused() -> None:
    reference, prediction = random_pair(np.random.default_rng(2))
    tracker = OverlapTracker(reference, prediction.astype(np.int32))
    with pytest.raises(ImageValueError, match=r"new prediction values: label values must lie in 0\.\.7, found 9"):
        tracker.update(0, 9)
    tracker.prediction[1, 0, 0] = 12
    with pytest.raises(ImageValueError, match=r"edited prediction: label values must lie in 0\.\.7, found 0\.\.12"):
        tracker.apply_edit(1)
    with pytest.raises(ImageShapeError, match="region index 6 is outside axis z of size 6"):
        tracker.apply_edit(6)
    with pytest.raises(ImageShapeError, match="step 1"):
        region_slices((slice(0, 4, 2),), reference.shape)
    with pytest.raises(ImageShapeError, match="at most 3 parts"):
        region_slices((0, 0, 0, 0), reference.shape)


def test_region_forms() -> None:
    shape = (4, 5, 6)
    assert region_slices(2, shape) == (slice(2, 3), slice(0, 5), slice(0, 6))
    assert region_slices(-1, shape) == (slice(3, 4), slice(0, 5), slice(0, 6))
    assert region_slices((slice(1, 3), 4), shape) == (slice(1, 3), slice(4, 5), slice(0, 6))
    assert region_slices((slice(None), slice(2, 99), slice(5, 1)), shape) == (slice(0, 4), slice(2, 5), slice(5, 5))


def test_bench_overlap_runs_and_tracker_agrees() -> None:
    from legseg_core.bench import overlap as bench

    result = bench.run(argparse.Namespace(shape=(8, 64, 64), repeats=2))
    assert result.rows[0]["tracker matches full"] == "yes"
    assert {t["what"] for t in result.targets} == {"one-slice edit", "speedup over full recomputation"}
    assert bench.quick_arguments().shape == (90, 320, 320)


def test_scores_as_long_work_report_progress_per_muscle() -> None:
    from legseg_core.progress import drive

    reference, prediction = random_pair(np.random.default_rng(4))
    tracker = OverlapTracker(reference, prediction)
    events = []
    scores = drive(tracker.scores_work(case_id="live"), events.append)
    assert [e.done for e in events] == list(range(8)) and events[0].message == "scoring GL"
    assert scores.case_id == "live" and scores.muscle(2) == tracker.scores().muscle(2)
