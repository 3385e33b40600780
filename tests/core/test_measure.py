"""Per-muscle measurements: volume, cross-sectional area, image means, fat fraction, erosion, and `legseg measure`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import ndimage

from legseg_core.cli import EXIT_USER_ERROR, main
from legseg_core.commands.measure import parse_images
from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.evaluation import EvaluationError, erode_labels, measure_labels, measure_volumes
from legseg_core.io import Volume, load_volume, save_labels

SPACING = (5.0, 2.0, 1.5)


def block_labels() -> np.ndarray:
    labels = np.zeros((6, 12, 14), dtype=np.uint8)
    labels[1:5, 2:8, 2:10] = 3  # 4 slices of 6 x 8 voxels
    labels[2, 9:11, 3:6] = 6  # one slice of 2 x 3 voxels
    return labels


def test_volume_area_and_profile() -> None:
    results = {m.abbr: m for m in measure_labels(block_labels(), SPACING)}
    voxel_area = SPACING[1] * SPACING[2]
    sol, edl, gl = results["SOL"], results["EDL"], results["GL"]
    assert sol.voxels == 192 and sol.volume_ml == pytest.approx(192 * 5.0 * voxel_area / 1000)
    assert sol.mean_area_mm2 == pytest.approx(48 * voxel_area) and sol.slices == 4
    assert sol.area_profile_mm2 == pytest.approx((0, 48 * voxel_area, 48 * voxel_area, 48 * voxel_area,
                                                  48 * voxel_area, 0))
    assert edl.mean_area_mm2 == pytest.approx(6 * voxel_area) and edl.slices == 1
    assert gl.voxels == 0 and math.isnan(gl.mean_area_mm2) and gl.volume_ml == 0.0


def test_image_means_and_fat_fraction_against_numpy() -> None:
    rng = np.random.default_rng(0)
    labels = block_labels()
    fat, water = rng.uniform(0, 100, labels.shape), rng.uniform(0, 300, labels.shape)
    fat[1, 3, 3] = water[1, 3, 3] = 0.0  # F + W = 0: left out of the fat fraction
    sol = {m.abbr: m for m in measure_labels(labels, SPACING, {"Fat": fat, "WATER": water, "t2": water / 10})}["SOL"]
    mask = labels == 3
    assert sol.image_means["Fat"] == pytest.approx(fat[mask].mean())
    assert sol.image_sds["WATER"] == pytest.approx(water[mask].std())
    assert sol.image_means["t2"] == pytest.approx(water[mask].mean() / 10)
    valid = mask & (fat + water > 0)
    expected = fat[valid] / (fat[valid] + water[valid])
    assert sol.fat_fraction == pytest.approx(expected.mean()) and sol.fat_fraction_sd == pytest.approx(expected.std())
    without = measure_labels(labels, SPACING, {"fat": fat})
    assert math.isnan(without[2].fat_fraction)


def test_erosion_in_plane_and_3d() -> None:
    labels = block_labels()
    in_plane = erode_labels(labels, 1)
    expected = ndimage.binary_erosion(labels == 3, np.array([np.zeros((3, 3)), [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
                                                             np.zeros((3, 3))], dtype=bool))
    np.testing.assert_array_equal(in_plane == 3, expected)
    assert (in_plane == 6).sum() == 0  # a 2-voxel-wide muscle vanishes
    assert np.count_nonzero((in_plane == 3).any(axis=(1, 2))) == 4  # every slice kept
    assert np.count_nonzero((erode_labels(labels, 1, "3d") == 3).any(axis=(1, 2))) == 2
    values = np.arange(labels.size, dtype=float).reshape(labels.shape)
    sol = measure_labels(labels, SPACING, {"index": values}, erode=1)[2]
    assert sol.voxels == 192 and sol.voxels_measured == int(expected.sum())
    assert sol.image_means["index"] == pytest.approx(values[expected].mean())
    with pytest.raises(ImageValueError, match="0 or more voxels, got -1"):
        erode_labels(labels, -1)
    with pytest.raises(ImageValueError, match="'in-plane' or '3d', got '2d'"):
        erode_labels(labels, 1, "2d")  # type: ignore[arg-type]


def test_images_off_the_label_grid_are_refused() -> None:
    labels = block_labels()
    with pytest.raises(GridMismatchError, match=r"image 'fat' of shape \(6, 12, 13\) is not on the label grid"):
        measure_labels(labels, SPACING, {"fat": np.zeros((6, 12, 13))})
    volume = Volume.from_array(labels, SPACING)
    shifted = Volume.from_array(np.zeros(labels.shape), SPACING, origin=(10.0, 0.0, 0.0))
    with pytest.raises(GridMismatchError, match="image 'fat'.*do not share the grid"):
        measure_volumes(volume, {"fat": shifted})


@pytest.fixture(scope="module")
def dixon_with_labels(real_data):
    """The real Dixon pair and a label map on its grid: thresholded water (two legs) and fat regions."""
    fat = load_volume(real_data / "dixon_fat.nii.gz")
    water = load_volume(real_data / "dixon_water.nii.gz")
    labels = np.zeros(fat.shape, dtype=np.uint8)
    half = fat.shape[2] // 2
    muscle_like = water.data > np.percentile(water.data, 80)
    labels[:, :, :half][muscle_like[:, :, :half]] = 1
    labels[:, :, half:][muscle_like[:, :, half:]] = 2
    labels[fat.data > np.percentile(fat.data, 95)] = 5
    return fat, water, labels


def test_fat_fraction_on_the_real_dixon_pair(dixon_with_labels) -> None:
    fat, water, labels = dixon_with_labels
    results = measure_volumes(fat.with_data(labels), {"fat": fat, "water": water}, erode=1)
    f, w = fat.data.astype(float), water.data.astype(float)
    eroded = erode_labels(labels, 1)
    for label in (1, 2, 5):
        valid = (eroded == label) & (f + w > 0)
        expected = (f[valid] / (f[valid] + w[valid])).mean()
        measured = results[label - 1]
        assert measured.fat_fraction == pytest.approx(expected, rel=1e-9)
        assert measured.image_means["water"] == pytest.approx(w[eroded == label].mean(), rel=1e-9)
        assert measured.volume_ml == pytest.approx((labels == label).sum() * np.prod(fat.spacing) / 1000)
    assert results[4].fat_fraction > 0.5 > results[0].fat_fraction  # fat-like region vs water-like region


def test_measure_command_on_the_real_dixon_pair(dixon_with_labels, real_data, tmp_path, capsys) -> None:
    fat, water, labels = dixon_with_labels
    path = save_labels(labels, fat, tmp_path / "dixon_labels.nii.gz")
    images = ["--image", f"fat={real_data / 'dixon_fat.nii.gz'}", "--image", f"water={real_data / 'dixon_water.nii.gz'}"]
    assert main(["measure", str(path), *images, "--json", "--csv", str(tmp_path / "m.csv")]) == 0
    payload = json.loads(capsys.readouterr().out)
    gl = payload["muscles"][0]
    mask = (labels == 1) & (fat.data.astype(float) + water.data > 0)
    f, w = fat.data[mask].astype(float), water.data[mask].astype(float)
    assert gl["fat_fraction"] == pytest.approx((f / (f + w)).mean(), rel=1e-9)
    assert len(gl["area_profile_mm2"]) == fat.shape[0]
    assert payload["muscles"][2]["fat_fraction"] is None  # SOL absent
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 8
    assert main(["measure", str(path), *images]) == 0
    assert "FF" in capsys.readouterr().out


def test_measure_command_refusals(real_data, tmp_path, capsys) -> None:
    labels = block_labels()
    path = save_labels(labels, Volume.from_array(labels, SPACING), tmp_path / "labels.nii.gz")
    assert main(["measure", str(path), "--image", f"fat={real_data / 'dixon_fat.nii.gz'}"]) == EXIT_USER_ERROR
    assert "do not share the grid" in capsys.readouterr().err
    assert main(["measure", str(real_data / "labels.nii.gz")]) == EXIT_USER_ERROR
    assert "label values must lie in 0..7, found 0..26" in capsys.readouterr().err
    assert main(["measure", str(path), "--image", "fat.nii.gz"]) == EXIT_USER_ERROR
    assert "--image must be NAME=PATH" in capsys.readouterr().err
    with pytest.raises(EvaluationError, match="NAME=PATH, e.g. fat=dixon_fat.nii.gz; got '=x.nii'"):
        parse_images(["=x.nii"])
    with pytest.raises(EvaluationError, match="'FAT' is given twice"):
        parse_images(["fat=a.nii", "FAT=b.nii"])


def test_measure_command_relabels_the_real_case(real_data, capsys) -> None:
    assert main(["measure", str(real_data / "labels.nii.gz"), "--relabel", "qmritools-calf",
                 "--image", f"dwi={real_data / 'dwi_mean.nii.gz'}", "--erode", "1", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [m["muscle"] for m in payload["muscles"]] == ["GL", "GM", "SOL", "TA", "PER", "EDL", "TP"]
    assert all(m["volume_ml"] > 10 and m["voxels_measured"] < m["voxels"] for m in payload["muscles"])
