"""How heterogeneous the set is at a glance: cases by contrast x health status, with totals."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from legseg_core.store.records import HEALTH_STATUSES, REVIEW_STATUSES
from legseg_core.store.splits import SPLITS


@dataclass(frozen=True)
class StoreSummary:
    """Counts over the whole store.

    ``table[contrast][health]`` is the number of cases; ``accepted[contrast][health]`` the number
    of those with an accepted label version (what training uses).
    """

    table: dict[str, dict[str, int]]
    accepted: dict[str, dict[str, int]]
    by_split: dict[str, int]
    accepted_by_split: dict[str, int]
    by_status: dict[str, int]
    cases: int
    label_versions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"cases": self.cases, "label_versions": self.label_versions, "by_contrast_and_health": self.table,
                "accepted_by_contrast_and_health": self.accepted, "by_split": self.by_split,
                "accepted_by_split": self.accepted_by_split, "by_status": self.by_status}

    def format(self) -> str:
        """Plain-text tables: cases (accepted) by contrast x health with totals, then splits and statuses."""
        columns = list(HEALTH_STATUSES)
        rows = [["contrast", *columns, "total"]]
        for contrast in sorted(self.table):
            cells = [_cell(self.table[contrast].get(h, 0), self.accepted[contrast].get(h, 0)) for h in columns]
            rows.append([contrast, *cells, _cell(sum(self.table[contrast].values()),
                                                 sum(self.accepted[contrast].values()))])
        totals = [_cell(sum(t.get(h, 0) for t in self.table.values()), sum(a.get(h, 0) for a in self.accepted.values()))
                  for h in columns]
        rows.append(["total", *totals, _cell(self.cases, sum(self.accepted_by_split.values()))])
        lines = [f"{self.cases} cases, {self.label_versions} label versions; cells: cases (accepted)", _grid(rows)]
        lines.append("splits:   " + ", ".join(f"{s} {self.by_split.get(s, 0)} ({self.accepted_by_split.get(s, 0)})"
                                              for s in SPLITS))
        lines.append("statuses: " + ", ".join(f"{s} {self.by_status.get(s, 0)}" for s in REVIEW_STATUSES))
        return "\n".join(lines)


def _cell(count: int, accepted: int) -> str:
    return f"{count} ({accepted})"


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    text = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]
    text.insert(1, "  ".join("-" * w for w in widths))
    text.insert(len(text) - 1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def summarise(connection: sqlite3.Connection) -> StoreSummary:
    """Count the store's cases by contrast x health, split and review status."""
    table: dict[str, dict[str, int]] = {}
    accepted: dict[str, dict[str, int]] = {}
    by_split = dict.fromkeys(SPLITS, 0)
    accepted_by_split = dict.fromkeys(SPLITS, 0)
    by_status = dict.fromkeys(REVIEW_STATUSES, 0)
    query = "SELECT contrast, health, split, status, COUNT(*) FROM cases GROUP BY contrast, health, split, status"
    for contrast, health, split, status, count in connection.execute(query):
        is_accepted = count if status == "accepted" else 0
        table.setdefault(contrast, {}).setdefault(health, 0)
        accepted.setdefault(contrast, {}).setdefault(health, 0)
        table[contrast][health] += count
        accepted[contrast][health] += is_accepted
        by_split[split] += count
        accepted_by_split[split] += is_accepted
        by_status[status] += count
    versions = int(connection.execute("SELECT COUNT(*) FROM label_versions").fetchone()[0])
    return StoreSummary(table, accepted, by_split, accepted_by_split, by_status, sum(by_status.values()), versions)
