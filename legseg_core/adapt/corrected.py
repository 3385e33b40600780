"""Which voxels of a scan an expert has corrected: leg slices, and the voxel mask they make.

The unit of correction is a *leg slice*: one axial slice ``z`` of one leg, that is the columns
(x) the preprocessing gives that leg on that slice (the whole slice for a one-leg scan). An
expert corrects a leg slice as a whole; every voxel of it, background included, then counts as
known. Everything else of the scan is unknown: case adaptation does not learn from it and
replaces it with the adapted model's labels.

Slices are 0-based indices along z of the canonical ``[z, y, x]`` array (inferior to superior).
Corrected leg slices are given by the user (``parse_slices``: ``12`` for both legs of slice 12,
``right:4,12,20`` for one leg) or found as the leg slices whose labels differ from a prediction
(:func:`changed_leg_slices`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from legseg_core.errors import LegsegError

LEGS = ("right", "left")


class AdaptError(LegsegError):
    """Case adaptation cannot run on these inputs (no corrected slice, nothing but background, ...)."""


@dataclass(frozen=True)
class LegSlice:
    """One axial slice ``z`` of one leg (``right``, ``left``, or ``both`` for a one-leg scan)."""

    z: int
    leg: str

    def __str__(self) -> str:
        return f"{self.leg}:{self.z}"


@dataclass(frozen=True)
class LegColumns:
    """The x columns ``(start, stop)`` of each leg on each slice of a scan (from its patch plan)."""

    columns: dict[str, list[tuple[int, int]]]
    depth: int

    @classmethod
    def of(cls, volume, config=None) -> "LegColumns":
        """The legs of ``volume`` as the preprocessing finds them (``config``: the model's settings)."""
        from legseg_core.preprocess import plan_patches

        plan = plan_patches(volume, config)
        width = volume.shape[2]
        columns: dict[str, list[tuple[int, int] | None]] = {}
        for record in plan.records:
            leg = record.leg if len(plan.legs) > 1 else "both"
            rows = columns.setdefault(leg, [None] * volume.shape[0])
            for z in range(record.z[0], min(record.z[1], volume.shape[0])):
                if rows[z] is None:
                    rows[z] = (max(record.columns[0], 0), min(record.columns[1], width))
        filled = {leg: [c if c is not None else (0, 0) for c in rows] for leg, rows in columns.items()}
        return cls(filled, volume.shape[0])

    @property
    def legs(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def mask(self, leg_slices: Iterable[LegSlice], shape: tuple[int, int, int]) -> np.ndarray:
        """Bool ``[z, y, x]``: the voxels of the given leg slices."""
        mask = np.zeros(shape, dtype=bool)
        for item in leg_slices:
            for leg in self._legs_of(item.leg):
                start, stop = self.columns[leg][item.z]
                mask[item.z, :, start:stop] = True
        return mask

    def _legs_of(self, leg: str) -> tuple[str, ...]:
        if leg == "both" or leg not in self.columns:
            return self.legs
        return (leg,)

    def expand(self, leg_slices: Iterable[LegSlice]) -> list[LegSlice]:
        """Leg slices with ``both`` split into the scan's legs, checked against its depth, sorted."""
        result = set()
        for item in leg_slices:
            if not 0 <= item.z < self.depth:
                raise AdaptError(f"slice {item.z} is outside the scan's {self.depth} axial slices "
                                 f"(0..{self.depth - 1})")
            if item.leg not in ("both", *self.legs):
                raise AdaptError(f"leg {item.leg!r} of slice {item.z}: this scan has the leg(s) "
                                 f"{', '.join(self.legs)}")
            result.update(LegSlice(item.z, leg) for leg in self._legs_of(item.leg))
        return sorted(result, key=lambda s: (s.leg, s.z))


def parse_slices(tokens: Sequence[str]) -> list[LegSlice]:
    """``["12", "right:4,20", "left:5"]`` -> leg slices (``both`` for a bare slice number)."""
    result = []
    for token in tokens:
        leg, _, numbers = str(token).rpartition(":")
        leg = leg.strip().lower() or "both"
        if leg not in (*LEGS, "both"):
            raise AdaptError(f"slice {token!r}: the leg must be right or left (as in right:4,12,20)")
        for number in numbers.split(","):
            try:
                z = int(number)
            except ValueError:
                raise AdaptError(f"slice {token!r}: {number!r} is not a slice number (0-based z index)") from None
            result.append(LegSlice(z, leg))
    return result


def changed_leg_slices(labels: np.ndarray, prediction: np.ndarray, legs: LegColumns) -> list[LegSlice]:
    """The leg slices on which ``labels`` differ from ``prediction`` (both ``[z, y, x]``)."""
    if labels.shape != prediction.shape:
        raise AdaptError(f"the prediction's shape {prediction.shape} differs from the labels' {labels.shape}")
    differ = labels != prediction
    found = []
    for leg in legs.legs:
        for z in range(labels.shape[0]):
            start, stop = legs.columns[leg][z]
            if stop > start and differ[z, :, start:stop].any():
                found.append(LegSlice(z, leg))
    return found


def check_corrected(labels: np.ndarray, corrected: np.ndarray, leg_slices: Sequence[LegSlice], source: str) -> None:
    """Refuse a selection with no corrected voxel, or whose corrected voxels are all background."""
    if not leg_slices or not corrected.any():
        raise AdaptError(f"{source}: no corrected slices; correct a few slices (any muscles) and name them "
                         "(--slices) or give the prediction they were corrected from (--corrected-from)")
    if not (labels[corrected] > 0).any():
        names = ", ".join(str(s) for s in leg_slices[:8]) + (" ..." if len(leg_slices) > 8 else "")
        raise AdaptError(f"{source}: the corrected slices ({names}) hold only background; correct at least one "
                         "muscle on them")
