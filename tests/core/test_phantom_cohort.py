"""Cohorts of synthetic cases, the mix, `legseg phantom` and `legseg bench phantom`."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import CancelledError, InputPathError
from legseg_core.io import load_volume
from legseg_core.phantom import CohortMix, PhantomParameterError, generate_cohort
from legseg_core.phantom.cohort import allocate, plan_cohort
from legseg_core.progress import CancelToken, drive

TINY = CohortMix.parse("size=tiny")


def test_default_mix_of_twenty_holds_four_contrasts_both_protocols_and_health_states():
    plans = plan_cohort(20, seed=3)
    assert {p["protocol"] for p in plans} == {"A", "B"}
    assert {p["health"] for p in plans} == {"healthy", "patient"}
    assert len({c for p in plans for c in p["contrasts"]}) >= 4
    patients = [p for p in plans if p["health"] == "patient"]
    assert len({p["diagnosis"] for p in patients}) == min(len(patients), 7)
    assert all(p["slices"] in (25, 45) for p in plans if p["protocol"] == "B")
    assert plan_cohort(20, seed=3) == plans
    assert len({p["seed"] for p in plans}) == 20


def test_allocate_follows_the_weights_exactly():
    chosen = allocate((("a", 1.0), ("b", 3.0)), 8, np.random.default_rng(0))
    assert sorted(chosen) == ["a", "a", "b", "b", "b", "b", "b", "b"]


def test_cohort_writes_cases_and_metadata_csv_with_progress(tmp_path):
    events = []
    cases = drive(generate_cohort(3, tmp_path / "cohort", seed=2, mix=TINY), events.append)
    assert [e.done for e in events] == [0, 1, 2, 3] and events[-1].total == 3
    with (tmp_path / "cohort" / "metadata.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["case_id"] for r in rows] == ["case000", "case001", "case002"]
    for row, meta in zip(rows, cases):
        assert row["protocol"] == meta["protocol"] and row["health"] == meta["health"]
        assert float(row["fat_fraction_SOL"]) == pytest.approx(meta["fat_fraction"]["SOL"])
        folder = tmp_path / "cohort" / row["folder"]
        for contrast in meta["contrasts"]:
            image = load_volume(folder / f"{contrast}.nii.gz")
            assert image.shape == tuple(meta["shape"])
        assert json.loads((folder / "metadata.json").read_text())["seed"] == meta["seed"]


def test_cohort_is_reproducible_from_its_seed(tmp_path):
    first = drive(generate_cohort(2, tmp_path / "a", seed=9, mix=TINY))
    second = drive(generate_cohort(2, tmp_path / "b", seed=9, mix="size=tiny"))
    assert first == second
    labels = [load_volume(tmp_path / d / "case001" / "labels.nii.gz").data for d in ("a", "b")]
    np.testing.assert_array_equal(*labels)


def test_cancelled_cohort_leaves_a_consistent_table(tmp_path):
    token = CancelToken()

    def cancel_after_first(event):
        if event.done >= 1:
            token.cancel()

    with pytest.raises(CancelledError, match="cohort was cancelled"):
        drive(generate_cohort(4, tmp_path, seed=1, mix=TINY), cancel_after_first, token, what="cohort")
    with (tmp_path / "metadata.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 1


@pytest.mark.parametrize("text, message", [
    ("protocol=C:1", "mix protocol: unknown 'C'"),
    ("health=healthy:-1", "weights must be >= 0"),
    ("slices=many:1", "'many' is not a slice count"),
    ("colour=red", "unknown key 'colour'"),
    ("protocol=A:x", "weight 'x' of 'A' is not a number"),
    ("contrasts_b=dixon_water+flair", "unknown contrast 'flair'"),
    ("size=huge", "unknown size 'huge'"),
    ("randomize=maybe", "randomize must be yes or no"),
])
def test_bad_mix_is_refused(text, message):
    with pytest.raises(PhantomParameterError, match=message):
        CohortMix.parse(text)


def test_bad_cohort_size_and_folder_are_refused(tmp_path):
    with pytest.raises(PhantomParameterError, match="whole number of cases >= 1, got 0"):
        drive(generate_cohort(0, tmp_path))
    with pytest.raises(PhantomParameterError, match="seed must be a whole number >= 0, got -3"):
        drive(generate_cohort(1, tmp_path, seed=-3))
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputPathError, match="file: exists and is not a folder"):
        drive(generate_cohort(1, target))


def test_cli_case_writes_files_and_reports_json(tmp_path, capsys):
    out = tmp_path / "case"
    code = main(["phantom", "case", "--out", str(out), "--size", "tiny", "--protocol", "A", "--contrast", "t1w,pd",
                 "--contrast", "diffusion", "--health", "patient", "--diagnosis", "dm1", "--seed", "4", "--png",
                 "--knee-mm", "60", "--foot-mm", "30", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metadata"]["contrasts"] == ["t1w", "pd", "diffusion"]
    coverage = report["metadata"]["coverage"]
    assert coverage["top_below_plateau_mm"] == -60.0, "the field of view reaches over the knee"
    assert coverage["bottom_below_plateau_mm"] == pytest.approx(coverage["leg_length_mm"] + 30.0, abs=0.01), \
        "and starts below the ankle"
    assert report["metadata"]["diagnosis"] == "dm1"
    for name in ("t1w", "pd", "diffusion", "labels"):
        assert (out / f"{name}.nii.gz").is_file()
    assert (out / "preview.png").is_file()


def test_cli_cohort_prints_a_summary(tmp_path, capsys):
    code = main(["phantom", "cohort", "--n", "2", "--out", str(tmp_path), "--seed", "5", "--size", "tiny",
                 "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "2 cases in" in text and "protocols:" in text
    assert (tmp_path / "metadata.csv").is_file()


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["phantom", "case", "--out", str(tmp_path), "--contrast", "flair", "--size", "tiny"]) == 2
    error = capsys.readouterr().err
    assert "unknown contrast 'flair'" in error and "Traceback" not in error
    assert main(["phantom", "case", "--out", str(tmp_path), "--protocol", "A", "--knee-mm", "200", "--size", "tiny"]) == 2
    error = capsys.readouterr().err
    assert "knee_mm must be a number of mm from 0 to 150 above the tibial plateau, got 200.0" in error
    assert main(["phantom", "cohort", "--n", "1", "--out", str(tmp_path), "--seed", "1", "--mix", "legs=four"]) == 2
    assert "mix legs: unknown 'four'" in capsys.readouterr().err


def test_bench_phantom_reports_seconds_per_case():
    from legseg_core.bench import phantom

    result = phantom.run(argparse.Namespace(repeats=1, sizes=["tiny"], protocols=["B"]))
    assert result.rows[0]["size"] == "tiny" and result.rows[0]["cpu s"] > 0
    assert result.targets[0]["what"].startswith("tiny case")
