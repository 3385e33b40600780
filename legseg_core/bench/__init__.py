"""Benchmarks behind ``legseg bench NAME``: one module per benchmark, listed in BENCHMARKS.

Each module exposes ``DESCRIPTION`` (one line), ``add_arguments(parser)`` and
``run(args) -> BenchResult``. Every figure is a median over repeats, so that a shared, noisy
machine still gives comparable numbers; ``legseg bench all`` runs each with its quick settings
and ends with a summary table.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Benchmark modules under legseg_core.bench, in the order `legseg bench all` runs them.
BENCHMARKS: tuple[str, ...] = (
    "overlap",
    "store",
    "preprocess",
    "editing",
    "phantom",
    "train",
    "inference",
    "demo",
    "correction",
)

#: Benchmarks of the Qt widgets: name -> module. They are imported only when run, so that the
#: core (and `legseg --help`) never imports Qt; they take the same interface as core benchmarks.
GUI_BENCHMARKS: dict[str, str] = {
    "slice_view": "legseg_gui.benchmarks.slice_view",
    "app": "legseg_gui.benchmarks.app",
    "napari_docks": "legseg_gui.benchmarks.napari_docks",
}


@dataclass
class BenchResult:
    """Rows of measured figures plus the targets they are judged against."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)  # {"what", "target", "measured", "met"}
    notes: list[str] = field(default_factory=list)

    def target(self, what: str, measured: float, limit: float, *, unit: str = "s", below: bool = True) -> None:
        """Record a target: ``measured`` must be below (or above) ``limit``."""
        met = measured < limit if below else measured >= limit
        self.targets.append({"what": what, "target": f"{'<' if below else '>='} {limit:g} {unit}".strip(),
                             "measured": round(measured, 4), "met": bool(met)})


def median_seconds(function: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time in seconds of ``function()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of dict rows (columns in first-seen order)."""
    if not rows:
        return "(no rows)"
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
