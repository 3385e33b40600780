"""Statistics of section 2.7: scores averaged over muscles per image, paired t-tests between models.

Two models (or two training sets) are compared on the same cases: for each case the metric is
averaged over the muscles (NaN muscles left out), and a two-sided paired t-test
(``scipy.stats.ttest_rel``) is run over the cases that both have a value. The result is
reported as the paper does: ``t(df) = ..., p = ...`` with ``df = n - 1``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from legseg_core.evaluation.errors import EvaluationError
from legseg_core.evaluation.metrics import CaseScores, mean_over_muscles


@dataclass(frozen=True)
class PairedTest:
    """A paired t-test of one metric between model A and model B over ``n`` shared cases.

    ``t`` is positive when A's mean is larger; ``p`` is two-sided. Means and SDs (``ddof=1``)
    are over the per-case values that entered the test. When every paired difference is the
    same (e.g. all zero), ``t`` and ``p`` are NaN: the test is undefined.
    """

    metric: str
    name_a: str
    name_b: str
    n: int
    t: float
    df: int
    p: float
    mean_a: float
    sd_a: float
    mean_b: float
    sd_b: float

    @property
    def mean_difference(self) -> float:
        """Mean of A minus mean of B."""
        return self.mean_a - self.mean_b

    def text(self) -> str:
        """The paper's notation, e.g. ``t(9) = 8.87, p < 0.001``."""
        if math.isnan(self.t):
            return f"t({self.df}) undefined (all paired differences equal)"
        p_text = "p < 0.001" if self.p < 0.001 else f"p = {self.p:.3f}"
        return f"t({self.df}) = {self.t:.2f}, {p_text}"

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with the mean difference and the paper-style text."""
        return {**asdict(self), "mean_difference": self.mean_difference, "text": self.text()}


def paired_t_test(values_a: Mapping[str, float], values_b: Mapping[str, float], *, metric: str = "dice",
                  names: tuple[str, str] = ("A", "B")) -> PairedTest:
    """Paired t-test between two case id -> value mappings, over the cases both hold a finite value."""
    from scipy import stats

    shared = sorted(k for k in values_a if k in values_b and np.isfinite(values_a[k]) and np.isfinite(values_b[k]))
    if len(shared) < 2:
        raise EvaluationError(f"a paired t-test of {metric} between {names[0]} and {names[1]} needs at least 2 "
                              f"cases scored by both, found {len(shared)}")
    a = np.array([values_a[k] for k in shared], dtype=float)
    b = np.array([values_b[k] for k in shared], dtype=float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_rel(a, b)
    return PairedTest(metric=metric, name_a=names[0], name_b=names[1], n=len(shared), t=float(result.statistic),
                      df=len(shared) - 1, p=float(result.pvalue), mean_a=float(a.mean()), sd_a=float(a.std(ddof=1)),
                      mean_b=float(b.mean()), sd_b=float(b.std(ddof=1)))


def compare_models(cases_a: Sequence[CaseScores], cases_b: Sequence[CaseScores], *,
                   metrics: Sequence[str] = ("dice", "ahd_voxels"),
                   names: tuple[str, str] = ("A", "B")) -> list[PairedTest]:
    """Paired t-tests of each metric (averaged over muscles per case) between two models' scores."""
    return [paired_t_test(mean_over_muscles(cases_a, metric), mean_over_muscles(cases_b, metric),
                          metric=metric, names=names) for metric in metrics]
