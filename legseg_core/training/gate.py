"""The gate of DESIGN.md "Models on trial": a candidate replaces the active model only if it is
not worse on held-out cases.

Both models segment the same held-out cases of the store (its validation and test splits) and
are scored per case and muscle with :func:`legseg_core.evaluation.metrics.evaluate_labels`.
The candidate passes when

* its mean Dice (per case averaged over the muscles, then over the cases, as section 2.7) is at
  least the active model's minus ``mean_tolerance`` (0.01), and
* every muscle's Dice (averaged over the cases) is at least the active model's minus
  ``muscle_tolerance`` (0.02).

A muscle that neither model can be scored on (absent from every reference and prediction) is
skipped. With no active model, the candidate passes. The verdict lists every comparison, so the
report says why it passed or failed.

**Stores without held-out cases** (a new user's first accepted cases all lie in the train split;
by the 70/15/15 shares the third case of each contrast and health group goes to validation or
test). Nothing can be validated there, so nothing is decided automatically: the candidate is
kept as an *unvalidated* candidate, one explicit choice away from use ("Use it (unvalidated)" in
the app and napari, ``legseg models promote ID``). To inform that choice the same rule is applied
to the accepted cases the candidate learnt from, and the verdict says so (``held_out=False``):
whether the fine-tuning learnt the corrections without undoing what the active model got right on
them -- a check, not a validation. ``legseg finetune --use-unvalidated`` makes the candidate active
when that check holds. The choice is recorded (author, time and reason in the model's status log,
and ``gate.used_unvalidated`` in its metrics) and undone with one rollback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from legseg_core.errors import TrainingError
from legseg_core.labels import MUSCLES


@dataclass(frozen=True)
class GateRule:
    """The tolerances of the gate, in Dice (0..1)."""

    mean_tolerance: float = 0.01
    muscle_tolerance: float = 0.02

    def __post_init__(self) -> None:
        for name in ("mean_tolerance", "muscle_tolerance"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise TrainingError(f"gate {name}={value!r} must be a Dice difference in [0, 1)")


@dataclass(frozen=True)
class ScoreSummary:
    """Dice of one model on the held-out cases: mean over cases of the per-case mean, and per muscle."""

    mean_dice: float
    dice: dict[str, float]
    cases: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"mean_dice": self.mean_dice, "dice": dict(self.dice), "cases": list(self.cases)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScoreSummary":
        return cls(float(_number(data["mean_dice"])), {k: float(_number(v)) for k, v in data["dice"].items()},
                   tuple(data.get("cases", ())))


def summarise_scores(scores: Sequence[Any]) -> ScoreSummary:
    """A :class:`ScoreSummary` of per-case :class:`~legseg_core.evaluation.metrics.CaseScores`."""
    per_case = [case.mean("dice") for case in scores]
    dice = {}
    for muscle in MUSCLES:
        values = [case.muscle(muscle.id).dice for case in scores]
        dice[muscle.abbr] = _nanmean(values)
    return ScoreSummary(_nanmean(per_case), dice, tuple(case.case_id for case in scores))


@dataclass(frozen=True)
class GateVerdict:
    """Whether the candidate passed, and every comparison that decided it; ``held_out`` is False when
    the comparison ran on the cases the candidate learnt from (a store without held-out cases)."""

    passed: bool
    reasons: tuple[str, ...]
    candidate: ScoreSummary
    active: ScoreSummary | None
    rule: GateRule
    held_out: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "candidate": self.candidate.to_dict(),
                "active": None if self.active is None else self.active.to_dict(), "rule": asdict(self.rule),
                "held_out": self.held_out}

    def text(self) -> str:
        """One line: the verdict and the first failing reason (or that all comparisons held)."""
        if not self.held_out:
            return self._learnt_cases_text()
        if self.passed:
            return "passed: " + (self.reasons[0] if self.active is None else "not worse than the active model "
                                 f"(mean Dice {self.candidate.mean_dice:.3f} vs {self.active.mean_dice:.3f})")
        failures = [r for r in self.reasons if "FAIL" in r]
        return "failed: " + "; ".join(failures)


    def _learnt_cases_text(self) -> str:
        cases = len(self.candidate.cases)
        versus = "" if self.active is None else f" vs the active model's {self.active.mean_dice:.3f}"
        text = (f"not validated: the store has no accepted validation or test case; on the {cases} accepted "
                f"case(s) it learnt from (not held out) mean Dice {self.candidate.mean_dice:.3f}{versus}")
        if self.passed:
            return text + ", no muscle worse beyond the tolerances"
        return text + ", but worse there: " + "; ".join(r[5:] for r in self.reasons if r.startswith("FAIL"))


def judge(candidate: ScoreSummary, active: ScoreSummary | None, rule: GateRule = GateRule(), *,
          held_out: bool = True) -> GateVerdict:
    """Compare a candidate's Dice with the active model's under ``rule``, on held-out cases (``held_out``)
    or on the cases the candidate learnt from."""
    if active is None:
        return GateVerdict(True, ("there is no active model to compare with",), candidate, None, rule, held_out)
    if not math.isfinite(candidate.mean_dice):
        return GateVerdict(False, ("FAIL the candidate could not be scored on any case",), candidate,
                           active, rule, held_out)
    reasons = [_compare("mean Dice", candidate.mean_dice, active.mean_dice, rule.mean_tolerance)]
    for muscle in MUSCLES:
        new, old = candidate.dice.get(muscle.abbr, math.nan), active.dice.get(muscle.abbr, math.nan)
        if math.isnan(old) and math.isnan(new):
            continue
        reasons.append(_compare(f"{muscle.abbr} Dice", new, old, rule.muscle_tolerance))
    passed = not any(r.startswith("FAIL") for r in reasons)
    return GateVerdict(passed, tuple(reasons), candidate, active, rule, held_out)


def _compare(what: str, new: float, old: float, tolerance: float) -> str:
    if math.isnan(old):
        return f"ok   {what} {new:.3f} (the active model has none)"
    if math.isnan(new):
        return f"FAIL {what}: the candidate has none, the active model {old:.3f}"
    verdict = "ok  " if new >= old - tolerance - 1e-12 else "FAIL"
    sign = ">=" if verdict == "ok  " else "<"
    return f"{verdict} {what} {new:.3f} {sign} active {old:.3f} - {tolerance:g}"


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)
