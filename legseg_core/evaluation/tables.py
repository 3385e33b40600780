"""Tables of scores as in the paper: per muscle (Table A1) and per case (Table 1), CSV and Markdown.

``models`` maps a model name to its list of :class:`CaseScores` (one per case). Per muscle,
a metric is summarised over the cases; per case, it is first averaged over the muscles
(section 2.7) and the case means are then summarised. Every summary is mean ± SD (sample SD,
``ddof=1``, as R's ``sd``) over the finite values, with their count ``n``: NaN values (a muscle
missing from reference or prediction, see :mod:`legseg_core.evaluation.metrics`) are left out
and show as a smaller ``n``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import InputPathError
from legseg_core.evaluation.metrics import SCORE_METRICS, CaseScores
from legseg_core.evaluation.statistics import PairedTest
from legseg_core.labels import MUSCLE_IDS, MUSCLE_BY_ID

Models = Mapping[str, Sequence[CaseScores]]

METRIC_TITLES: dict[str, str] = {"dice": "Dice", "ahd_voxels": "AHD (voxels)", "ahd_mm": "AHD (mm)",
                                 "hd95_mm": "HD95 (mm)", "volume_ref_ml": "reference volume (ml)",
                                 "volume_pred_ml": "predicted volume (ml)",
                                 "volume_difference_ml": "volume difference (ml)",
                                 "volume_difference_percent": "volume difference (%)"}


@dataclass(frozen=True)
class Summary:
    """Mean ± SD over ``n`` finite values (NaN where there are none; SD NaN below two values)."""

    mean: float
    sd: float
    n: int

    def text(self, digits: int = 2) -> str:
        """``0.86 ± 0.07``, or ``-`` when there is no value."""
        if self.n == 0:
            return "-"
        sd = "-" if math.isnan(self.sd) else f"{self.sd:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {sd}"


def summarise(values: Sequence[float] | np.ndarray) -> Summary:
    """Mean, sample SD (``ddof=1``) and count of the finite values."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return Summary(math.nan, math.nan, 0)
    sd = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return Summary(float(finite.mean()), sd, int(finite.size))


def per_muscle_summary(cases: Sequence[CaseScores], metric: str) -> dict[int, Summary]:
    """Muscle id -> summary of one metric over the cases (Table A1)."""
    return {label: summarise([getattr(c.muscle(label), metric) for c in cases if _has(c, label)])
            for label in MUSCLE_IDS}


def per_case_summary(cases: Sequence[CaseScores], metric: str) -> Summary:
    """Summary over cases of the metric averaged over muscles per case (Table 1)."""
    return summarise([case.mean(metric) for case in cases])


def _has(case: CaseScores, label: int) -> bool:
    return any(m.label == label for m in case.muscles)


