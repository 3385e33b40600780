"""Quality control of a segmentation without a reference: what looks implausible, per muscle and leg.

A model's labels on a scan it never saw can be wrong in ways no score shows without a reference.
:func:`check_segmentation` measures, per leg and muscle, the volume, its share of the leg's muscle,
the number of sizeable connected pieces and the mean uncertainty, the left/right volume ratios,
and the leg's mean muscle cross-section over the length the labels cover, and flags:

- ``missing``: a muscle with less than :data:`MISSING_BELOW_ML` in a leg that has muscle;
- ``fragmented``: a muscle in more than one sizeable piece (each at least
  :data:`FRAGMENT_SHARE` of its largest piece), where one muscle is one piece;
- ``ratio``: a left/right volume ratio outside :data:`RATIO_RANGE`;
- ``share``: a muscle's share of its leg's muscle volume outside :data:`SHARE_RANGE`;
- ``cross-section``: the leg's mean muscle cross-section outside :data:`LEG_AREA_RANGE_CM2`.

``effort`` ranks cases by the correction they are expected to need (see
:attr:`QualityReport.effort`); the app's worklist sorts on it so the most useful case comes first.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from legseg_core.evaluation.legs import LEGS, LegSplit, segmentation_split, split_labels
from legseg_core.labels import MUSCLES
from legseg_core.phantom.realism import REAL_RIGHT_LEG

#: A muscle with less than this volume (ml) in a leg counts as missing there (specks are not a muscle).
MISSING_BELOW_ML = 0.5
#: A left/right volume ratio outside this range is flagged (a third more or less on one side).
RATIO_RANGE: tuple[float, float] = (0.75, 1.33)
#: A second connected piece of a muscle counts when it holds at least this share of the largest one.
FRAGMENT_SHARE = 0.1


def _share_range(low_factor: float = 0.5, high_factor: float = 1.5) -> dict[str, tuple[float, float]]:
    """Plausible share of each muscle in its leg's muscle volume, from the real labelled right leg.

    ``REAL_RIGHT_LEG.area_profile_mm2`` holds each muscle's cross-section at five levels from the
    lowest to the highest slice of the real case (``phantom.realism``); the share of each muscle
    at each level, its lowest times 0.5 and its highest times 1.5, bound what a slab anywhere
    between those levels may show.
    """
    areas = np.stack([REAL_RIGHT_LEG.area_profile_mm2[m.abbr] for m in MUSCLES])  # [muscle, level]
    shares = areas / areas.sum(axis=0, keepdims=True)
    return {m.abbr: (float(shares[i].min() * low_factor), float(min(1.0, shares[i].max() * high_factor)))
            for i, m in enumerate(MUSCLES)}


SHARE_RANGE: dict[str, tuple[float, float]] = _share_range()
#: Mean cross-section (cm^2) of a leg's seven muscles over the length they cover. The real labelled
#: right leg holds 60 to 67 cm^2 per slice at mid-calf (``REAL_RIGHT_LEG``); near the ankle and in
#: small or atrophic legs far less; the range allows a quarter of the lowest to twice the highest.
LEG_AREA_RANGE_CM2: tuple[float, float] = (5.0, 140.0)


@dataclass(frozen=True)
class MuscleCheck:
    """One muscle in one leg: volume (ml), share of the leg's muscle, sizeable pieces, mean uncertainty."""

    leg: str
    abbr: str
    volume_ml: float
    share: float
    pieces: int
    mean_uncertainty: float | None


