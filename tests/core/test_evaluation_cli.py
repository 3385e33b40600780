"""Case matching, grids and resampling, and the `legseg evaluate` / `legseg overlap` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from legseg_core.cli import EXIT_USER_ERROR, main
from legseg_core.errors import GridMismatchError, ImageValueError, InputPathError
from legseg_core.evaluation import EvaluationError, case_id, load_pair, match_cases, overlap_map
from legseg_core.evaluation.cases import resample_nearest
from legseg_core.io import Volume, load_volume, save_image, save_labels

SPACING = (4.0, 1.0, 1.0)


def cube_labels(shift: int = 0) -> np.ndarray:
    labels = np.zeros((6, 16, 18), dtype=np.uint8)
    labels[1:5, 2:12, 2:12] = 3
    labels[1:5, 12:15, 3:9] = 4
    return np.roll(labels, shift, axis=2)


def write(path: Path, labels: np.ndarray, spacing=SPACING) -> Path:
    return save_labels(labels, Volume.from_array(labels, spacing), path)


@pytest.mark.parametrize("name, expected", [
    ("case07_labels.nii.gz", "case07"), ("case07_pred.nii", "case07"), ("case07.nii.gz", "case07"),
    ("Case07-Segmentation.NII.GZ", "Case07"), ("sub1_0000.nii.gz", "sub1"), ("a_b_seg.nii.gz", "a_b"),
    ("labels.nii.gz", "labels"), ("case_manual_ref.nii.gz", "case_manual"),
])
def test_case_id_rule(name: str, expected: str) -> None:
    assert case_id(name) == expected


def test_match_cases_in_folders(tmp_path) -> None:
    for folder, names in (("ref", ["a_labels", "b_labels", "c_labels"]), ("pred", ["a_pred", "b_pred", "d_pred"])):
        (tmp_path / folder).mkdir()
        for name in names:
            write(tmp_path / folder / f"{name}.nii.gz", cube_labels())
        (tmp_path / folder / "notes.txt").write_text("ignored")
    cases = match_cases([tmp_path / "ref", tmp_path / "pred"])
    assert cases.case_ids == ["a", "b"]
    assert cases.unmatched == {"c": (str(tmp_path / "pred"),), "d": (str(tmp_path / "ref"),)}


def test_match_cases_refusals(tmp_path) -> None:
    (tmp_path / "ref").mkdir(), (tmp_path / "other").mkdir(), (tmp_path / "empty").mkdir()
    write(tmp_path / "ref" / "a.nii.gz", cube_labels())
    write(tmp_path / "ref" / "a_labels.nii.gz", cube_labels())
    write(tmp_path / "other" / "z.nii.gz", cube_labels())
    with pytest.raises(EvaluationError, match="a.nii.gz and a_labels.nii.gz have the same case id 'a'"):
        match_cases([tmp_path / "ref", tmp_path / "other"])
    (tmp_path / "ref" / "a_labels.nii.gz").unlink()
    with pytest.raises(EvaluationError, match="no case id is found in every folder"):
        match_cases([tmp_path / "ref", tmp_path / "other"])
    with pytest.raises(InputPathError, match="no NIfTI files"):
        match_cases([tmp_path / "ref", tmp_path / "empty"])
    with pytest.raises(InputPathError, match="either files or folders"):
        match_cases([tmp_path / "ref", tmp_path / "other" / "z.nii.gz"])
    with pytest.raises(InputPathError, match="no such file or folder"):
        match_cases([tmp_path / "ref", tmp_path / "missing"])


def test_different_grids_are_refused_or_resampled(tmp_path) -> None:
    reference = write(tmp_path / "ref.nii.gz", cube_labels())
    fine = np.repeat(np.repeat(cube_labels(), 2, axis=1), 2, axis=2)  # voxel centres 2j coincide with j
    prediction = write(tmp_path / "fine.nii.gz", fine, spacing=(4.0, 0.5, 0.5))
    with pytest.raises(GridMismatchError, match=r"shape \(6, 32, 36\) vs \(6, 16, 18\), affine"):
        load_pair(reference, prediction)
    ref_volume, resampled = load_pair(reference, prediction, resample=True)
    np.testing.assert_array_equal(resampled.data, ref_volume.data)
    moved = Volume.from_array(cube_labels(), SPACING, origin=(2.0, 0.0, 0.0))  # 2 mm toward the patient's left
    np.testing.assert_array_equal(resample_nearest(moved, ref_volume).data, cube_labels(2))


def test_label_files_outside_range_are_refused(tmp_path) -> None:
    reference = write(tmp_path / "ref.nii.gz", cube_labels())
    bad = cube_labels()
    bad[0, 0, 0] = 9
    prediction = save_image(bad, Volume.from_array(bad, SPACING), tmp_path / "bad.nii.gz")
    with pytest.raises(ImageValueError, match=r"bad.nii.gz: label values must lie in 0\.\.7"):
        load_pair(reference, prediction)
    assert main(["evaluate", "--reference", str(reference), "--prediction", str(prediction)]) == EXIT_USER_ERROR


def test_evaluate_one_pair_json(tmp_path, capsys) -> None:
    reference = write(tmp_path / "case1_labels.nii.gz", cube_labels())
    prediction = write(tmp_path / "case1_pred.nii.gz", cube_labels(1))
    assert main(["evaluate", "--reference", str(reference), "--prediction", str(prediction), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    case = payload["models"]["case1"]["cases"][0]
    sol = case["muscles"][2]
    assert case["case_id"] == "case1" and sol["muscle"] == "SOL"
    assert sol["dice"] == pytest.approx(0.9) and sol["ahd_voxels"] == pytest.approx(0.1)
    assert case["muscles"][0]["dice"] is None  # GL absent from both: not scored
    assert payload["models"]["case1"]["per_muscle"]["dice"]["SOL"]["n"] == 1


def test_evaluate_folders_with_compare_tables_files_and_plots(tmp_path, capsys) -> None:
    for folder in ("ref", "a", "b"):
        (tmp_path / folder).mkdir()
    for index in range(3):
        write(tmp_path / "ref" / f"c{index}_labels.nii.gz", cube_labels())
        write(tmp_path / "a" / f"c{index}.nii.gz", cube_labels(1))
        write(tmp_path / "b" / f"c{index}.nii.gz", cube_labels(2 + index % 2))
    image = save_image(np.random.default_rng(0).random(cube_labels().shape).astype(np.float32),
                       Volume.from_array(cube_labels(), SPACING), tmp_path / "scan.nii.gz")
    arguments = ["evaluate", "--reference", str(tmp_path / "ref"), "--prediction", str(tmp_path / "a"),
                 "--compare", str(tmp_path / "b"), "--names", "het", "hom", "--unit", "mm",
                 "--csv", str(tmp_path / "scores.csv"), "--summary-csv", str(tmp_path / "summary.csv"),
                 "--markdown", str(tmp_path / "report.md"), "--plot", str(tmp_path / "plots"), "--image", str(image)]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert "| SOL | 0.90 ± 0.00 (3) |" in out and "AHD (mm)" in out and "t(2) = " in out
    assert (tmp_path / "report.md").read_text() == out
    assert len((tmp_path / "scores.csv").read_text().splitlines()) == 1 + 2 * 3 * 7
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "dice_boxplot.png", "overlap_c0.png", "overlap_c1.png", "overlap_c2.png"]
    assert main(arguments[:7] + ["--compare", str(tmp_path / "b"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    dice_test = payload["tests"][0]
    assert dice_test["metric"] == "dice" and dice_test["n"] == 3 and dice_test["df"] == 2 and dice_test["t"] > 0


def test_evaluate_refuses_bad_names(tmp_path, capsys) -> None:
    reference = write(tmp_path / "r.nii.gz", cube_labels())
    assert main(["evaluate", "--reference", str(reference), "--prediction", str(reference),
                 "--names", "a", "b"]) == EXIT_USER_ERROR
    assert "--names needs 1 different names" in capsys.readouterr().err


def test_overlap_command_writes_the_map(tmp_path, capsys) -> None:
    reference = write(tmp_path / "ref.nii.gz", cube_labels())
    prediction = write(tmp_path / "pred.nii.gz", cube_labels(1))
    output = tmp_path / "overlap.nii.gz"
    assert main(["overlap", "--reference", str(reference), "--prediction", str(prediction), "-o", str(output),
                 "--png", str(tmp_path / "overlap.png"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    written = load_volume(output)
    np.testing.assert_array_equal(written.data, overlap_map(cube_labels(), cube_labels(1)))
    assert written.shape == cube_labels().shape and np.allclose(written.affine, load_volume(reference).affine)
    assert payload["dice"]["SOL"] == pytest.approx(0.9) and payload["dice"]["GL"] is None
    assert payload["class_counts"]["agree"] == int((overlap_map(cube_labels(), cube_labels(1)) == 1).sum())
    assert (tmp_path / "overlap.png").stat().st_size > 1000
    assert main(["overlap", "--reference", str(reference), "--prediction", str(prediction), "-o", str(output)]) == 0
    assert "Dice: GL nan, GM nan, SOL 0.900" in capsys.readouterr().out


def test_overlap_command_refuses_other_grids(tmp_path, capsys) -> None:
    reference = write(tmp_path / "ref.nii.gz", cube_labels())
    other = write(tmp_path / "other.nii.gz", cube_labels(), spacing=(4.0, 2.0, 2.0))
    arguments = ["overlap", "--reference", str(reference), "--prediction", str(other), "-o", str(tmp_path / "o.nii")]
    assert main(arguments) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "do not share the grid" in err and "affine" in err and "Traceback" not in err
    assert main(arguments + ["--resample"]) == 0
