"""The gate: a candidate is promoted only if it is not worse than the active model on held-out cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from legseg_core.errors import TrainingError
from legseg_core.evaluation.metrics import evaluate_labels
from legseg_core.labels import MUSCLE_ABBRS
from legseg_core.training.gate import GateRule, ScoreSummary, judge, summarise_scores


def summary(mean: float, **muscles: float) -> ScoreSummary:
    dice = {abbr: muscles.get(abbr, mean) for abbr in MUSCLE_ABBRS}
    return ScoreSummary(mean, dice, ("case-1", "case-2"))


def test_better_candidate_passes():
    verdict = judge(summary(0.85), summary(0.80))
    assert verdict.passed and "not worse than the active model (mean Dice 0.850 vs 0.800)" in verdict.text()
    assert verdict.reasons[0] == "ok   mean Dice 0.850 >= active 0.800 - 0.01"


def test_candidate_within_tolerance_passes():
    assert judge(summary(0.795, TP=0.785), summary(0.80)).passed


def test_worse_mean_fails_and_says_why():
    verdict = judge(summary(0.78), summary(0.80))
    assert not verdict.passed
    assert verdict.text().startswith("failed: FAIL mean Dice 0.780 < active 0.800 - 0.01")


def test_one_worse_muscle_fails_even_with_a_better_mean():
    verdict = judge(summary(0.90, TP=0.70), summary(0.80, TP=0.75))
    assert not verdict.passed
    assert verdict.text() == "failed: FAIL TP Dice 0.700 < active 0.750 - 0.02"


def test_no_active_model_passes_and_unscored_candidate_fails():
    assert judge(summary(0.5), None).passed
    assert not judge(ScoreSummary(math.nan, {}, ()), summary(0.8)).passed


def test_muscles_no_model_can_score_are_skipped():
    candidate, active = summary(0.8, TA=math.nan), summary(0.8, TA=math.nan)
    verdict = judge(candidate, active)
    assert verdict.passed and not any("TA" in reason for reason in verdict.reasons)


def test_rule_is_validated_and_round_trips():
    with pytest.raises(TrainingError, match="gate mean_tolerance=1.5 must be a Dice difference"):
        GateRule(mean_tolerance=1.5)
    verdict = judge(summary(0.8), summary(0.8), GateRule(0.0, 0.0))
    assert verdict.passed
    again = ScoreSummary.from_dict(verdict.to_dict()["candidate"])
    assert again == verdict.candidate


def test_summary_of_case_scores_averages_per_case_then_over_cases():
    reference = np.zeros((4, 8, 8), np.uint8)
    reference[:, :4] = 1
    reference[:, 4:] = 2
    perfect = evaluate_labels(reference, reference, case_id="a", with_distances=False)
    half = reference.copy()
    half[:, :2] = 0
    worse = evaluate_labels(reference, half, case_id="b", with_distances=False)
    result = summarise_scores([perfect, worse])
    assert result.dice["GL"] == pytest.approx((1.0 + 2 * 16 / (32 + 16)) / 2)
    assert result.dice["GM"] == pytest.approx(1.0) and math.isnan(result.dice["TP"])
    assert result.mean_dice == pytest.approx((1.0 + (2 / 3 + 1.0) / 2) / 2)
    assert result.cases == ("a", "b")
