"""Sticky, stratified train / validation / test assignment.

Every case gets its split once, when it enters the store, and keeps it: held-out cases never
leak into training as the set grows. The stratum of a case is (contrast, health status); a new
case goes to the split that lies furthest below its target share within its stratum, counted
over the cases already there (``target share x (n + 1) - count``). Ties are broken by a hash
of the case id and the split name, so the result is deterministic for a given id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from legseg_core.errors import StoreError

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitConfig:
    """Target shares of the three splits (each in 0..1, summing to 1)."""

    train: float = 0.70
    validation: float = 0.15
    test: float = 0.15

    def __post_init__(self) -> None:
        shares = (self.train, self.validation, self.test)
        if any(not 0.0 <= float(s) <= 1.0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
            raise StoreError(f"split shares train={self.train}, validation={self.validation}, test={self.test} "
                             "must each lie in 0..1 and sum to 1")
        if self.train <= 0.0:
            raise StoreError(f"the train share must be above 0, got {self.train}")

    def share(self, split: str) -> float:
        """The target share of one split."""
        return float(getattr(self, split))

    def to_json(self) -> str:
        """The form kept in the catalog's settings."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SplitConfig":
        """Inverse of :meth:`to_json`."""
        return cls(**json.loads(text))

    @classmethod
    def parse(cls, text: str) -> "SplitConfig":
        """Parse '70/15/15' or '0.7,0.15,0.15' (train, validation, test; percentages or fractions)."""
        parts = [p for p in text.replace(",", "/").split("/") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3:
            raise StoreError(f"splits {text!r} must be three numbers train/validation/test, e.g. 70/15/15")
        total = sum(values)
        if total <= 0:
            raise StoreError(f"splits {text!r} must not all be zero")
        return cls(*(v / total for v in values))


def assign_split(case_id: str, counts: dict[str, int], config: SplitConfig) -> str:
    """The split for a new case given the counts per split already in its stratum."""
    total = sum(counts.get(s, 0) for s in SPLITS) + 1

    def priority(split: str) -> tuple[float, str]:
        deficit = config.share(split) * total - counts.get(split, 0)
        tie_break = hashlib.sha256(f"{case_id}/{split}".encode()).hexdigest()
        return (-round(deficit, 9), tie_break)

    candidates = [s for s in SPLITS if config.share(s) > 0.0]
    return min(candidates, key=priority)
