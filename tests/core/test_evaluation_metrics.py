"""Dice, AHD (VISCERAL AVGDIST) and HD95: the hand-checked cube, brute force, empty masks, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.evaluation import directed_average, evaluate_labels, mask_distances
from legseg_core.evaluation.distances import hd95


def cube_pair(axis: int) -> tuple[np.ndarray, np.ndarray]:
    """A 10-voxel cube of label 3 and the same cube shifted by one voxel along ``axis``."""
    reference = np.zeros((14, 14, 14), dtype=np.uint8)
    reference[2:12, 2:12, 2:12] = 3
    return reference, np.roll(reference, 1, axis=axis)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_hand_checked_cube(axis: int) -> None:
    reference, prediction = cube_pair(axis)
    spacing = [1.0, 1.0, 1.0]
    spacing[axis] = 2.0
    scores = evaluate_labels(reference, prediction, tuple(spacing)).muscle(3)
    assert scores.dice == pytest.approx(0.9)
    assert scores.ahd_voxels == pytest.approx(0.1)
    assert scores.ahd_mm == pytest.approx(0.2)
    assert scores.hd95_mm == pytest.approx(2.0)
    assert scores.overlap_voxels == 900 and scores.reference_voxels == scores.prediction_voxels == 1000
    assert scores.volume_ref_ml == pytest.approx(1000 * 2.0 / 1000)
    assert scores.volume_difference_ml == 0.0 and scores.volume_difference_percent == 0.0


def brute_directed(source: np.ndarray, target: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Distance of every source voxel to its nearest target voxel, from all coordinate pairs."""
    return cdist(np.argwhere(source) * spacing, np.argwhere(target) * spacing).min(axis=1)