@dataclass(frozen=True)
class QualityReport:
    """The quality-control checks of one segmentation: per muscle and leg, ratios, flags and effort."""

    legs: tuple[str, ...]
    split_method: str
    covered_mm: dict[str, float]
    leg_area_cm2: dict[str, float]
    muscles: tuple[MuscleCheck, ...]
    ratios: dict[str, float | None]
    flags: tuple[str, ...]
    uncertainty: float | None

    @property
    def effort(self) -> float:
        """Expected correction effort, for ranking cases (higher first): the mean uncertainty of the
        muscle voxels (0..1, 0.2 when unknown) plus 0.1 per flag; not a time."""
        return round((0.2 if self.uncertainty is None else self.uncertainty) + 0.1 * len(self.flags), 4)

    def volumes_ml(self) -> dict[str, dict[str, float]]:
        """``{leg: {abbr: ml}}``."""
        result: dict[str, dict[str, float]] = {leg: {} for leg in self.legs}
        for check in self.muscles:
            result[check.leg][check.abbr] = check.volume_ml
        return result

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (volumes rounded to 0.01 ml, shares and ratios to 0.001)."""
        return {"legs": list(self.legs), "split": self.split_method, "flags": list(self.flags),
                "effort": self.effort, "uncertainty": _round(self.uncertainty, 4),
                "covered_mm": {k: round(v, 1) for k, v in self.covered_mm.items()},
                "leg_area_cm2": {k: round(v, 1) for k, v in self.leg_area_cm2.items()},
                "ratios_left_over_right": {k: _round(v, 3) for k, v in self.ratios.items()},
                "muscles": [{**asdict(m), "volume_ml": round(m.volume_ml, 2), "share": round(m.share, 3),
                             "mean_uncertainty": _round(m.mean_uncertainty, 4)} for m in self.muscles]}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


def check_segmentation(labels: np.ndarray, spacing: tuple[float, float, float], *, split: LegSplit | None = None,
                       uncertainty: np.ndarray | None = None) -> QualityReport:
    """The quality-control report of a ``[z, y, x]`` label map; ``split`` defaults to :func:`split_labels`."""
    split = split or split_labels(labels)
    voxel_ml = float(np.prod(spacing)) / 1000.0
    checks, flags, covered, areas = [], [], {}, {}
    for leg in split.sides:
        leg_labels, leg_uncertainty = _labelled_part(split.leg_labels(labels, leg), uncertainty)
        slices = int(np.count_nonzero(leg_labels.any(axis=(1, 2))))
        covered[leg] = slices * float(spacing[0])
        total_ml = float(np.count_nonzero(leg_labels)) * voxel_ml
        areas[leg] = total_ml / (covered[leg] / 10.0) if slices else 0.0
        leg_checks = [_check_muscle(leg_labels, leg, m.id, m.abbr, voxel_ml, total_ml, leg_uncertainty)
                      for m in MUSCLES]
        checks += leg_checks
        flags += _leg_flags(leg, leg_checks, total_ml, areas[leg])
    ratios = _ratios(checks) if set(split.sides) == set(LEGS) else {}
    low, high = RATIO_RANGE
    flags += [f"ratio: {abbr} left/right {ratio:.2f} outside {low:g}..{high:g}"
              for abbr, ratio in ratios.items() if ratio is not None and not low <= ratio <= high]
    return QualityReport(tuple(split.sides), split.method, covered, areas, tuple(checks), ratios, tuple(flags),
                         _mean_uncertainty(labels > 0, uncertainty))


def _labelled_part(labels: np.ndarray, uncertainty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``labels`` and ``uncertainty`` cut to the smallest box that holds every labelled voxel (every figure of the
    checks is the same on it, and a muscle's pieces are found several times faster); empty labels stay whole."""
    slices = labels.any(axis=(1, 2))
    if not slices.any():
        return labels, uncertainty
    z = np.flatnonzero(slices)
    rows = np.flatnonzero(labels[z[0]: z[-1] + 1].any(axis=(0, 2)))
    cols = np.flatnonzero(labels[z[0]: z[-1] + 1].any(axis=(0, 1)))
    box = (slice(z[0], z[-1] + 1), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return labels[box], None if uncertainty is None else uncertainty[box]


def check_segmented(segmentation, spacing: tuple[float, float, float]) -> QualityReport:
    """The report of a :class:`legseg_core.inference.Segmentation`: its legs as segmented, its uncertainty map."""
    return check_segmentation(segmentation.labels, spacing, split=segmentation_split(segmentation),
                              uncertainty=getattr(segmentation, "uncertainty", None))


def _check_muscle(leg_labels: np.ndarray, leg: str, label: int, abbr: str, voxel_ml: float, total_ml: float,
                  uncertainty: np.ndarray | None) -> MuscleCheck:
    mask = leg_labels == label
    volume = float(np.count_nonzero(mask)) * voxel_ml
    return MuscleCheck(leg, abbr, volume, volume / total_ml if total_ml else 0.0, _pieces(mask),
                       _mean_uncertainty(mask, uncertainty))


def _pieces(mask: np.ndarray) -> int:
    """Connected pieces (26-connected) holding at least FRAGMENT_SHARE of the largest one."""
    if not mask.any():
        return 0
    regions, count = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(regions.ravel())[1:]
    return int(np.count_nonzero(sizes >= FRAGMENT_SHARE * sizes.max()))


def _mean_uncertainty(mask: np.ndarray, uncertainty: np.ndarray | None) -> float | None:
    if uncertainty is None or not mask.any():
        return None
    return float(uncertainty[mask].mean())


def _leg_flags(leg: str, checks: list[MuscleCheck], total_ml: float, area_cm2: float) -> list[str]:
    if total_ml == 0:
        return [f"missing: no muscle at all in the {leg} leg"]
    flags = []
    missing = [c.abbr for c in checks if c.volume_ml < MISSING_BELOW_ML]
    if missing:
        flags.append(f"missing: {', '.join(missing)} in the {leg} leg (< {MISSING_BELOW_ML:g} ml)")
    flags += [f"fragmented: {c.abbr} in the {leg} leg lies in {c.pieces} pieces" for c in checks if c.pieces > 1]
    for c in checks:
        low, high = SHARE_RANGE[c.abbr]
        if c.volume_ml >= MISSING_BELOW_ML and not low <= c.share <= high:
            flags.append(f"share: {c.abbr} is {c.share:.1%} of the {leg} leg's muscle (plausible {low:.1%}..{high:.1%})")
    low, high = LEG_AREA_RANGE_CM2
    if not low <= area_cm2 <= high:
        flags.append(f"cross-section: the {leg} leg's muscle averages {area_cm2:.1f} cm2 a slice "
                     f"(plausible {low:g}..{high:g})")
    return flags


def _ratios(checks: list[MuscleCheck]) -> dict[str, float | None]:
    by_leg = {(c.leg, c.abbr): c.volume_ml for c in checks}
    ratios: dict[str, float | None] = {}
    for m in MUSCLES:
        right, left = by_leg[("right", m.abbr)], by_leg[("left", m.abbr)]
        ratios[m.abbr] = left / right if min(left, right) >= MISSING_BELOW_ML else None
    return ratios
