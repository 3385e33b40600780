"""Preprocessing (paper 2.4/2.5): settings, z parts, resampling, leg finding, the plan and its inverse, bad inputs.

The synthetic calves here are ellipses with a fat ring, seven muscle sectors and a dark bone;
the left leg is the exact mirror image of the right one, which lets the tests check that
mirroring makes both legs' patches alike.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from legseg_core.errors import GridMismatchError, ImageShapeError, ImageValueError, PreprocessingError
from legseg_core.io import Volume
from legseg_core.preprocess import (PatchPlan, PreprocessConfig, from_patches, plan_patches,
                                    probabilities_from_patches, to_patches)
from legseg_core.preprocess.parts import split_slices
from legseg_core.preprocess.resample import resize_linear, resize_nearest

LEG_RADIUS_MM = 40.0


def synthetic_legs(slices: int = 30, in_plane: tuple[int, int] = (80, 112), spacing: tuple[float, float, float] = (6.0, 3.0, 3.0),
                   legs: str = "both", gap_mm: float = 20.0, seed: int = 0) -> tuple[Volume, np.ndarray]:
    """Elliptic calves on a ``[z, y, x]`` grid (spacing mm): the scan Volume and uint8 labels 0..7.

    ``legs`` is ``both``, ``right`` (at smaller x), ``left`` (at larger x) or ``centre`` (one
    leg in the middle); ``gap_mm`` is the skin-to-skin gap between two legs (negative: they touch).
    """
    rng = np.random.default_rng(seed)
    z = np.arange(slices)[:, None, None]
    y = (np.arange(in_plane[0])[None, :, None] - (in_plane[0] - 1) / 2) * spacing[1]
    x = (np.arange(in_plane[1])[None, None, :] - (in_plane[1] - 1) / 2) * spacing[2]
    radius = LEG_RADIUS_MM * (0.75 + 0.25 * np.sin(np.pi * (z + 0.5) / slices))
    image = np.zeros((slices, *in_plane), dtype=np.float32)
    labels = np.zeros((slices, *in_plane), dtype=np.uint8)
    for side in {"both": (-1, 1), "right": (-1,), "left": (1,), "centre": (0,)}[legs]:
        lateral = (x - side * (LEG_RADIUS_MM + gap_mm / 2)) * (-1 if side > 0 else 1)  # the left leg is mirrored
        _draw_leg(image, labels, y, lateral, radius, z / slices)
    image += np.abs(rng.normal(0.0, 2.0, image.shape)).astype(np.float32)
    return Volume.from_array(image, spacing, name=f"synthetic-{legs}-{slices}"), labels


def _draw_leg(image: np.ndarray, labels: np.ndarray, y: np.ndarray, x: np.ndarray, radius: np.ndarray,
              height: np.ndarray) -> None:
    """One calf: skin and fat ring (60), seven muscle sectors (93..111), a bone (15)."""
    distance = np.hypot(x, y / 0.85)
    angle = np.arctan2(y, x)
    sector = np.digitize(angle + 0.4 * height, np.linspace(-np.pi, np.pi + 0.4, 8)[1:-1]) + 1
    bone = np.hypot(x - 0.2 * radius, y + 0.3 * radius) < 0.15 * radius
    muscle = (distance < 0.85 * radius) & ~bone
    leg = np.broadcast_to(distance < radius, image.shape)
    image[leg] = 60.0
    muscle, sector = np.broadcast_arrays(muscle, sector)
    image[muscle] = 90.0 + 3.0 * sector[muscle]
    image[np.broadcast_to(bone, image.shape) & leg] = 15.0
    labels[muscle] = sector[muscle]


def one_hot(labels: np.ndarray, classes: int = 8) -> np.ndarray:
    """``[n, z, y, x]`` labels -> ``[n, classes, z, y, x]`` float32 probabilities."""
    return (labels[:, None] == np.arange(classes)[None, :, None, None, None]).astype(np.float32)


def mean_dice(reference: np.ndarray, predicted: np.ndarray) -> float:
    """Mean Dice over the seven muscles (a muscle absent from both counts as 1)."""
    scores = []
    for muscle in range(1, 8):
        a, b = reference == muscle, predicted == muscle
        total = a.sum() + b.sum()
        scores.append(1.0 if total == 0 else 2.0 * np.logical_and(a, b).sum() / total)
    return float(np.mean(scores))


# ---- settings and z parts ------------------------------------------------------------------


def test_defaults_are_the_papers() -> None:
    config = PreprocessConfig()
    assert config.patch_shape == (20, 104, 104)
    assert config.part_slices == (20, 21) and config.overlap_slices == 3 and config.single_part_max_slices == 25
    assert config.normalise_range == (0.0, 100.0) and config.mirror_left and config.crop_background


@pytest.mark.parametrize("settings, message", [
    ({"patch_shape": (20, 104)}, "patch_shape"), ({"part_slices": (21, 20)}, "part_slices"),
    ({"overlap_slices": 20}, "overlap_slices"), ({"normalise_range": (100.0, 0.0)}, "normalise_range"),
    ({"normalise_percentiles": (5.0, 101.0)}, "normalise_percentiles"), ({"normalise_scope": "leg"}, "normalise_scope"),
    ({"single_leg_side": "middle"}, "single_leg_side"), ({"valley_ratio": 1.5}, "valley_ratio"),
    ({"margin_mm": -1.0}, "margin_mm")])
def test_bad_settings_are_refused_by_name(settings: dict, message: str) -> None:
    with pytest.raises(PreprocessingError, match=message):
        PreprocessConfig(**settings)


def test_settings_round_trip_through_json_and_refuse_unknown_keys() -> None:
    config = PreprocessConfig(margin_mm=4.0, normalise_scope="patch", normalise_percentiles=(1.0, 99.0))
    assert PreprocessConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(PreprocessingError, match=r"unknown preprocessing settings \['zoom'\]"):
        PreprocessConfig.from_dict({"zoom": 2})
    with pytest.raises(PreprocessingError, match="malformed"):
        PreprocessConfig.from_dict({"patch_shape": "abc"})


@pytest.mark.parametrize("slices", [8, 13, 20, 25])
def test_short_scans_are_one_part(slices: int) -> None:
    assert split_slices(slices, PreprocessConfig()) == [(0, slices)]


@pytest.mark.parametrize("slices", [26, 30, 39, 40, 45, 60, 90, 91, 137, 200])
def test_long_scans_split_into_parts_of_20_to_21_slices_overlapping_by_3_or_more(slices: int) -> None:
    parts = split_slices(slices, PreprocessConfig())
    assert parts[0][0] == 0 and parts[-1][1] == slices
    assert all(20 <= stop - start <= 21 for start, stop in parts)
    overlaps = [parts[i][1] - parts[i + 1][0] for i in range(len(parts) - 1)]
    assert min(overlaps) >= 3
    assert len(split_slices(slices, PreprocessConfig(part_slices=(20, 20)))) >= len(parts)


# ---- resampling ----------------------------------------------------------------------------


def test_linear_resampling_keeps_constants_and_ramps() -> None:
    constant = np.full((5, 7, 9), 3.5, dtype=np.float32)
    assert np.allclose(resize_linear(constant, (20, 30, 11), (0, 1, 2)), 3.5)
    ramp = np.arange(10, dtype=np.float32)[None, :].repeat(2, axis=0)
    up = resize_linear(ramp, (40,), (1,))
    inner = up[0, 2:-2]  # away from the clamped edges a ramp stays a ramp
    assert np.allclose(np.diff(inner), 0.25, atol=1e-5)
    assert up.dtype == np.float32


def test_a_window_of_the_output_equals_that_slice_of_the_whole() -> None:
    data = np.random.default_rng(1).random((3, 12, 17)).astype(np.float32)
    whole = resize_linear(data, (5, 31, 40), (0, 1, 2))
    part = resize_linear(data, (5, 31, 40), (0, 1, 2), [(0, 5), (4, 20), (10, 39)])
    np.testing.assert_allclose(part, whole[:, 4:20, 10:39], rtol=1e-6, atol=1e-6)


def test_nearest_resampling_up_then_down_returns_the_labels() -> None:
    labels = np.random.default_rng(2).integers(0, 8, (6, 10, 14)).astype(np.uint8)
    up = resize_nearest(labels, (12, 30, 42), (0, 1, 2))
    assert set(np.unique(up)) <= set(np.unique(labels)) and up.dtype == np.uint8
    np.testing.assert_array_equal(resize_nearest(up, labels.shape, (0, 1, 2)), labels)


# ---- finding and splitting the legs --------------------------------------------------------


def test_two_legs_are_found_and_the_right_one_is_at_smaller_x() -> None:
    volume, _ = synthetic_legs()
    plan = plan_patches(volume)
    assert plan.legs == ("right", "left")
    assert plan.num_patches == 4  # 2 legs x 2 parts for 30 slices
    split = plan.splits[0]
    assert abs(split - volume.shape[2] / 2) <= 2
    right, left = plan.records[0], plan.records[1]
    assert right.leg == "right" and not right.mirrored and right.columns == (0, split)
    assert left.leg == "left" and left.mirrored and left.columns == (split, volume.shape[2])
    assert right.x[1] <= split <= left.x[0]


@pytest.mark.parametrize("gap_mm", [0.0, -6.0, -16.0])
def test_touching_legs_are_split_between_them(gap_mm: float) -> None:
    volume, labels = synthetic_legs(gap_mm=gap_mm)
    plan = plan_patches(volume)
    assert plan.legs == ("right", "left")
    centre = (volume.shape[2] - 1) / 2
    assert all(abs(split - centre) <= 2 for split in plan.splits)
    patches = to_patches(volume, labels)
    assert patches.labels_outside == 0


def test_an_inverted_contrast_finds_the_same_legs() -> None:
    volume, labels = synthetic_legs()
    inverted = volume.with_data(volume.data.max() - volume.data)  # air bright, the legs dark
    plan, again = plan_patches(volume), plan_patches(inverted)
    assert again.legs == ("right", "left")
    for record, other in zip(plan.records, again.records):
        assert abs(record.x[0] - other.x[0]) <= 2 and abs(record.y[0] - other.y[0]) <= 2
    assert to_patches(inverted, labels).labels_outside == 0


@pytest.mark.parametrize("legs, side", [("right", "right"), ("left", "left")])
def test_a_single_leg_takes_its_side_from_where_it_lies(legs: str, side: str) -> None:
    volume, _ = synthetic_legs(legs=legs, in_plane=(80, 64))
    plan = plan_patches(volume)
    assert plan.legs == (side,)
    assert plan.splits == (None, None)
    assert all(record.mirrored == (side == "left") for record in plan.records)


def test_a_single_centred_leg_takes_the_configured_side_or_the_scans_hint(caplog: pytest.LogCaptureFixture) -> None:
    volume, labels = synthetic_legs(legs="centre")
    for side in ("left", "right"):
        plan = plan_patches(volume, PreprocessConfig(single_leg_side=side))
        assert plan.legs == (side,) and not plan.side_guessed
    hinted = Volume.from_array(volume.data, volume.spacing, name="hinted", leg_side="left")
    assert plan_patches(hinted).legs == ("left",) and not plan_patches(hinted).side_guessed
    guessed = plan_patches(volume)
    assert guessed.legs == ("right",) and guessed.side_guessed
    assert PatchPlan.from_dict(guessed.to_dict()).side_guessed
    with caplog.at_level("WARNING", logger="legseg_core.preprocess.extract"):
        to_patches(volume, labels)  # training data: a guessed side is worth a warning
    assert "taken as a right leg" in caplog.text


def test_mirroring_makes_the_left_leg_look_like_the_right_one() -> None:
    volume, labels = synthetic_legs()
    patches = to_patches(volume, labels)
    right, left = patches.labels[0], patches.labels[1]
    assert np.mean(right == left) > 0.97  # the phantom's left leg is the mirror image of its right leg
    unmirrored = to_patches(volume, labels, PreprocessConfig(mirror_left=False)).labels[1]
    assert np.mean(right == unmirrored) < 0.9


def test_patches_are_float32_on_the_patch_grid_and_range_normalised() -> None:
    volume, labels = synthetic_legs(slices=45)
    patches = to_patches(volume, labels)
    assert patches.images.shape == (6, 20, 104, 104) and patches.images.dtype == np.float32
    assert patches.labels.shape == (6, 20, 104, 104) and patches.labels.dtype == np.uint8
    assert patches.images.min() >= 0.0 and patches.images.max() <= 100.0
    assert patches.images.max() == pytest.approx(100.0, abs=2.0)
    assert set(np.unique(patches.labels)) == set(range(8))
    assert all(record.zoom(patches.plan.patch_shape)[1] == pytest.approx(record.zoom(patches.plan.patch_shape)[2],
                                                                         rel=0.03) for record in patches.plan.records)


def test_without_cropping_each_box_spans_the_legs_columns() -> None:
    volume, _ = synthetic_legs()
    plan = plan_patches(volume, PreprocessConfig(crop_background=False, keep_aspect=False))
    right = plan.records[0]
    assert right.y == (0, volume.shape[1]) and right.x == (0, plan.splits[0])


def test_padding_beyond_the_legs_columns_is_background_and_ignored_on_the_way_back() -> None:
    volume, labels = synthetic_legs(in_plane=(112, 112))
    patches = to_patches(volume, labels, PreprocessConfig(crop_background=False))
    right = patches.plan.records[0]
    assert right.x[1] > right.columns[1]  # the square box reaches into the left leg's columns
    padded = patches.images[0][:, :, -3:]
    assert np.all(padded == 0.0) and np.all(patches.labels[0][:, :, -3:] == 0)
    probabilities = one_hot(patches.labels)
    garbage = probabilities.copy()
    garbage[0, :, :, :, -3:] = 0.0
    garbage[0, 7, :, :, -3:] = 1.0  # whatever a network says in the padding does not reach the scan
    np.testing.assert_array_equal(from_patches(garbage, patches.plan), from_patches(probabilities, patches.plan))


# ---- the plan and its inverse --------------------------------------------------------------


def test_the_plan_round_trips_through_json() -> None:
    volume, labels = synthetic_legs(slices=45)
    patches = to_patches(volume, labels)
    again = PatchPlan.from_dict(json.loads(json.dumps(patches.plan.to_dict())))
    assert again == patches.plan
    assert patches.plan.to_dict()["records"][0]["zoom"][0] == pytest.approx(1.0)
    probabilities = one_hot(patches.labels)
    np.testing.assert_array_equal(from_patches(probabilities, again), from_patches(probabilities, patches.plan))


def test_a_plan_of_another_schema_version_is_refused() -> None:
    volume, _ = synthetic_legs()
    data = plan_patches(volume).to_dict()
    with pytest.raises(PreprocessingError, match="schema version 99"):
        PatchPlan.from_dict({**data, "schema_version": 99})
    with pytest.raises(PreprocessingError, match="malformed"):
        PatchPlan.from_dict({key: value for key, value in data.items() if key != "records"})


def test_overlapping_slices_average_the_parts() -> None:
    volume, _ = synthetic_legs(slices=45)
    plan = plan_patches(volume)
    probabilities = np.zeros((plan.num_patches, 8, 20, 104, 104), dtype=np.float32)
    for index, record in enumerate(plan.records):
        probabilities[index, 1 + record.part] = 1.0  # part 0 says muscle 1, part 1 says muscle 2, ...
    result = probabilities_from_patches(probabilities, plan)
    (first, second) = plan.parts[:2]
    overlap = slice(second[0], first[1])
    y, x = volume.shape[1] // 2, plan.records[0].x[0] + 10
    assert np.allclose(result[1, overlap, y, x], 0.5) and np.allclose(result[2, overlap, y, x], 0.5)
    assert np.allclose(result[1, first[0]: second[0], y, x], 1.0)
    assert np.allclose(result.sum(axis=0), 1.0, atol=1e-5)
    assert np.all(result[0, :, 0, 0] == 1.0)  # a corner outside every box is background


def test_the_inverse_unmirrors_the_left_leg() -> None:
    volume, _ = synthetic_legs()
    plan = plan_patches(volume)
    probabilities = np.zeros((plan.num_patches, 8, 20, 104, 104), dtype=np.float32)
    probabilities[:, 1, :, :, :52] = 1.0  # patch's small-x half: muscle 1 (lateral on a right leg)
    probabilities[:, 2, :, :, 52:] = 1.0
    labels = from_patches(probabilities, plan)
    y = volume.shape[1] // 2
    right, left = plan.records[0], plan.records[1]
    assert labels[5, y, right.x[0] + 3] == 1 and labels[5, y, right.x[1] - 3] == 2
    assert labels[5, y, left.x[0] + 3] == 2 and labels[5, y, left.x[1] - 3] == 1


def test_labels_are_the_argmax_of_the_probabilities() -> None:
    volume, _ = synthetic_legs()
    plan = plan_patches(volume)
    probabilities = np.random.default_rng(3).random((plan.num_patches, 8, 20, 104, 104), dtype=np.float32)
    labels = from_patches(probabilities, plan)
    full = probabilities_from_patches(probabilities, plan)
    assert full.shape == (8, *volume.shape) and full.dtype == np.float32
    np.testing.assert_array_equal(labels, np.argmax(full, axis=0))


def test_the_way_back_computes_each_legs_box_and_not_the_gap_between_the_legs() -> None:
    from legseg_core.preprocess import reduce_covered

    volume, _ = synthetic_legs(slices=45, gap_mm=40.0)
    plan = plan_patches(volume)
    probabilities = np.random.default_rng(4).random((plan.num_patches, 8, 20, 104, 104), dtype=np.float32)
    reached = np.zeros(volume.shape, dtype=int)

    def count(where: tuple[slice, slice, slice], covered: np.ndarray) -> None:
        reached[where] += 1

    reduce_covered(probabilities, plan, count)
    right, left = (max(record.inside(volume.shape)[1][1] for record in plan.records if record.leg == side)
                   for side in ("right", "left"))
    gap = slice(right, min(record.inside(volume.shape)[1][0] for record in plan.records if record.leg == "left"))
    assert gap.stop > gap.start and not reached[:, :, gap].any()  # the gap between the legs: never computed
    assert reached.max() == 1  # no voxel reduced twice
    for record in plan.records:  # every voxel a patch reaches is reduced
        (y0, y1), (x0, x1) = record.inside(volume.shape)
        assert reached[record.z[0]: record.z[1], y0:y1, x0:x1].all()


def test_legs_whose_boxes_overlap_share_one_box_on_the_way_back() -> None:
    """A plan read from a file may give two legs overlapping columns: their patches must then be averaged
    where they overlap, as one leg's overlapping parts are, not written one over the other."""
    from dataclasses import replace

    volume, _ = synthetic_legs()
    plan = plan_patches(volume)
    wide = [replace(record, columns=(0, volume.shape[2]), x=(record.x[0] - 30, record.x[1] + 30))
            for record in plan.records]
    two_legs = replace(plan, records=tuple(wide))
    one_leg = replace(plan, records=tuple(replace(record, leg="right") for record in wide))
    probabilities = np.random.default_rng(5).random((plan.num_patches, 8, 20, 104, 104), dtype=np.float32)
    np.testing.assert_array_equal(probabilities_from_patches(probabilities, two_legs),
                                  probabilities_from_patches(probabilities, one_leg))