def brute_surface(mask: np.ndarray) -> np.ndarray:
    """Mask voxels with a 6-neighbour outside the mask or the array."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = np.ones_like(mask)
    for axis in range(3):
        for step in (-1, 1):
            inner &= np.roll(padded, step, axis=axis)[1:-1, 1:-1, 1:-1]
    return mask & ~inner


@pytest.mark.parametrize("seed", range(6))
def test_distances_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(4, 9, size=3))
    a, b = rng.random(shape) < 0.25, rng.random(shape) < 0.3
    a[0, 0, 0] = b[-1, -1, -1] = True  # never empty
    spacing = rng.uniform(0.5, 4.0, size=3)
    for unit in (np.ones(3), spacing):
        expected_ab, expected_ba = brute_directed(a, b, unit).mean(), brute_directed(b, a, unit).mean()
        assert directed_average(a, b, tuple(unit)) == pytest.approx(expected_ab)
        assert directed_average(b, a, tuple(unit)) == pytest.approx(expected_ba)
    distances = mask_distances(a, b, tuple(spacing))
    assert distances.ahd_voxels == pytest.approx((brute_directed(a, b, np.ones(3)).mean()
                                                  + brute_directed(b, a, np.ones(3)).mean()) / 2)
    assert distances.ahd_mm == pytest.approx((brute_directed(a, b, spacing).mean()
                                              + brute_directed(b, a, spacing).mean()) / 2)
    surface_a, surface_b = brute_surface(a), brute_surface(b)
    expected_hd95 = max(np.percentile(brute_directed(surface_a, surface_b, spacing), 95),
                        np.percentile(brute_directed(surface_b, surface_a, spacing), 95))
    assert hd95(a, b, tuple(spacing)) == pytest.approx(expected_hd95)


def test_all_muscles_in_one_pass_match_whole_volume_computation() -> None:
    rng = np.random.default_rng(7)
    reference = rng.integers(0, 8, size=(6, 9, 8)).astype(np.uint8)
    prediction = np.where(rng.random(reference.shape) < 0.3, rng.integers(0, 8, size=reference.shape), reference)
    spacing = (3.0, 1.5, 1.0)
    scores = evaluate_labels(reference, prediction.astype(np.uint8), spacing)
    for label in range(1, 8):
        a, b = reference == label, prediction == label
        muscle = scores.muscle(label)
        assert muscle.dice == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
        assert muscle.ahd_mm == pytest.approx((brute_directed(a, b, np.array(spacing)).mean()
                                               + brute_directed(b, a, np.array(spacing)).mean()) / 2)
        assert muscle.ahd_voxels == pytest.approx((brute_directed(a, b, np.ones(3)).mean()
                                                   + brute_directed(b, a, np.ones(3)).mean()) / 2)


def test_identical_maps_score_perfectly() -> None:
    reference, _ = cube_pair(0)
    scores = evaluate_labels(reference, reference.copy(), (2.0, 1.0, 1.0)).muscle(3)
    assert (scores.dice, scores.ahd_voxels, scores.ahd_mm, scores.hd95_mm) == (1.0, 0.0, 0.0, 0.0)


def test_empty_masks_have_defined_scores() -> None:
    reference = np.zeros((5, 6, 7), dtype=np.uint8)
    prediction = np.zeros_like(reference)
    reference[1:3, 1:3, 1:3] = 1  # GL drawn, not predicted
    prediction[2:4, 2:4, 2:4] = 2  # GM predicted, not drawn
    case = evaluate_labels(reference, prediction, (2.0, 1.0, 1.0))
    missing_in_prediction, missing_in_reference, absent = case.muscle(1), case.muscle(2), case.muscle(3)
    assert missing_in_prediction.dice == 0.0 and math.isnan(missing_in_prediction.ahd_voxels)
    assert math.isnan(missing_in_prediction.hd95_mm) and missing_in_prediction.volume_difference_percent == -100.0
    assert missing_in_reference.dice == 0.0 and math.isnan(missing_in_reference.ahd_mm)
    assert math.isnan(missing_in_reference.volume_difference_percent)
    assert missing_in_reference.volume_difference_ml == pytest.approx(8 * 2.0 / 1000)
    assert math.isnan(absent.dice) and math.isnan(absent.ahd_voxels) and absent.volume_difference_ml == 0.0
    assert case.mean("dice") == 0.0  # the five absent muscles are left out, the two missing ones count 0
    assert math.isnan(case.mean("ahd_voxels"))


def test_case_mean_and_dict() -> None:
    reference, prediction = cube_pair(2)
    case = evaluate_labels(reference, prediction, case_id="cube")
    assert case.mean("dice") == pytest.approx(0.9)
    payload = case.to_dict()
    assert payload["case_id"] == "cube" and len(payload["muscles"]) == 7
    assert payload["muscles"][2]["muscle"] == "SOL" and payload["muscles"][2]["dice"] == pytest.approx(0.9)


def test_without_distances_only_counts() -> None:
    reference, prediction = cube_pair(1)
    muscle = evaluate_labels(reference, prediction, with_distances=False).muscle(3)
    assert muscle.dice == pytest.approx(0.9) and math.isnan(muscle.ahd_voxels)


def test_label_values_outside_range_are_refused() -> None:
    reference = np.zeros((3, 4, 5), dtype=np.int16)
    with pytest.raises(ImageValueError, match=r"prediction: label values must lie in 0\.\.7, found 9\.\.9"):
        evaluate_labels(reference, np.full_like(reference, 9))
    with pytest.raises(ImageValueError, match=r"reference: label values must lie in 0\.\.7, found -1\.\.-1"):
        evaluate_labels(np.full_like(reference, -1), reference)
    with pytest.raises(ImageValueError, match="whole numbers"):
        evaluate_labels(reference, np.full(reference.shape, 0.5))


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(GridMismatchError, match=r"\(3, 4, 5\) vs \(3, 4, 6\)"):
        evaluate_labels(np.zeros((3, 4, 5), np.uint8), np.zeros((3, 4, 6), np.uint8))
    with pytest.raises(GridMismatchError, match="3D"):
        evaluate_labels(np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8))
