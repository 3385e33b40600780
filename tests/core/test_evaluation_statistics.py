"""Paired t-tests (section 2.7), mean ± SD tables with n, CSV/Markdown writers and plots."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from scipy import stats

from legseg_core.errors import InputPathError
from legseg_core.evaluation import EvaluationError, compare_models, evaluate_labels, paired_t_test, summarise
from legseg_core.evaluation.plots import dice_boxplot, overlay_png, representative_slice
from legseg_core.evaluation.tables import (jsonable, markdown_report, per_case_summary, per_muscle_summary,
                                           score_records, summary_records, write_csv)


def test_paired_t_test_against_the_formula() -> None:
    rng = np.random.default_rng(0)
    a = {f"case{i}": v for i, v in enumerate(rng.uniform(0.7, 0.9, 10))}
    b = {key: value - rng.uniform(0.0, 0.05) for key, value in a.items()}
    test = paired_t_test(a, b, metric="dice", names=("het", "hom"))
    differences = np.array([a[k] - b[k] for k in sorted(a)])
    t = differences.mean() / (differences.std(ddof=1) / math.sqrt(differences.size))
    assert test.n == 10 and test.df == 9
    assert test.t == pytest.approx(t)
    assert test.p == pytest.approx(2 * stats.t.sf(abs(t), 9))
    assert test.mean_difference == pytest.approx(differences.mean())
    assert test.text() == f"t(9) = {t:.2f}, p = {2 * stats.t.sf(abs(t), 9):.3f}"
    assert test.to_dict()["text"] == test.text()


def test_paired_t_test_uses_shared_finite_cases_only() -> None:
    a = {"x": 0.8, "y": 0.7, "z": 0.9, "only_a": 0.1, "nan": math.nan}
    b = {"x": 0.7, "y": 0.5, "z": 0.6, "nan": 0.5}
    test = paired_t_test(a, b)
    assert test.n == 3 and test.mean_a == pytest.approx(0.8)
    strong = paired_t_test({f"c{i}": 0.9 + 0.001 * i for i in range(10)}, {f"c{i}": 0.5 for i in range(10)})
    assert strong.text().endswith("p < 0.001")


def test_paired_t_test_needs_two_cases() -> None:
    with pytest.raises(EvaluationError, match="at least 2 cases scored by both, found 1"):
        paired_t_test({"x": 0.8, "y": 0.3}, {"x": 0.7})


def test_identical_models_give_an_undefined_test() -> None:
    test = paired_t_test({"x": 0.8, "y": 0.7}, {"x": 0.8, "y": 0.7})
    assert math.isnan(test.t) and "undefined" in test.text()


def test_summarise_reports_n_and_sample_sd() -> None:
    summary = summarise([0.8, math.nan, 0.6, 1.0])
    assert summary.n == 3 and summary.mean == pytest.approx(0.8) and summary.sd == pytest.approx(0.2)
    assert summary.text() == "0.80 ± 0.20"
    assert summarise([math.nan]).n == 0 and summarise([math.nan]).text() == "-"
    assert math.isnan(summarise([0.5]).sd) and summarise([0.5]).text() == "0.50 ± -"


def two_models():
    """Two models on three cube cases: A shifts the cube by one voxel, B by two; muscle 5 only in case c2."""
    reference = np.zeros((12, 12, 16), dtype=np.uint8)
    reference[1:11, 1:11, 2:12] = 3
    models = {"A": [], "B": []}
    for index in range(3):
        case_reference = reference.copy()
        if index == 2:
            case_reference[0, 0, :2] = 5
        for name, shift in (("A", 1), ("B", 2 + index)):
            prediction = np.roll(case_reference, shift, axis=2)
            models[name].append(evaluate_labels(case_reference, prediction, case_id=f"c{index}"))
    return models


def test_tables_per_muscle_and_per_case() -> None:
    models = two_models()
    sol = per_muscle_summary(models["A"], "dice")[3]
    assert sol.n == 3 and sol.mean == pytest.approx(0.9)
    assert per_muscle_summary(models["A"], "dice")[1].n == 0  # GL nowhere: not scored
    assert per_muscle_summary(models["A"], "dice")[5].n == 1
    over_cases = per_case_summary(models["B"], "ahd_voxels")
    assert over_cases.n == 3
    report = markdown_report(models, ("dice", "ahd_voxels"), compare_models(models["A"], models["B"], names=("A", "B")))
    assert "| SOL | 0.90 ± 0.00 (3) |" in report
    assert "| GL | - (0) |" in report
    assert "## Paired t-tests" in report and "t(2) = " in report
    records = summary_records(models, ("dice",))
    assert {r["scope"] for r in records} == {"muscle", "cases"} and len(records) == 2 * 8


def test_csv_writers_leave_nan_cells_empty(tmp_path) -> None:
    models = two_models()
    path = write_csv(score_records(models), tmp_path / "scores.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 2 * 3 * 7
    gl = next(r for r in rows if r["muscle"] == "GL")
    assert gl["dice"] == "" and gl["reference_voxels"] == "0"
    with pytest.raises(InputPathError, match="does not exist"):
        write_csv(score_records(models), tmp_path / "missing" / "scores.csv")


def test_jsonable_turns_nan_into_null() -> None:
    assert jsonable({"a": [math.nan, np.float64(1.5), math.inf], "b": np.int64(3)}) == {"a": [None, 1.5, None], "b": 3}


def test_plots_are_written(tmp_path) -> None:
    import matplotlib.image

    models = two_models()
    box = dice_boxplot(models, tmp_path / "box.png")
    assert matplotlib.image.imread(box).shape[0] > 100
    reference = np.zeros((4, 30, 40), dtype=np.uint8)
    reference[1:3, 5:25, 5:20] = 1
    reference[2, 5:25, 22:35] = 2
    overlap = np.where(reference > 0, 1, 0).astype(np.uint8)
    overlap[2, 5:10, 22:35] = 4
    assert representative_slice(reference) == 2
    image = np.random.default_rng(0).random(reference.shape)
    png = overlay_png(overlap, tmp_path / "overlay.png", image=image, spacing=(5.0, 1.0, 1.0))
    pixels = matplotlib.image.imread(png)[..., :3]
    greenish = (pixels[..., 1] > 0.5) & (pixels[..., 0] < 0.4) & (pixels[..., 2] < 0.5)
    reddish = (pixels[..., 0] > 0.6) & (pixels[..., 1] < 0.35) & (pixels[..., 2] < 0.35)
    assert greenish.sum() > 50 and reddish.sum() > 10
    with pytest.raises(InputPathError, match="does not exist"):
        dice_boxplot(models, tmp_path / "nowhere" / "box.png")
