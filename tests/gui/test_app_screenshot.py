"""`legseg app --open SCAN --screenshot OUT.png --quit`: the muscle colours appear where the labels are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel
import numpy as np
from scipy import ndimage

from legseg_core.io import save_image, save_labels
from legseg_core.labels import MUSCLES
from legseg_core.store import Store
from legseg_gui.qimage import qimage_to_array
from tests.gui.app_helpers import tiny_phantom

MUSCLE_COLORS = np.array([m.color for m in MUSCLES], dtype=float)


def legseg(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "legseg_core.cli", *arguments], capture_output=True, text=True,
                          timeout=180, env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})


def read_png(path: Path) -> np.ndarray:
    from qtpy.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable PNG"
    return qimage_to_array(image)[..., :3].astype(float)


def voxel_pixels(view: dict, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Screenshot pixel (row, column) of the centres of voxels (y, x) of the shown slice."""
    left, top, width, height = view["image_rect"]
    return (top + (ys + 0.5) * height / shape[0]).astype(int), (left + (xs + 0.5) * width / shape[1]).astype(int)


def closest_muscle(colors: np.ndarray, opacity: float) -> np.ndarray:
    """For blended pixels (grey scan under a muscle colour at ``opacity``), the muscle whose colour explains
    them best: what is left after taking the muscle's share away must be grey (equal channels)."""
    residual = colors[:, None, :] - opacity * MUSCLE_COLORS[None, :, :]
    spread = residual.max(axis=2) - residual.min(axis=2)
    return np.array([m.id for m in MUSCLES])[spread.argmin(axis=1)]


def test_the_screenshot_shows_each_muscle_in_its_colour_where_its_labels_are(tmp_path) -> None:
    phantom = tiny_phantom(seed=3)
    image = phantom.images["t1w"]
    scan = save_image(image.data, image, tmp_path / "calf.nii.gz")
    labels_file = save_labels(phantom.labels.data, image, tmp_path / "calf_labels.nii.gz")
    out = tmp_path / "shots" / "window.png"
    z = image.shape[0] // 2
    result = legseg("app", "--store", str(tmp_path / "store"), "--open", str(scan), "--labels", str(labels_file),
                    "--slice", str(z), "--size", "1100x760", "--screenshot", str(out), "--quit")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "screenshot:" in result.stdout
    view = json.loads(out.with_suffix(".json").read_text())
    picture = read_png(out)
    assert view["slice"] == z and view["overlay"] == "labels" and picture.shape[:2] == (760, 1100)
    labels = phantom.labels.data[z]
    shown = 0
    for muscle in MUSCLES:
        inside = ndimage.binary_erosion(labels == muscle.id, iterations=1)
        if not inside.any():
            continue
        rows, columns = voxel_pixels(view, *np.nonzero(inside), labels.shape)
        found = closest_muscle(picture[rows, columns], view["opacity"])
        assert np.mean(found == muscle.id) > 0.9, f"{muscle.abbr} is not shown in its colour where it is labelled"
        shown += 1
    assert shown >= 5
    background = ndimage.binary_erosion(labels == 0, iterations=2)
    rows, columns = voxel_pixels(view, *np.nonzero(background), labels.shape)
    colors = picture[rows, columns]
    assert np.median(colors.max(axis=1) - colors.min(axis=1)) <= 3  # the scan in grey, no colour
    assert not (tmp_path / "store").exists(), "a headless run leaves the store as it was"


def test_both_legs_of_a_wide_scan_get_most_of_the_width_beside_the_panels(tmp_path) -> None:
    """A bilateral scan (about twice as wide as deep) at the default window size: the axial view, where the user
    corrects, draws the slice at least 0.32 of the window wide (the docks, the sections and the legend share the
    rest; with the full muscle names in the legend and wider docks it was 0.19, and 0.28 while a row of five
    buttons in the fine-tune panel widened the docks)."""
    z, y, x = np.indices((12, 100, 220))
    legs = ((y - 50) / 40) ** 2 + ((x - 60) / 50) ** 2 < 1
    legs |= ((y - 50) / 40) ** 2 + ((x - 160) / 50) ** 2 < 1
    image = np.where(legs, 200.0, 5.0).astype(np.float32)
    affine = np.diag([1.0, 1.0, 5.0, 1.0])
    scan = tmp_path / "legs.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.ascontiguousarray(image.transpose(2, 1, 0)), affine), str(scan))
    out = tmp_path / "window.png"
    result = legseg("app", "--store", str(tmp_path / "store"), "--open", str(scan), "--size", "1400x900",
                    "--screenshot", str(out), "--quit")
    assert result.returncode == 0, result.stderr[-3000:]
    view = json.loads(out.with_suffix(".json").read_text())
    assert view["shape"] == [12, 100, 220]
    assert view["image_rect"][2] >= 0.32 * 1400, view["image_rect"]


def test_an_unknown_case_or_path_is_a_clear_error(tmp_path) -> None:
    Store.init(tmp_path / "store")
    result = legseg("app", "--store", str(tmp_path / "store"), "--open", "case-000000000000", "--quit")
    assert result.returncode == 2 and "neither a case of the store" in result.stderr
    assert "Traceback" not in result.stderr


def test_labels_that_are_not_legseg_labels_fail_the_headless_run_with_the_reason(tmp_path) -> None:
    phantom = tiny_phantom(seed=3)
    image = phantom.images["t1w"]
    scan = save_image(image.data, image, tmp_path / "calf.nii.gz")
    other = save_labels(np.full(image.shape, 9, np.uint8), image, tmp_path / "other_labels.nii.gz")
    result = legseg("app", "--store", str(tmp_path / "store"), "--open", str(scan), "--labels", str(other),
                    "--screenshot", str(tmp_path / "shot.png"), "--quit")
    assert result.returncode == 2 and "label values must lie in 0..7, found 9..9" in result.stderr
    assert (tmp_path / "shot.png").is_file()
