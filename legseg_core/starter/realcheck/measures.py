"""What the check measures: the split between the legs, per-leg muscle volumes, left/right ratios
and their flags, where along the legs a flagged muscle's volumes differ, and, against a reference,
Dice per leg and the GM/GL swap check.

Label arrays are uint8 ``[z, y, x]`` with the muscle ids 1..7; spacings are ``(z, y, x)`` mm;
volumes are in ml. x runs from the patient's right to left, so the right leg lies at smaller x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from legseg_core.evaluation import confusion_counts, evaluate_labels
from legseg_core.evaluation.metrics import dice_from_counts
from legseg_core.labels import MUSCLE_BY_ABBR, MUSCLES
from legseg_core.evaluation.legs import LEGS, LegSplit, constant_split, leg_volumes, split_from_plan  # noqa: F401

from legseg_core.evaluation.qc import MISSING_BELOW_ML, RATIO_RANGE  # the thresholds of every quality check


@dataclass(frozen=True)
class VolumeCheck:
    """Per-leg muscle volumes (ml, by muscle abbreviation), left/right ratios (None when undefined) and flags."""

    volumes_ml: dict[str, dict[str, float]]
    ratios: dict[str, float | None]
    flags: tuple[str, ...]


def check_volumes(volumes_ml: dict[str, dict[str, float]]) -> VolumeCheck:
    """Left/right ratios per muscle, flagged outside :data:`RATIO_RANGE`; muscles missing in a leg flagged."""
    flags, ratios = [], {}
    for leg, volumes in volumes_ml.items():
        missing = [abbr for abbr, ml in volumes.items() if ml < MISSING_BELOW_ML]
        if missing:
            flags.append(f"missing in the {leg} leg (< {MISSING_BELOW_ML:g} ml): {', '.join(missing)}")
    if set(volumes_ml) != set(LEGS):
        flags.append(f"one leg only ({', '.join(volumes_ml)}): no left/right ratios")
        return VolumeCheck(volumes_ml, {}, tuple(flags))
    low, high = RATIO_RANGE
    for muscle in MUSCLES:
        right, left = volumes_ml["right"][muscle.abbr], volumes_ml["left"][muscle.abbr]
        ratio = left / right if right >= MISSING_BELOW_ML and left >= MISSING_BELOW_ML else None
        ratios[muscle.abbr] = ratio
        if ratio is not None and not low <= ratio <= high:
            flags.append(f"{muscle.abbr} left/right {ratio:.2f} outside {low:g}..{high:g} "
                         f"({left:.1f} vs {right:.1f} ml)")
    return VolumeCheck(volumes_ml, ratios, tuple(flags))


#: Height (mm) of the bands along z in which :func:`volume_profile` counts each leg's muscle volumes.
PROFILE_BAND_MM = 30.0


@dataclass(frozen=True)
class VolumeProfile:
    """Each leg's muscle volumes (ml) band by band along z: ``volumes_ml[leg][abbr][i]`` is the volume in
    the slices from ``starts[i]`` to ``stops[i]`` (slice indices, stop excluded); ``slice_mm`` the slice
    spacing."""

    starts: tuple[int, ...]
    stops: tuple[int, ...]
    slice_mm: float
    volumes_ml: dict[str, dict[str, tuple[float, ...]]]

    def band_text(self, band: int) -> str:
        """``z 420 to 480 mm`` for band ``band`` (heights of its first slice and past its last)."""
        return f"z {self.starts[band] * self.slice_mm:.0f} to {self.stops[band] * self.slice_mm:.0f} mm"

    def where_differs(self, abbr: str) -> tuple[int, float, float]:
        """The band where the legs' volumes of muscle ``abbr`` differ most, and its right and left volumes."""
        right, left = (np.asarray(self.volumes_ml[leg][abbr]) for leg in LEGS)
        band = int(np.argmax(np.abs(left - right)))
        return band, float(right[band]), float(left[band])

    def to_dict(self) -> dict[str, object]:
        """JSON-ready values (volumes rounded to 0.01 ml)."""
        return {"band_start_mm": [round(a * self.slice_mm, 1) for a in self.starts],
                "band_stop_mm": [round(b * self.slice_mm, 1) for b in self.stops],
                **{leg: {abbr: [round(v, 2) for v in values] for abbr, values in muscles.items()}
                   for leg, muscles in self.volumes_ml.items()}}


def volume_profile(labels: np.ndarray, split: LegSplit, spacing: tuple[float, float, float],
                   band_mm: float = PROFILE_BAND_MM) -> VolumeProfile:
    """Each leg's muscle volumes in bands of about ``band_mm`` along z (whole slices, at least one a band)."""
    depth = labels.shape[0]
    step = max(1, int(round(band_mm / spacing[0])))
    starts = tuple(range(0, depth, step))
    stops = tuple(min(start + step, depth) for start in starts)
    voxel_ml = float(np.prod(spacing)) / 1000.0
    volumes = {}
    for leg in split.sides:
        inside = split.mask(leg, labels.shape)
        counts = np.stack([np.bincount(labels[start:stop][inside[start:stop]], minlength=len(MUSCLES) + 1)
                           for start, stop in zip(starts, stops)])
        volumes[leg] = {muscle.abbr: tuple(float(c) * voxel_ml for c in counts[:, muscle.id]) for muscle in MUSCLES}
    return VolumeProfile(starts, stops, float(spacing[0]), volumes)


