"""Evaluation as in the paper (section 2.7): Dice and average Hausdorff distance per muscle, the
Figure 4 overlap map, Table 1 / Table A1 style tables, paired t-tests, plots, and per-muscle
measurements (volume, cross-sectional area, image means, fat fraction).

Label arrays are uint8 ``[z, y, x]`` with the muscle ids 1..7 of :mod:`legseg_core.labels`;
spacings are ``(z, y, x)`` in mm. See :mod:`legseg_core.evaluation.metrics` for the exact
definitions and what an empty mask gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.evaluation.cases import case_id, evaluate_cases, evaluate_pair_files, load_pair, match_cases
    from legseg_core.evaluation.distances import MaskDistances, directed_average, mask_distances
    from legseg_core.evaluation.errors import EvaluationError
    from legseg_core.evaluation.measure import MuscleMeasurement, erode_labels, measure_labels, measure_volumes
    from legseg_core.evaluation.metrics import (CaseScores, MuscleScores, confusion_counts, evaluate_labels,
                                                mean_over_muscles, score_labels)
    from legseg_core.evaluation.overlap import OverlapTracker, overlap_map
    from legseg_core.evaluation.statistics import PairedTest, compare_models, paired_t_test
    from legseg_core.evaluation.tables import Summary, markdown_report, summarise

__all__ = ["CaseScores", "EvaluationError", "MaskDistances", "MuscleMeasurement", "MuscleScores", "OverlapTracker",
           "PairedTest", "Summary", "case_id", "compare_models", "confusion_counts", "directed_average",
           "erode_labels", "evaluate_cases", "evaluate_labels", "evaluate_pair_files", "load_pair", "markdown_report",
           "match_cases", "mean_over_muscles", "measure_labels", "measure_volumes", "overlap_map", "paired_t_test",
           "score_labels", "summarise", "mask_distances"]

#: Where each name is defined: imported on first use (:mod:`legseg_core.lazy`).
_EXPORTS = {
    "case_id": "cases", "evaluate_cases": "cases", "evaluate_pair_files": "cases", "load_pair": "cases",
    "match_cases": "cases", "MaskDistances": "distances", "directed_average": "distances",
    "mask_distances": "distances", "EvaluationError": "errors", "MuscleMeasurement": "measure",
    "erode_labels": "measure", "measure_labels": "measure", "measure_volumes": "measure", "CaseScores": "metrics",
    "MuscleScores": "metrics", "confusion_counts": "metrics", "evaluate_labels": "metrics",
    "mean_over_muscles": "metrics", "score_labels": "metrics", "OverlapTracker": "overlap",
    "overlap_map": "overlap", "PairedTest": "statistics", "compare_models": "statistics",
    "paired_t_test": "statistics", "Summary": "tables", "markdown_report": "tables", "summarise": "tables",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
