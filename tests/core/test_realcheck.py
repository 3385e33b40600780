"""``legseg starter realcheck``: per-leg volumes, ratios and flags, Dice and the GM/GL swap check, the
overlay pictures, the bad inputs, and one run on the real labelled case."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from legseg_core.cli import EXIT_USER_ERROR, main
from legseg_core.errors import ImageFormatError, ImageShapeError, InputPathError, LegsegError, ModelError
from legseg_core.io import Volume
from legseg_core.labels import MUSCLE_BY_ABBR
from legseg_core.preprocess import PreprocessConfig, plan_patches
from legseg_core.progress import drive
from legseg_core.starter.realcheck.measures import (LegSplit, check_volumes, constant_split, leg_agreement,
                                                    leg_volumes, split_from_plan, swap_check, volume_profile,
                                                    where_flagged_muscles_differ)
from legseg_core.starter.realcheck.overlays import SliceLevel, choose_levels, write_overlay
from legseg_core.starter.realcheck.poses import pose_angles, rotated_pose_labels
from legseg_core.starter.realcheck.report import MAX_FLAG_SLICES, RealCheck, flag_slices
from legseg_core.starter.realcheck.scans import check_data, default_data_folder, select_scans
from tests.conftest import REAL_DATA

GL, GM, SOL, TA, TP = (MUSCLE_BY_ABBR[a].id for a in ("GL", "GM", "SOL", "TA", "TP"))
SPACING = (10.0, 1.0, 1.0)  # one voxel is 0.01 ml


def two_legs() -> np.ndarray:
    """Labels ``[4, 20, 40]``: the right leg at x < 20, the left at x >= 20."""
    labels = np.zeros((4, 20, 40), dtype=np.uint8)
    labels[:, 0:5, 0:10] = GL  # right GL 200 voxels = 2 ml
    labels[:, 0:5, 20:30] = GL  # left GL 2 ml: ratio 1
    labels[:, 5:10, 0:10] = SOL  # right SOL 2 ml
    labels[:, 5:10, 20:40] = SOL  # left SOL 4 ml: ratio 2
    labels[:, 10:20, 0:10] = TP  # right TP 4 ml, none on the left
    labels[:, 10:12, 20:21] = TA  # left TA 8 voxels = 0.08 ml (a speck), none on the right
    return labels


def test_volumes_per_leg_ratios_and_flags() -> None:
    split = constant_split(20, 4, "test")
    volumes = leg_volumes(two_legs(), split, SPACING)
    assert volumes["right"]["GL"] == pytest.approx(2.0) and volumes["left"]["SOL"] == pytest.approx(4.0)
    assert volumes["left"]["TA"] == pytest.approx(0.08) and volumes["right"]["TP"] == pytest.approx(4.0)
    check = check_volumes(volumes)
    assert check.ratios["GL"] == pytest.approx(1.0) and check.ratios["SOL"] == pytest.approx(2.0)
    assert check.ratios["TP"] is None and check.ratios["TA"] is None  # missing in a leg: no ratio
    assert any(flag.startswith("SOL left/right 2.00 outside 0.75..1.33") for flag in check.flags)
    assert not any(flag.startswith("GL") for flag in check.flags)
    missing = {flag for flag in check.flags if flag.startswith("missing")}
    assert missing == {"missing in the right leg (< 0.5 ml): GM, TA, PER, EDL",
                       "missing in the left leg (< 0.5 ml): GM, TA, PER, EDL, TP"}


def test_a_flagged_ratio_names_the_band_along_the_legs_where_the_volumes_differ() -> None:
    labels = np.zeros((9, 20, 40), dtype=np.uint8)  # 9 slices of 10 mm: bands of 3 slices at 30 mm
    labels[:, 0:5, 0:10] = GL  # GL alike in both legs, 0.5 ml a slice each
    labels[:, 0:5, 20:30] = GL
    labels[:, 5:10, 0:10] = SOL  # SOL alike in every slice but the top band, where the left leg has twice as much
    labels[:, 5:10, 20:30] = SOL
    labels[6:, 10:15, 20:30] = SOL
    split = constant_split(20, 9, "test")
    profile = volume_profile(labels, split, SPACING)
    assert profile.starts == (0, 3, 6) and profile.stops == (3, 6, 9)
    assert profile.volumes_ml["right"]["SOL"] == pytest.approx((1.5, 1.5, 1.5))
    assert profile.volumes_ml["left"]["SOL"] == pytest.approx((1.5, 1.5, 3.0))
    assert sum(profile.volumes_ml["left"]["GL"]) == pytest.approx(leg_volumes(labels, split, SPACING)["left"]["GL"])
    check = check_volumes(leg_volumes(labels, split, SPACING))
    assert check.ratios["SOL"] == pytest.approx(6.0 / 4.5)  # 1.333...: flagged
    assert where_flagged_muscles_differ(check, profile) == [
        "SOL: of the 1.5 ml more in the left leg, 1.5 ml lie at z 60 to 90 mm (right 1.5, left 3.0 ml there)"]
    stored = profile.to_dict()
    assert stored["band_start_mm"] == [0.0, 30.0, 60.0] and stored["left"]["SOL"] == [1.5, 1.5, 3.0]
    assert volume_profile(labels, split, (4.0, 1.0, 1.0)).starts == (0, 8)  # 30 mm of 4 mm slices: 8 a band


def test_the_picture_gets_a_slice_where_each_flagged_ratio_differs_most() -> None:
    base = np.zeros((9, 20, 40), dtype=np.uint8)  # bands of 3 slices of 10 mm; the right leg at x < 20
    for muscle, rows in ((GL, slice(0, 4)), (SOL, slice(4, 8)), (TA, slice(8, 12)), (TP, slice(12, 16))):
        base[:, rows, 0:10] = muscle  # every muscle alike in both legs: 3.6 ml each
        base[:, rows, 20:30] = muscle
    base[7, 0:4, 30:40] = GL  # GL moved from slice 6 to slice 7 in the left leg: the same volume, not flagged
    base[6, 0:4, 20:30] = 0
    only_ta = base.copy()
    only_ta[0:3, 8:12, 30:40] = TA  # TA 1.6 ml more on the left, all in the bottom band, the most in slice 1
    only_ta[1, 16:20, 30:40] = TA
    labels = only_ta.copy()
    labels[3:6, 12:20, 30:40] = TP  # TP 2.4 ml more on the left in the middle band
    labels[6:9, 4:8, 10:20] = SOL  # SOL 1.2 ml more on the right in the top band
    split = constant_split(20, 9, "test")
    profile = volume_profile(labels, split, SPACING)
    volumes = check_volumes(leg_volumes(labels, split, SPACING))
    assert volumes.ratios["GL"] == 1.0 and all(volumes.ratios[m] for m in ("TA", "TP", "SOL"))
    extra = flag_slices(labels, split, volumes, profile, ())
    assert len(extra) == MAX_FLAG_SLICES  # the two largest differences: SOL's band is left out
    assert [level.name for level in extra] == ["TP left/right differ most", "TA left/right differ most"]
    assert 3 <= extra[0].index <= 5 and extra[1].index == 1 and extra[1].height_mm == 10.0
    alone = check_volumes(leg_volumes(only_ta, split, SPACING))
    [ta] = flag_slices(only_ta, split, alone, volume_profile(only_ta, split, SPACING), ())
    assert ta.name == "TA left/right differ most" and ta.index == 1
    shown = choose_levels(np.ones(9, dtype=bool), 10.0).levels  # slices 1, 4 and 7
    assert flag_slices(only_ta, split, alone, volume_profile(only_ta, split, SPACING), shown) == ()  # not twice


def test_ratio_limits_are_inclusive_and_one_leg_gives_no_ratios() -> None:
    right = {abbr: 10.0 for abbr in ("GL", "GM", "SOL", "TA", "PER", "EDL", "TP")}
    left = {**right, "GL": 7.5, "GM": 13.3, "SOL": 7.4, "TA": 13.4}
    flags = check_volumes({"right": right, "left": left}).flags
    assert [flag.split()[0] for flag in flags] == ["SOL", "TA"]
    single = check_volumes({"right": right})
    assert single.ratios == {} and single.flags == ("one leg only (right): no left/right ratios",)


def test_leg_split_follows_its_column_in_each_slice() -> None:
    split = LegSplit((5, 10, 0), ("right", "left"), "test")
    right = split.mask("right", (3, 2, 12))
    assert right[0, 0].sum() == 5 and right[1, 1].sum() == 10 and not right[2].any()
    labels = np.full((3, 2, 12), SOL, dtype=np.uint8)
    assert (split.leg_labels(labels, "left") > 0).sum() == 2 * (7 + 2 + 12)
    with pytest.raises(ImageShapeError, match="leg 'middle' is unknown"):
        split.mask("middle", (3, 2, 12))
    with pytest.raises(ImageShapeError, match="3 slices, the labels 4"):
        split.mask("right", (4, 2, 12))


def test_split_from_the_preprocessing_plan_parts_two_legs_between_them() -> None:
    data = np.zeros((16, 64, 128), dtype=np.float32)
    y, x = np.mgrid[:64, :128]
    data[:, (y - 32) ** 2 + (x - 30) ** 2 < 20 ** 2] = 100.0  # right leg (smaller x)
    data[:, (y - 32) ** 2 + (x - 95) ** 2 < 20 ** 2] = 100.0
    volume = Volume.from_array(data, (5.0, 1.5, 1.5))
    split = split_from_plan(plan_patches(volume, PreprocessConfig()))
    assert split.sides == ("right", "left")
    assert all(50 <= column <= 75 for column in split.columns)
    labels = (data > 0).astype(np.uint8) * SOL
    volumes = leg_volumes(labels, split, volume.spacing)
    assert volumes["right"]["SOL"] == pytest.approx(volumes["left"]["SOL"])


def test_gm_gl_swap_is_flagged_when_the_crossed_dice_is_higher() -> None:
    reference = np.zeros((2, 10, 10), dtype=np.uint8)
    reference[:, :5] = GM
    reference[:, 5:] = GL
    straight = swap_check(reference, reference)
    assert (straight.gm_gm, straight.gl_gl, straight.gm_as_gl, straight.gl_as_gm) == (1.0, 1.0, 0.0, 0.0)
    assert not straight.swapped
    swapped = np.where(reference == GM, GL, GM).astype(np.uint8)
    crossed = swap_check(reference, swapped)
    assert crossed.swapped and crossed.gm_as_gl == 1.0 and crossed.gm_gm == 0.0
    assert not swap_check(np.zeros_like(reference), np.zeros_like(reference)).swapped  # nothing to swap
    all_gm = swap_check(reference, np.full_like(reference, GM))  # straight and crossed both 1/3: a tie
    assert all_gm.gm_gm == pytest.approx(2 / 3) and all_gm.gm_as_gl == pytest.approx(2 / 3) and not all_gm.swapped


def test_dice_per_leg_and_its_mean() -> None:
    reference = two_legs()
    prediction = reference.copy()
    prediction[:, :, 20:] = 0  # the left leg is not predicted at all
    agreement = leg_agreement(reference, prediction, constant_split(20, 4, "test"), SPACING)
    assert agreement["right"].dice["GL"] == 1.0 and agreement["right"].mean_dice == 1.0
    assert math.isnan(agreement["right"].dice["GM"])  # absent from both: not scored
    assert agreement["left"].dice["SOL"] == 0.0 and agreement["left"].mean_dice == 0.0


def test_levels_name_ankle_and_knee_only_for_a_whole_calf() -> None:
    legs = np.zeros(100, dtype=bool)
    legs[10:90] = True
    whole = choose_levels(legs, 5.0)  # 400 mm
    assert [level.name for level in whole.levels] == ["near the ankle", "mid-calf", "below the knee"]
    assert [level.index for level in whole.levels] == [22, 50, 77]
    slab = choose_levels(np.ones(25, dtype=bool), 6.0)  # 150 mm
    assert [level.index for level in slab.levels] == [4, 12, 20]
    assert "neither the ankle nor the knee" in slab.coverage and "slab" in slab.levels[0].name
    with pytest.raises(ImageShapeError, match="no slice holds a leg"):
        choose_levels(np.zeros(5, dtype=bool), 5.0)


def test_overlay_png_shows_the_muscle_colours_on_the_image(tmp_path: Path) -> None:
    import matplotlib.image

    image = np.random.default_rng(0).uniform(0, 100, (6, 40, 60)).astype(np.float32)
    labels = np.zeros(image.shape, dtype=np.uint8)
    labels[:, 10:30, 5:25] = GM
    levels = (SliceLevel("a", 1, 10.0), SliceLevel("b", 3, 30.0), SliceLevel("c", 5, 50.0))
    path = write_overlay(image, labels, levels, tmp_path / "o.png", spacing=(10.0, 1.0, 1.0), title="m on s",
                         split_columns=(30,) * 6)
    pixels = matplotlib.image.imread(path)[..., :3]
    yellowish = (pixels[..., 0] > 0.5) & (pixels[..., 1] > 0.45) & (pixels[..., 2] < 0.35)
    assert yellowish.sum() > 3 * 200  # the GM square in three panels, plus its legend patch
    blank = write_overlay(image, np.zeros_like(labels), levels, tmp_path / "b.png", spacing=(10.0, 1.0, 1.0),
                          title="m on s")
    blank_pixels = matplotlib.image.imread(blank)[..., :3]
    assert yellowish.sum() > 2 * ((blank_pixels[..., 0] > 0.5) & (blank_pixels[..., 1] > 0.45)
                                  & (blank_pixels[..., 2] < 0.35)).sum()
    with pytest.raises(ImageShapeError, match="does not fit the labels"):
        write_overlay(image[:3], labels, levels, tmp_path / "x.png", spacing=(1, 1, 1), title="")
    with pytest.raises(InputPathError, match="nowhere"):
        write_overlay(image, labels, levels, tmp_path / "nowhere" / "x.png", spacing=(1, 1, 1), title="")


def test_data_folder_default_follows_legseg_real_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEGSEG_REAL_DATA", str(tmp_path / "calf-qmritools"))
    assert default_data_folder() == tmp_path
    monkeypatch.delenv("LEGSEG_REAL_DATA")
    assert default_data_folder().parts[-2:] == ("shared", "data")


def test_missing_data_folder_scan_and_unknown_names_are_one_line_errors(tmp_path: Path) -> None:
    scans = select_scans(["qmritools-dwi"])
    with pytest.raises(InputPathError, match=f"{tmp_path / 'none'}: the real-scan data folder does not exist"):
        check_data(tmp_path / "none", scans)
    (tmp_path / "calf-qmritools").mkdir()
    with pytest.raises(InputPathError, match="calf-qmritools/dwi_mean.nii.gz: no such file .*'qmritools-dwi'"):
        check_data(tmp_path, scans)
    with pytest.raises(LegsegError, match="unknown real scan 'knee'"):
        select_scans(["knee"])
    with pytest.raises(ModelError, match="unknown model 'no-such-model'"):
        RealCheck("no-such-model", device="cpu")


def test_an_unreadable_scan_names_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "calf-qmritools"
    folder.mkdir()
    (folder / "t2_mese.nii.gz").write_bytes(gzip.compress(b"not a nifti at all"))
    check = RealCheck("unet-lite-starter", device="cpu")
    with pytest.raises(ImageFormatError, match="t2_mese.nii.gz"):
        drive(check.run_steps(select_scans(["qmritools-t2"]), check_data(tmp_path, select_scans(["qmritools-t2"])),
                              tmp_path / "out"))


@pytest.mark.parametrize("arguments, message", [
    (["--data", "{tmp}/none"], "none: the real-scan data folder does not exist"),
    (["--data", "{tmp}", "--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["--data", "{tmp}", "--poses", "0"], "poses=0: give a whole number of poses, at least 1"),
])
def test_the_command_prints_one_line_and_exits_non_zero(arguments: list[str], message: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "calf-qmritools").mkdir()
    for name in ("dwi_mean.nii.gz", "labels.nii.gz"):
        (tmp_path / "calf-qmritools" / name).write_bytes(b"")
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(["starter", "realcheck", "--scan", "qmritools-dwi", "--no-progress", *arguments]) == EXIT_USER_ERROR
    error = capsys.readouterr().err
    assert message in error and error.startswith("legseg: error: ") and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


def test_pose_angles_spread_evenly_over_eight_degrees_either_way() -> None:
    assert pose_angles(1) == (0.0,)
    assert pose_angles(5) == (-8.0, -4.0, 0.0, 4.0, 8.0)
    assert pose_angles(2) == (-8.0, 8.0)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(LegsegError, match="give a whole number of poses, at least 1"):
            pose_angles(bad)


def test_a_rotated_pose_is_rotated_back_onto_the_scan(one_torch_thread) -> None:
    from legseg_core.inference import Segmenter
    from legseg_core.phantom import make_case
    from legseg_core.preprocess.mask import body_mask

    volume = make_case(seed=3, size="tiny").images["dixon_water"]
    segmenter = Segmenter("unet-lite-starter", "cpu")
    straight = segmenter.segment(volume).labels
    body = body_mask(volume.data, volume.spacing, segmenter.config, volume.name)
    turned = drive(rotated_pose_labels(segmenter, volume, 8.0, body))
    assert turned.shape == straight.shape and turned.dtype == np.uint8
    dice = [2 * ((turned == m) & (straight == m)).sum() / max(int((turned == m).sum() + (straight == m).sum()), 1)
            for m in range(1, 8)]
    assert np.mean(dice) > 0.8  # the muscles where the scan has them: rotated back, not left turned (about 0.2)


@pytest.fixture
def real_folder() -> Path:
    """The folder holding calf-qmritools/ (the real data), or a skip with the reason."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"the real calf data is not at {REAL_DATA} (set LEGSEG_REAL_DATA)")
    return REAL_DATA.parent