def summary_records(models: Models, metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Flat rows (scope, model, name, metric, mean, sd, n): per muscle, then over cases."""
    rows = []
    for model, cases in models.items():
        for metric in metrics:
            for label, summary in per_muscle_summary(cases, metric).items():
                rows.append({"scope": "muscle", "model": model, "name": MUSCLE_BY_ID[label].abbr, "metric": metric,
                             "mean": summary.mean, "sd": summary.sd, "n": summary.n})
            overall = per_case_summary(cases, metric)
            rows.append({"scope": "cases", "model": model, "name": "mean over muscles per case", "metric": metric,
                         "mean": overall.mean, "sd": overall.sd, "n": overall.n})
    return rows


def score_records(models: Models) -> list[dict[str, Any]]:
    """One flat row per model, case and muscle with every score."""
    return [{"model": model, "case_id": case.case_id, **muscle.to_dict()}
            for model, cases in models.items() for case in cases for muscle in case.muscles]


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write dict rows as CSV (columns in first-seen order; NaN written as empty cells)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputPathError(f"{path}: the folder {path.parent} does not exist")
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=[csv_text(column) for column in columns])
    writer.writeheader()
    for row in rows:
        writer.writerow({csv_text(k): _csv_cell(v) for k, v in row.items()})
    return write_text_atomically(path, text.getvalue())


#: First characters that make a spreadsheet read a cell as a formula (=HYPERLINK(...), +cmd, @SUM ...).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text: a leading formula character gets a ' before it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return csv_text(value) if isinstance(value, str) else value


def jsonable(value: Any) -> Any:
    """A copy of nested dicts/lists with NaN and Inf replaced by None (valid JSON) and numpy scalars as Python."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def muscle_table_markdown(models: Models, metrics: Sequence[str]) -> str:
    """Table A1: one row per muscle, mean ± SD (n) of each metric for each model."""
    header = ["muscle"] + [f"{model} {METRIC_TITLES.get(m, m)}" for model in models for m in metrics]
    summaries = {(model, m): per_muscle_summary(cases, m) for model, cases in models.items() for m in metrics}
    rows = [[MUSCLE_BY_ID[label].abbr] + [_cell(summaries[(model, m)][label]) for model in models for m in metrics]
            for label in MUSCLE_IDS]
    return markdown_table(header, rows)


def case_table_markdown(models: Models, metrics: Sequence[str]) -> str:
    """Table 1: one row per model, mean ± SD (n cases) of each metric averaged over muscles per case."""
    header = ["model"] + [METRIC_TITLES.get(m, m) for m in metrics]
    rows = [[model] + [_cell(per_case_summary(cases, m)) for m in metrics] for model, cases in models.items()]
    return markdown_table(header, rows)


def cases_markdown(models: Models, metrics: Sequence[str]) -> str:
    """One row per case: each metric averaged over muscles, for each model."""
    header = ["case"] + [f"{model} {METRIC_TITLES.get(m, m)}" for model in models for m in metrics]
    by_model = {model: {c.case_id: c for c in cases} for model, cases in models.items()}
    case_ids = sorted({key for table in by_model.values() for key in table})
    rows = [[key] + [_number(by_model[model][key].mean(m)) if key in by_model[model] else "-"
                     for model in models for m in metrics] for key in case_ids]
    return markdown_table(header, rows)


def tests_markdown(tests: Sequence[PairedTest]) -> str:
    """Paired t-tests: metric, models, n, means ± SD and ``t(df) = ..., p = ...``."""
    header = ["metric", "A", "B", "n", "A mean ± SD", "B mean ± SD", "paired t-test"]
    rows = [[METRIC_TITLES.get(t.metric, t.metric), t.name_a, t.name_b, str(t.n), f"{t.mean_a:.2f} ± {t.sd_a:.2f}",
             f"{t.mean_b:.2f} ± {t.sd_b:.2f}", t.text()] for t in tests]
    return markdown_table(header, rows)


def markdown_report(models: Models, metrics: Sequence[str], tests: Sequence[PairedTest] = ()) -> str:
    """The whole report: Table A1 (per muscle), Table 1 (per case), the cases, and any t-tests."""
    parts = ["## Per muscle (mean ± SD over cases, n)", muscle_table_markdown(models, metrics),
             "## Averaged over muscles per case (mean ± SD over cases, n)", case_table_markdown(models, metrics),
             "## Cases (mean over muscles)", cases_markdown(models, metrics)]
    if tests:
        parts += ["## Paired t-tests (values averaged over muscles per case)", tests_markdown(tests)]
    return "\n\n".join(parts) + "\n"


def _cell(summary: Summary) -> str:
    return f"{summary.text()} ({summary.n})"


def _number(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.3f}"


__all__ = ["METRIC_TITLES", "SCORE_METRICS", "Summary", "case_table_markdown", "cases_markdown", "jsonable",
           "markdown_report", "markdown_table", "muscle_table_markdown", "per_case_summary", "per_muscle_summary",
           "score_records", "summarise", "summary_records", "tests_markdown", "write_csv"]
