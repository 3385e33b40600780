"""Table 1, Table A1 and the paired t-tests of the het-vs-hom experiment, as CSV and Markdown.

Table 1: for each training set and architecture, mean ± SD over the cases of the scores averaged
over the muscles per case (section 2.7), on ``P_hom`` and ``P_het``, for Dice and AHD (voxels, as
the paper's numbers read, and mm). Table A1: the same per muscle. Paired t-tests (two-sided,
over the cases both models scored): between architectures within each training/prediction
scenario, and T_het against T_hom for each architecture on ``P_hom`` (the paper's comparison)
and on ``P_het``.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

from legseg_core.atomic import write_text_atomically
from legseg_core.evaluation.errors import EvaluationError
from legseg_core.evaluation.statistics import PairedTest, paired_t_test
from legseg_core.evaluation.metrics import mean_over_muscles
from legseg_core.evaluation.tables import (markdown_table, per_case_summary, per_muscle_summary, score_records,
                                           write_csv)
from legseg_core.labels import MUSCLE_BY_ID, MUSCLE_IDS

log = logging.getLogger(__name__)

PREDICTION_SETS = ("P_hom", "P_het")
TABLE_METRICS = (("dice", "Dice"), ("ahd_voxels", "AHD (voxels)"), ("ahd_mm", "AHD (mm)"))
TEST_METRICS = ("dice", "ahd_voxels")


def table1_rows(result: Any, architectures: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per (training set, architecture): mean, SD and n of each metric on each prediction set."""
    rows = []
    for training, architecture in _models(architectures):
        row: dict[str, Any] = {"training": training, "architecture": architecture}
        for metric, _ in TABLE_METRICS:
            for predict in PREDICTION_SETS:
                summary = per_case_summary(result.predictions(training, architecture, predict), metric)
                row.update({f"{metric}_{predict}_mean": summary.mean, f"{metric}_{predict}_sd": summary.sd,
                            f"{metric}_{predict}_n": summary.n})
        rows.append(row)
    return rows