def flagged_ratios(check: VolumeCheck) -> list[str]:
    """The muscles whose left/right ratio is flagged (outside :data:`RATIO_RANGE`), in label order."""
    low, high = RATIO_RANGE
    return [abbr for abbr, ratio in check.ratios.items() if ratio is not None and not low <= ratio <= high]


def widest_slice(labels: np.ndarray, split: LegSplit, abbr: str, band: slice) -> int:
    """The slice of ``band`` where the two legs' voxel counts of muscle ``abbr`` differ most."""
    muscle = labels[band] == MUSCLE_BY_ABBR[abbr].id
    right = split.mask("right", labels.shape)[band]
    counts_right = (muscle & right).sum(axis=(1, 2))
    counts_left = muscle.sum(axis=(1, 2)) - counts_right
    return band.start + int(np.argmax(np.abs(counts_left - counts_right)))


def where_flagged_muscles_differ(check: VolumeCheck, profile: VolumeProfile) -> list[str]:
    """One line per muscle whose left/right ratio is flagged: the band along z where most of the difference
    lies, with both legs' volumes there."""
    lines = []
    for abbr in flagged_ratios(check):
        right, left = check.volumes_ml["right"][abbr], check.volumes_ml["left"][abbr]
        band, band_right, band_left = profile.where_differs(abbr)
        more = "left" if left > right else "right"
        lines.append(f"{abbr}: of the {abs(left - right):.1f} ml more in the {more} leg, "
                     f"{abs(band_left - band_right):.1f} ml lie at {profile.band_text(band)} "
                     f"(right {band_right:.1f}, left {band_left:.1f} ml there)")
    return lines


@dataclass(frozen=True)
class SwapCheck:
    """Dice of predicted GM and GL against the reference's same and crossed muscle in one leg."""

    gm_gm: float
    gl_gl: float
    gm_as_gl: float
    gl_as_gm: float

    @property
    def swapped(self) -> bool:
        """True when the crossed Dice (mean of both ways) exceeds the straight one."""
        straight, cross = _mean([self.gm_gm, self.gl_gl]), _mean([self.gm_as_gl, self.gl_as_gm])
        return cross > straight  # False when either is NaN (no GM or GL anywhere)

    def to_dict(self) -> dict[str, float | bool]:
        """Plain values: the four Dice values and the verdict."""
        return {"GM_vs_GM": self.gm_gm, "GL_vs_GL": self.gl_gl, "GM_vs_reference_GL": self.gm_as_gl,
                "GL_vs_reference_GM": self.gl_as_gm, "swapped": self.swapped}


def swap_check(reference: np.ndarray, prediction: np.ndarray) -> SwapCheck:
    """The GM/GL swap check of one leg (arrays already restricted to it)."""
    counts = confusion_counts(reference, prediction)  # [reference, prediction]
    gm, gl = MUSCLE_BY_ABBR["GM"].id, MUSCLE_BY_ABBR["GL"].id

    def dice(predicted: int, drawn: int) -> float:
        return dice_from_counts(int(counts[drawn].sum()), int(counts[:, predicted].sum()),
                                int(counts[drawn, predicted]))

    return SwapCheck(dice(gm, gm), dice(gl, gl), dice(gm, gl), dice(gl, gm))


@dataclass(frozen=True)
class LegAgreement:
    """Agreement with the reference in one leg: Dice per muscle (NaN if both empty), its mean, the swap check."""

    dice: dict[str, float]
    mean_dice: float
    swap: SwapCheck


def leg_agreement(reference: np.ndarray, prediction: np.ndarray, split: LegSplit,
                  spacing: tuple[float, float, float]) -> dict[str, LegAgreement]:
    """Dice per muscle per leg (:func:`legseg_core.evaluation.evaluate_labels`), mean Dice and the swap check."""
    agreement = {}
    for leg in split.sides:
        drawn, predicted = split.leg_labels(reference, leg), split.leg_labels(prediction, leg)
        scores = evaluate_labels(drawn, predicted, spacing, with_distances=False, case_id=leg)
        agreement[leg] = LegAgreement({m.abbr: m.dice for m in scores.muscles}, scores.mean("dice"),
                                      swap_check(drawn, predicted))
    return agreement


def swap_flags(agreement: dict[str, LegAgreement]) -> list[str]:
    """One flag per leg whose predicted GM and GL match the reference's other gastrocnemius better."""
    return [f"GM/GL swapped in the {leg} leg (cross Dice {_mean([a.swap.gm_as_gl, a.swap.gl_as_gm]):.2f} > "
            f"straight {_mean([a.swap.gm_gm, a.swap.gl_gl]):.2f})" for leg, a in agreement.items() if a.swap.swapped]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan
