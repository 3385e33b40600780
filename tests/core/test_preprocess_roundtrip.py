"""Round trips through the patches: labels -> patches -> one-hot probabilities -> labels on the scan grid.

The pipeline must give back what it was given (mean Dice >= 0.97 over the seven muscles) on the
real bilateral case and on synthetic scans (the phantom cohort's calves, and simple elliptic
ones) of 25, 45 and 90 slices and a single leg; and it must find and split the legs of every
real contrast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.io import Volume, load_volume
from legseg_core.phantom import CONTRASTS, make_case
from legseg_core.preprocess import from_patches, plan_patches, probabilities_from_patches, to_patches
from tests.core.test_preprocess import mean_dice, one_hot, synthetic_legs


def round_trip(volume: Volume, labels: np.ndarray) -> np.ndarray:
    """Labels through to_patches and back through from_patches, with one-hot probabilities."""
    patches = to_patches(volume, labels)
    return from_patches(one_hot(patches.labels), patches.plan)


def test_the_real_case_comes_back(real_case: tuple[Volume, Volume, np.ndarray]) -> None:
    image, labels, right = real_case
    patches = to_patches(image, labels)
    assert patches.plan.legs == ("right", "left")
    assert patches.labels_outside == 0
    back = from_patches(one_hot(patches.labels), patches.plan)
    assert mean_dice(labels.data, back) >= 0.97
    split = patches.plan.splits[0]
    assert right[:, :, :split].sum() == right.sum()  # the right leg's labels all lie in the right leg's columns
    assert ((labels.data > 0) & ~right)[:, :, :split].sum() == 0


def test_the_real_case_keeps_each_legs_own_labels(real_case: tuple[Volume, Volume, np.ndarray]) -> None:
    image, labels, right = real_case
    back = round_trip(image, labels.data)
    assert mean_dice(np.where(right, labels.data, 0), np.where(right, back, 0)) >= 0.97
    assert mean_dice(np.where(right, 0, labels.data), np.where(right, 0, back)) >= 0.97


@pytest.mark.parametrize("side, columns", [("right", slice(0, 80)), ("left", slice(80, 160))])
def test_one_real_leg_comes_back(real_case: tuple[Volume, Volume, np.ndarray], side: str, columns: slice) -> None:
    image, labels, _ = real_case
    crop = Volume.from_array(np.ascontiguousarray(image.data[:, :, columns]), image.spacing, name=f"real-{side}",
                             leg_side=side)
    crop_labels = np.ascontiguousarray(labels.data[:, :, columns])
    patches = to_patches(crop, crop_labels)
    assert patches.plan.legs == (side,) and patches.plan.records[0].mirrored == (side == "left")
    assert mean_dice(crop_labels, from_patches(one_hot(patches.labels), patches.plan)) >= 0.97


@pytest.mark.parametrize("name", ["dwi_mean.nii.gz", "dixon_water.nii.gz", "dixon_fat.nii.gz", "t2_mese.nii.gz"])
def test_both_legs_are_found_in_every_real_contrast(real_data: Path, name: str) -> None:
    volume = load_volume(real_data / name)
    plan = plan_patches(volume)
    assert plan.legs == ("right", "left")
    middle = volume.data[:, :, plan.splits[0] - 2: plan.splits[0] + 2]
    assert np.mean(middle > 0.2 * volume.data.max()) < 0.01  # the cut runs through air between the calves


@pytest.mark.parametrize("protocol, slices, parts", [("B", 25, 1), ("B", 45, 3), ("A", 90, 5)])
def test_synthetic_scans_come_back(protocol: str, slices: int, parts: int) -> None:
    case = make_case(seed=slices, protocol=protocol, slices=slices, size="tiny")
    for contrast, volume in case.images.items():
        patches = to_patches(volume, case.labels)
        assert patches.plan.legs == ("right", "left"), contrast
        assert len(patches.plan.parts) == parts and patches.images.shape[0] == 2 * parts
        assert patches.labels_outside == 0
        back = from_patches(one_hot(patches.labels), patches.plan)
        assert mean_dice(case.labels.data, back) >= 0.97, contrast


@pytest.mark.parametrize("randomize", [False, True])
def test_every_phantom_contrast_finds_both_legs(randomize: bool) -> None:
    case = make_case(seed=8, slices=25, contrasts=CONTRASTS, health="patient", size="tiny",
                     randomize_intensity=randomize)
    for contrast, volume in case.images.items():
        patches = to_patches(volume, case.labels)
        assert patches.plan.legs == ("right", "left"), contrast
        assert patches.labels_outside == 0, contrast


@pytest.mark.parametrize("legs", ["right", "left"])
def test_a_single_leg_scan_comes_back(legs: str) -> None:
    case = make_case(seed=7, slices=45, legs=legs, size="tiny")
    volume = case.images["dixon_water"]
    volume = volume.with_data(volume.data, leg_side=legs)  # a single leg's side comes from the scan's metadata
    patches = to_patches(volume, case.labels)
    assert patches.plan.legs == (legs,)
    assert all(record.mirrored == (legs == "left") for record in patches.plan.records)
    assert mean_dice(case.labels.data, from_patches(one_hot(patches.labels), patches.plan)) >= 0.97


def test_a_realistic_grid_comes_back() -> None:
    case = make_case(seed=11, protocol="B", slices=25, contrasts=("t1w",))
    patches = to_patches(case.images["t1w"], case.labels)
    assert patches.plan.legs == ("right", "left") and patches.labels_outside == 0
    assert mean_dice(case.labels.data, from_patches(one_hot(patches.labels), patches.plan)) >= 0.97


@pytest.mark.parametrize("slices", [25, 45, 90])
def test_elliptic_legs_come_back(slices: int) -> None:
    volume, labels = synthetic_legs(slices=slices, seed=slices)
    assert mean_dice(labels, round_trip(volume, labels)) >= 0.97


def test_touching_legs_come_back() -> None:
    volume, labels = synthetic_legs(slices=45, gap_mm=-8.0)
    assert mean_dice(labels, round_trip(volume, labels)) >= 0.97


def test_a_fine_grid_comes_back_with_probabilities_that_sum_to_one() -> None:
    volume, labels = synthetic_legs(slices=26, in_plane=(180, 240), spacing=(5.0, 1.25, 1.25))
    patches = to_patches(volume, labels)
    probabilities = probabilities_from_patches(one_hot(patches.labels), patches.plan)
    assert np.allclose(probabilities.sum(axis=0), 1.0, atol=1e-5)
    assert mean_dice(labels, np.argmax(probabilities, axis=0)) >= 0.97


def test_threaded_resampling_gives_the_same_result_as_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from legseg_core.inference import labels_and_uncertainty

    volume, labels = synthetic_legs(slices=45, seed=3)
    patches = to_patches(volume, labels)
    rng = np.random.default_rng(0)
    soft = one_hot(patches.labels) + rng.random((len(patches.labels), 8, *patches.labels.shape[1:]), dtype=np.float32)
    soft /= soft.sum(axis=1, keepdims=True)
    results = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("LEGSEG_THREADS", threads)
        results[threads] = labels_and_uncertainty(soft, patches.plan, probabilities=True)
    for single, threaded in zip(results["1"], results["3"]):
        np.testing.assert_array_equal(single, threaded)
    found, uncertainty, probabilities = results["3"]
    np.testing.assert_array_equal(found, from_patches(soft, patches.plan))
    np.testing.assert_allclose(probabilities, probabilities_from_patches(soft, patches.plan))
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, atol=1e-5)
    assert mean_dice(labels, found) >= 0.9 and 0.0 < uncertainty.max() <= 1.0