def table_a1_rows(result: Any, architectures: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per (training set, architecture, muscle)."""
    rows = []
    for training, architecture in _models(architectures):
        summaries = {(metric, predict): per_muscle_summary(result.predictions(training, architecture, predict), metric)
                     for metric, _ in TABLE_METRICS for predict in PREDICTION_SETS}
        for label in MUSCLE_IDS:
            row: dict[str, Any] = {"training": training, "architecture": architecture,
                                   "muscle": MUSCLE_BY_ID[label].abbr}
            for (metric, predict), by_muscle in summaries.items():
                summary = by_muscle[label]
                row.update({f"{metric}_{predict}_mean": summary.mean, f"{metric}_{predict}_sd": summary.sd,
                            f"{metric}_{predict}_n": summary.n})
            rows.append(row)
    return rows


def paired_tests(result: Any, architectures: tuple[str, ...]) -> list[tuple[str, PairedTest]]:
    """(scenario, test) pairs: architectures against each other, then T_het against T_hom."""
    tests = []
    for training, predict in itertools.product(("T_het", "T_hom"), PREDICTION_SETS):
        for first, second in itertools.combinations(architectures, 2):
            tests += _tests(f"{training}/{predict}", result.predictions(training, first, predict),
                            result.predictions(training, second, predict), (first, second))
    for architecture, predict in itertools.product(architectures, PREDICTION_SETS):
        tests += _tests(f"{architecture} on {predict}", result.predictions("T_het", architecture, predict),
                        result.predictions("T_hom", architecture, predict),
                        (f"{architecture} T_het", f"{architecture} T_hom"))
    return tests


def _tests(scenario: str, cases_a: list[Any], cases_b: list[Any], names: tuple[str, str]) -> list[tuple[str, Any]]:
    found = []
    for metric in TEST_METRICS:
        try:
            values_a, values_b = mean_over_muscles(cases_a, metric), mean_over_muscles(cases_b, metric)
            found.append((scenario, paired_t_test(values_a, values_b, metric=metric, names=names)))
        except EvaluationError as error:
            log.warning("%s: %s", scenario, error)
    return found


def _models(architectures: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(training, architecture) for training in ("T_hom", "T_het") for architecture in architectures]


def _cell(row: dict[str, Any], metric: str, predict: str) -> str:
    mean, sd, n = row[f"{metric}_{predict}_mean"], row[f"{metric}_{predict}_sd"], row[f"{metric}_{predict}_n"]
    if not n:
        return "-"
    return f"{mean:.2f} ± {sd:.2f} ({n})" if sd == sd else f"{mean:.2f} ({n})"


def table1_markdown(rows: list[dict[str, Any]]) -> str:
    header = ["training", "architecture"] + [f"{title} {p}" for _, title in TABLE_METRICS for p in PREDICTION_SETS]
    body = [[r["training"], r["architecture"]] + [_cell(r, m, p) for m, _ in TABLE_METRICS for p in PREDICTION_SETS]
            for r in rows]
    return markdown_table(header, body)


def table_a1_markdown(rows: list[dict[str, Any]]) -> str:
    header = ["training", "architecture", "muscle"] + [f"{title} {p}" for _, title in TABLE_METRICS
                                                       for p in PREDICTION_SETS]
    body = [[r["training"], r["architecture"], r["muscle"]] + [_cell(r, m, p) for m, _ in TABLE_METRICS
                                                               for p in PREDICTION_SETS] for r in rows]
    return markdown_table(header, body)


def tests_markdown(tests: list[tuple[str, PairedTest]]) -> str:
    header = ["scenario", "metric", "A", "B", "n", "A mean ± SD", "B mean ± SD", "paired t-test"]
    body = [[scenario, t.metric, t.name_a, t.name_b, str(t.n), f"{t.mean_a:.2f} ± {t.sd_a:.2f}",
             f"{t.mean_b:.2f} ± {t.sd_b:.2f}", t.text()] for scenario, t in tests]
    return markdown_table(header, body) if body else "(no test: fewer than two shared cases)"


def write_tables(result: Any, request: Any) -> list[Path]:
    """Write table1/tableA1/ttests/scores CSV files and report.md under ``request.out_dir``."""
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    architectures = tuple(request.architectures)
    table1, table_a1 = table1_rows(result, architectures), table_a1_rows(result, architectures)
    tests = paired_tests(result, architectures)
    scores = {f"{training}/{architecture}": cases for (training, architecture), cases in result.scores.items()}
    files = [write_csv(table1, out / "table1.csv"), write_csv(table_a1, out / "tableA1.csv"),
             write_csv([{"scenario": s, **t.to_dict()} for s, t in tests] or [{"scenario": "none"}],
                       out / "ttests.csv"),
             write_csv(score_records(scores), out / "scores.csv")]
    report = out / "report.md"
    write_text_atomically(report, _report_text(result, request, table1, table_a1, tests))
    return [*files, report]


def _report_text(result: Any, request: Any, table1: list, table_a1: list, tests: list) -> str:
    sets = result.sets
    lines = ["# Heterogeneous against homogeneous training data", "",
             f"T_het: {len(sets.train['T_het'])} cases; T_hom: {len(sets.train['T_hom'])} cases "
             f"(filters {sets.hom_filters}); P_het: {len(sets.predict_het)} cases of the {request.predict_split} "
             f"split; P_hom: {len(sets.predict_hom_ids)} of them. Recipe {request.recipe}, preset {request.preset}, "
             f"epochs {request.epochs or 'of the recipe'}, seed {request.seed}.", "",
             "## Table 1: mean ± SD over cases (n) of the scores averaged over the muscles per case", "",
             table1_markdown(table1), "", "## Table A1: per muscle", "", table_a1_markdown(table_a1), "",
             "## Paired t-tests (two-sided, scores averaged over muscles per case)", "", tests_markdown(tests), "",
             "Training time per model: " + ", ".join(f"{t}/{a} {s:.0f} s" for (t, a), s in result.seconds.items())]
    return "\n".join(lines) + "\n"
