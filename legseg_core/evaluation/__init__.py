"""Evaluation as in the paper (section 2.7): Dice and average Hausdorff distance per muscle, the
Figure 4 overlap map, Table 1 / Table A1 style tables, paired t-tests, plots, and per-muscle
measurements (volume, cross-sectional area, image means, fat fraction).

Label arrays are uint8 ``[z, y, x]`` with the muscle ids 1..7 of :mod:`legseg_core.labels`;
spacings are ``(z, y, x)`` in mm. See :mod:`legseg_core.evaluation.metrics` for the exact
definitions and what an empty mask gives.
"""

from __future__ import annotations

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