# ---- bad inputs ----------------------------------------------------------------------------


def test_an_empty_scan_has_no_leg() -> None:
    volume = Volume.from_array(np.zeros((30, 80, 112), dtype=np.float32), (6.0, 3.0, 3.0), name="blank")
    with pytest.raises(PreprocessingError, match="blank: no leg-like foreground"):
        to_patches(volume)


@pytest.mark.parametrize("kind", ["normal", "uniform", "rayleigh"])
def test_pure_noise_has_no_leg(kind: str) -> None:
    rng = np.random.default_rng(4)
    data = getattr(rng, kind)(size=(30, 80, 112)).astype(np.float32)
    volume = Volume.from_array(data, (6.0, 3.0, 3.0), name=f"noise-{kind}")
    with pytest.raises(PreprocessingError, match=f"noise-{kind}: no leg-like foreground"):
        to_patches(volume)


def test_a_speck_is_not_a_leg() -> None:
    data = np.abs(np.random.default_rng(5).normal(0, 1, (30, 80, 112))).astype(np.float32)
    data[10:20, 40:44, 50:54] = 100.0  # 12 x 12 mm: far smaller than a calf
    with pytest.raises(PreprocessingError, match="speck: no leg-like foreground"):
        to_patches(Volume.from_array(data, (6.0, 3.0, 3.0), name="speck"))


