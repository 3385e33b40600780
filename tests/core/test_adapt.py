"""Case adaptation: masked losses, patches that keep every corrected slice, corrected voxels untouched,
bad input refused in one line, a cancelled run changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from legseg_core.adapt import AdaptError, AdaptSettings, LegColumns, LegSlice, adapt_case, adaptation_patches, \
    changed_leg_slices, parse_slices
from legseg_core.adapt.adapt import prefer_known_slices
from legseg_core.cli import main
from legseg_core.errors import CancelledError, GridMismatchError
from legseg_core.io import load_volume, save_image, save_labels
from legseg_core.preprocess import PreprocessConfig
from legseg_core.preprocess.resample import source_positions
from legseg_core.progress import CancelToken, drive, run_quietly
from legseg_core.training.losses import UNLABELLED, cross_entropy, dice_cross_entropy

MODEL = "unet-lite-starter"
QUICK = AdaptSettings(steps=2, device="cpu")


@pytest.fixture(scope="module")
def case():
    from legseg_core.phantom import make_case

    made = make_case(3, protocol="B", slices=20, contrasts="t1w", size="tiny")
    return made.images["t1w"], made.labels.data


@pytest.fixture(scope="module")
def prediction(case):
    from legseg_core.inference import Segmenter

    return Segmenter(MODEL, "cpu").segment(case[0]).labels


def corrected_from(case, prediction, leg_slices):
    volume, reference = case
    legs = LegColumns.of(volume)
    mask = legs.mask(legs.expand(leg_slices), volume.shape)
    return np.where(mask, reference, prediction).astype(np.uint8), mask


def test_losses_leave_out_unlabelled_voxels():
    import torch

    torch.manual_seed(0)
    logits = torch.randn(1, 8, 2, 4, 4)
    labels = torch.randint(0, 8, (1, 2, 4, 4))
    masked = labels.clone()
    masked[:, 1] = UNLABELLED
    assert torch.isclose(cross_entropy(logits, masked), cross_entropy(logits[:, :, :1], labels[:, :1]))
    assert torch.isclose(dice_cross_entropy(logits, masked), dice_cross_entropy(logits[:, :, :1], labels[:, :1]))
    logits.requires_grad_(True)
    nothing = dice_cross_entropy(logits, torch.full_like(labels, UNLABELLED))
    nothing.backward()
    assert float(nothing.detach()) == 0.0 and float(logits.grad.abs().sum()) == 0.0


def test_every_corrected_slice_reaches_the_patches():
    known = np.zeros(25, dtype=bool)
    known[[2, 7, 12]] = True  # slices that nearest-neighbour resampling onto 20 patch slices drops
    rows = prefer_known_slices(source_positions(25, 20), known)
    assert {2, 7, 12} <= set(rows.tolist())
    plain = prefer_known_slices(source_positions(25, 20), np.zeros(25, dtype=bool))
    assert not {2, 7, 12} & set(plain.tolist())


def test_patches_hold_labels_only_on_corrected_slices(case):
    volume, reference = case
    legs = LegColumns.of(volume)
    mask = legs.mask([LegSlice(10, "right")], volume.shape)
    patches = adaptation_patches(volume, reference, mask, PreprocessConfig())
    assert len(patches) == 1  # the left leg's patch has no corrected voxel
    labelled_slices = np.flatnonzero((patches.labels[0] != UNLABELLED).any(axis=(1, 2)))
    assert len(labelled_slices) >= 1 and (patches.labels[0][labelled_slices] < 8).all()
    assert (patches.labels[0] != UNLABELLED).sum() < patches.labels[0].size / 4


def test_adaptation_never_changes_corrected_voxels(case, prediction):
    volume, _ = case
    chosen = [LegSlice(5, "both"), LegSlice(14, "right")]
    labels, mask = corrected_from(case, prediction, chosen)
    before = labels.copy()
    result = run_quietly(adapt_case(volume, labels, chosen, MODEL, QUICK))
    assert np.array_equal(labels, before)  # the caller's labels are not edited
    assert np.array_equal(result.labels[mask], labels[mask])  # voxel for voxel
    assert np.array_equal(result.network_labels[mask], labels[mask]) and result.steps == QUICK.steps
    between = np.zeros_like(mask)
    between[6:14] = LegColumns.of(volume).mask([LegSlice(z, "right") for z in range(6, 14)], volume.shape)[6:14]
    assert np.array_equal(result.labels[~between], result.network_labels[~between])  # interpolated only between
    assert result.labels.dtype == np.uint8 and result.labels.shape == volume.shape
    assert {str(s) for s in result.leg_slices} == {"right:5", "left:5", "right:14"}
    assert result.card.training["kind"] == "case adaptation" and "adapted" in result.card.model_id


def test_without_interpolation_the_labels_are_the_networks(case, prediction):
    volume, _ = case
    chosen = [LegSlice(4, "both"), LegSlice(12, "both")]
    labels, mask = corrected_from(case, prediction, chosen)
    result = run_quietly(adapt_case(volume, labels, chosen, MODEL, AdaptSettings(steps=1, device="cpu",
                                                                               interpolate=False)))
    assert np.array_equal(result.labels, result.network_labels) and np.array_equal(result.labels[mask], labels[mask])
    assert result.card.training["interpolate_between_corrected"] is False


def test_leg_slices_from_options_and_from_a_prediction(case, prediction):
    assert parse_slices(["12", "right:4,20"]) == [LegSlice(12, "both"), LegSlice(4, "right"), LegSlice(20, "right")]
    with pytest.raises(AdaptError, match="leg must be right or left"):
        parse_slices(["middle:3"])
    with pytest.raises(AdaptError, match="'x' is not a slice number"):
        parse_slices(["right:x"])
    legs = LegColumns.of(case[0])
    labels = prediction.copy()
    left = legs.mask([LegSlice(6, "left")], labels.shape)
    labels[left & (labels > 0)] = labels[left & (labels > 0)] % 7 + 1  # every muscle voxel of that leg slice changes
    assert changed_leg_slices(labels, prediction, legs) == [LegSlice(6, "left")]


def test_bad_input_is_refused(case, prediction):
    volume, reference = case
    with pytest.raises(AdaptError, match="no corrected slices"):
        run_quietly(adapt_case(volume, prediction, [], MODEL, QUICK))
    empty = np.zeros_like(prediction)
    with pytest.raises(AdaptError, match="hold only background"):
        run_quietly(adapt_case(volume, empty, [LegSlice(0, "both")], MODEL, QUICK))
    with pytest.raises(GridMismatchError, match="not on the grid"):
        run_quietly(adapt_case(volume, prediction[1:], [LegSlice(3, "both")], MODEL, QUICK))
    with pytest.raises(AdaptError, match="outside the scan's 20 axial slices"):
        run_quietly(adapt_case(volume, prediction, [LegSlice(20, "both")], MODEL, QUICK))


def test_a_cancelled_run_changes_nothing(case, prediction, tmp_path):
    from legseg_core.model_lookup import resolve_model

    model = resolve_model(MODEL)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    token = CancelToken()
    token.cancel()
    labels, _ = corrected_from(case, prediction, [LegSlice(8, "both")])
    before = labels.copy()
    with pytest.raises(CancelledError):
        drive(adapt_case(case[0], labels, [LegSlice(8, "both")], model, QUICK), cancel=token, what="adaptation")
    assert np.array_equal(labels, before)
    assert hashlib.sha256(model.read_bytes()).hexdigest() == digest


@pytest.fixture(scope="module")
def files(case, prediction, tmp_path_factory):
    volume, reference = case
    folder = tmp_path_factory.mktemp("adapt")
    labels, _ = corrected_from(case, prediction, [LegSlice(6, "both"), LegSlice(13, "both")])
    paths = {"scan": folder / "scan.nii.gz", "labels": folder / "labels.nii.gz",
             "prediction": folder / "prediction.nii.gz", "empty": folder / "empty.nii.gz"}
    save_image(volume.data, volume, paths["scan"])
    save_labels(labels, volume, paths["labels"])
    save_labels(prediction, volume, paths["prediction"])
    save_labels(np.zeros_like(prediction), volume, paths["empty"])
    return paths


def test_command_line_adapts_and_keeps_the_model_beside_the_output(files, tmp_path, capsys):
    out = tmp_path / "adapted.nii.gz"
    code = main(["adapt", str(files["scan"]), "--labels", str(files["labels"]), "--corrected-from",
                 str(files["prediction"]), "-o", str(out), "--steps", "2", "--device", "cpu", "--json",
                 "--no-progress"])
    assert code == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["adapted_model"] == str(tmp_path / "adapted.adapted.pt") and Path(summary["adapted_model"]).is_file()
    labels, result = load_volume(files["labels"]).data, load_volume(out).data
    legs = LegColumns.of(load_volume(files["scan"]))
    mask = legs.mask([LegSlice(z, leg) for z in (6, 13) for leg in legs.legs], labels.shape)
    assert np.array_equal(result[mask], labels[mask])


@pytest.mark.parametrize("options, message", [
    ([], "no corrected slices"),
    (["--slices", "40"], "slice 40 is outside"),
    (["--slices", "4", "--labels-from-empty"], "hold only background"),
])
def test_command_line_errors_are_one_line(files, tmp_path, capsys, options, message):
    labels = files["empty"] if "--labels-from-empty" in options else files["labels"]
    options = [o for o in options if o != "--labels-from-empty"]
    out = tmp_path / "out.nii.gz"
    code = main(["adapt", str(files["scan"]), "--labels", str(labels), "-o", str(out), "--steps", "1",
                 "--device", "cpu", "--no-progress", *options])
    error = capsys.readouterr().err.strip()
    assert code == 2 and message in error and len(error.splitlines()) == 1
    assert not out.exists()


def test_command_line_refuses_labels_on_another_grid(files, tmp_path, capsys, case):
    volume, _ = case
    other = tmp_path / "other.nii.gz"
    from legseg_core.io import Volume

    shifted = Volume.from_array(np.zeros(volume.shape, dtype=np.uint8), volume.spacing, (5.0, 5.0, 5.0),
                                name="other")
    save_labels(shifted.data, shifted, other)
    code = main(["adapt", str(files["scan"]), "--labels", str(other), "--slices", "3", "-o",
                 str(tmp_path / "out.nii.gz"), "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "not on the grid of the scan" in error and len(error.splitlines()) == 1
