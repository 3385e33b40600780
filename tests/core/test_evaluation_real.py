"""Evaluation on the real labelled calf: one leg's soleus shifted, scored against the manual labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.evaluation import OverlapTracker, evaluate_labels
from legseg_core.io import load_volume, save_labels


def shift_right_soleus(labels: np.ndarray, right: np.ndarray, voxels: int) -> np.ndarray:
    """A copy of the labels with the right leg's soleus (id 3) moved ``voxels`` along x."""
    soleus = (labels == 3) & right
    moved = labels.copy()
    moved[soleus] = 0
    moved[np.roll(soleus, voxels, axis=2)] = 3
    return moved


def test_shifted_soleus_on_the_real_case(real_case) -> None:
    _, labels, right = real_case
    reference = labels.data
    spacing = labels.spacing  # (6, 3, 3) mm
    one = evaluate_labels(reference, shift_right_soleus(reference, right, 1), spacing)
    two = evaluate_labels(reference, shift_right_soleus(reference, right, 2), spacing)
    for label in range(1, 8):
        a, b = reference == label, shift_right_soleus(reference, right, 1) == label
        assert one.muscle(label).dice == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
    sol_one, sol_two = one.muscle(3), two.muscle(3)
    assert 0.8 < sol_one.dice < 1.0 and sol_two.dice < sol_one.dice
    assert 0.0 < sol_one.ahd_voxels < sol_two.ahd_voxels < 1.0
    # in-plane voxels are 3 mm and slices 6 mm: every distance in mm is 3 to 6 times its length in voxels
    assert 3.0 * sol_one.ahd_voxels - 1e-9 <= sol_one.ahd_mm <= 6.0 * sol_one.ahd_voxels
    assert sol_one.hd95_mm == pytest.approx(3.0)
    assert one.muscle(4).dice == 1.0 and one.muscle(4).ahd_voxels == 0.0  # tibialis anterior untouched
    assert sol_one.volume_difference_ml == pytest.approx(0.0, abs=0.2)


def test_tracker_follows_a_slice_edit_on_the_real_case(real_case) -> None:
    _, labels, right = real_case
    reference = labels.data.copy()
    prediction = shift_right_soleus(reference, right, 1)
    tracker = OverlapTracker(reference, prediction, labels.spacing)
    k = reference.shape[0] // 2
    prediction[k] = reference[k]  # the user corrects one slice
    tracker.apply_edit(k)
    full = evaluate_labels(reference, prediction, labels.spacing)
    assert tracker.dice()[3] == pytest.approx(full.muscle(3).dice)
    assert tracker.scores().muscle(3) == full.muscle(3)


def test_evaluate_and_overlap_commands_on_real_files(real_case, tmp_path, capsys) -> None:
    image, labels, right = real_case
    reference = save_labels(labels.data, labels, tmp_path / "calf_labels.nii.gz")
    prediction = save_labels(shift_right_soleus(labels.data, right, 1), labels, tmp_path / "calf_pred.nii.gz")
    assert main(["evaluate", "--reference", str(reference), "--prediction", str(prediction), "--json"]) == 0
    case = json.loads(capsys.readouterr().out)["models"]["calf"]["cases"][0]
    direct = evaluate_labels(labels.data, shift_right_soleus(labels.data, right, 1), labels.spacing)
    assert case["muscles"][2]["ahd_mm"] == pytest.approx(direct.muscle(3).ahd_mm)
    assert case["spacing_mm"] == [6.0, 3.0, 3.0]
    output = tmp_path / "overlap.nii.gz"
    assert main(["overlap", "--reference", str(reference), "--prediction", str(prediction), "-o", str(output),
                 "--png", str(tmp_path / "figure4.png"), "--image", str(image.geometry.path)]) == 0
    written = load_volume(output)
    assert written.shape == image.shape and np.allclose(written.affine, image.affine)
    assert set(np.unique(written.data)) == {0, 1, 2, 4}  # agree, predicted only, manual only (nothing swapped)