@pytest.mark.parametrize("shape", [(5, 80, 112), (30, 20, 112), (30, 80, 16)])
def test_a_scan_too_small_for_the_patch_grid_is_refused(shape: tuple[int, int, int]) -> None:
    volume = Volume.from_array(np.ones(shape, dtype=np.float32), (6.0, 3.0, 3.0), name="tiny")
    with pytest.raises(PreprocessingError, match=r"tiny: scan of shape .* is too small for the patch grid"):
        to_patches(volume)


def test_a_scan_with_nan_is_refused() -> None:
    volume, _ = synthetic_legs()
    volume.data[3, 4, 5] = np.nan
    with pytest.raises(ImageValueError, match="synthetic-both-30: the scan holds NaN"):
        to_patches(volume)


def test_labels_on_another_grid_are_refused() -> None:
    volume, labels = synthetic_legs()
    with pytest.raises(GridMismatchError, match="labels of shape"):
        to_patches(volume, labels[:, :-1])
    shifted = Volume.from_array(labels, volume.spacing, origin=(5.0, 0.0, 0.0), name="moved")
    with pytest.raises(GridMismatchError, match="labels moved do not share the grid"):
        to_patches(volume, shifted)
    with pytest.raises(ImageValueError, match="whole numbers in 0..7"):
        to_patches(volume, labels.astype(np.int16) + 8)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    volume, _ = synthetic_legs()
    plan = plan_patches(volume)
    with pytest.raises(ImageShapeError, match=r"the plan expects \(4, 8, 20, 104, 104\)"):
        from_patches(np.zeros((3, 8, 20, 104, 104), dtype=np.float32), plan)
    with pytest.raises(ImageShapeError, match="have shape"):
        probabilities_from_patches(np.zeros((4, 104, 104, 20, 8), dtype=np.float32), plan)
    with pytest.raises(ImageValueError, match="floating point"):
        from_patches(np.zeros((4, 8, 20, 104, 104), dtype=np.int64), plan)