def test_report_on_the_real_labelled_case(real_folder: Path, tmp_path: Path, one_torch_thread) -> None:
    scans = select_scans(["qmritools-dwi"])
    events = []
    check = RealCheck("unet-lite-starter", device="cpu")
    report = drive(check.run_steps(scans, check_data(real_folder, scans), tmp_path), events.append)
    assert [event.done for event in events] == sorted(event.done for event in events)
    assert any("qmritools-dwi" in event.message for event in events) and events[-1].fraction == 1.0
    [scan] = report.scans
    assert scan.split.sides == ("right", "left") and 70 <= scan.split.columns[0] <= 90  # between the legs
    for leg in ("right", "left"):
        dice = [d for d in scan.agreement[leg].dice.values() if not math.isnan(d)]
        assert len(dice) == 7 and all(0.0 <= d <= 1.0 for d in dice)
        assert scan.agreement[leg].mean_dice == pytest.approx(sum(dice) / 7)
    stored = json.loads((tmp_path / "report.json").read_text())
    [item] = stored["scans"]
    assert item["key"] == "qmritools-dwi" and set(item["dice"]) == {"right", "left"}
    assert set(item["gm_gl_swap"]["left"]) >= {"GM_vs_reference_GL", "swapped"}
    assert item["volumes_ml"]["right"]["SOL"] == pytest.approx(scan.volumes.volumes_ml["right"]["SOL"], abs=0.01)
    profile = item["volume_profile_ml"]
    assert profile["band_start_mm"][0] == 0.0 and profile["band_stop_mm"][-1] == pytest.approx(25 * 6.0)
    assert sum(profile["left"]["GM"]) == pytest.approx(item["volumes_ml"]["left"]["GM"], abs=0.1)
    assert item["where_flagged_ratios_differ"] == scan.differences
    assert (tmp_path / "qmritools-dwi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "report.md").read_text()
    assert "| muscle | right ml | left ml | L/R | Dice right | Dice left |" in markdown
    assert "![qmritools-dwi](qmritools-dwi.png)" in markdown


def test_the_labelled_case_scored_in_three_poses(real_folder: Path, tmp_path: Path, one_torch_thread) -> None:
    scans = select_scans(["qmritools-dwi"])
    events = []
    report = drive(RealCheck("unet-lite-starter", device="cpu").run_steps(scans, check_data(real_folder, scans),
                                                                          tmp_path, poses=3), events.append)
    assert [event.done for event in events] == sorted(event.done for event in events)
    assert any("pose -8 degrees" in event.message for event in events)
    [scan] = report.scans
    poses = scan.poses
    assert poses is not None and poses.angles == (-8.0, 0.0, 8.0)
    for leg in ("right", "left"):
        assert poses.legs[leg][1] == scan.agreement[leg]  # the pose of 0 degrees is the check's own segmentation
        per_pose = [a.mean_dice for a in poses.legs[leg]]
        assert min(per_pose) > scan.agreement[leg].mean_dice - 0.1  # rotated back onto the reference
        assert poses.mean_dice(leg) == pytest.approx(sum(per_pose) / 3)
        assert poses.spread(leg) == (min(per_pose), max(per_pose))
    [item] = json.loads((tmp_path / "report.json").read_text())["scans"]
    stored = item["dice_over_poses"]
    assert stored["angles_deg"] == [-8.0, 0.0, 8.0] and len(stored["left"]["per_pose"]) == 3
    assert stored["left"]["lowest"] <= stored["left"]["mean"] <= stored["left"]["highest"]
    markdown = (tmp_path / "report.md").read_text()
    assert "| Dice right, 3 poses | Dice left, 3 poses |" in markdown
    assert "Mean Dice over 3 in-plane poses (-8, 0, +8 degrees" in markdown


def test_the_command_on_the_real_t2_says_which_echo(real_folder: Path, tmp_path: Path, one_torch_thread,
                                                     capsys: pytest.CaptureFixture) -> None:
    assert main(["starter", "realcheck", "--model", "unet-lite-starter", "--scan", "qmritools-t2", "--data",
                 str(real_folder), "--out", str(tmp_path), "--device", "cpu", "--threads", "1", "--no-progress",
                 "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)["reports"]
    assert report["model"]["name"] == "unet-lite-starter" and report["out"] == str(tmp_path / "unet-lite-starter")
    [scan] = report["scans"]
    assert scan["notes"] == ["4D image: frame 0 of 18 segmented (the first echo)"]
    assert "neither the ankle nor the knee" in scan["coverage"] and "dice" not in scan
    assert (tmp_path / "unet-lite-starter" / "qmritools-t2.png").is_file()
