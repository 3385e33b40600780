"""Finding the legs: one or two, which is which, and where to split them.

The legs of a calf scan lie side by side along x. The column profile of the body mask (for
each x column, the rows from its first to its last foreground voxel, summed over z) then has
one lobe per leg. Two lobes that each hold at
least ``min_leg_fraction`` of the mask, with a valley between them no higher than
``valley_ratio`` of the lower lobe's peak, are two legs; this holds for legs apart (the valley
is empty) and for legs that touch (the valley is the narrow contact). Each z-part is then split
at the lowest column of its own profile between the two lobes' peaks, so legs that diverge
along z are still cut between them. Canonical x runs from the patient's right to left, so the
leg at smaller x is the right one. A single leg takes ``single_leg_side``; ``auto`` takes the
scan's ``leg_side`` metadata if a reader set it, else the side of the field of view where the
leg lies if it is clearly off-centre, else calls it right and marks the side as guessed
(``LegLayout.side_guessed``): the Segmenter then tries both sides, and training data warns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from legseg_core.errors import PreprocessingError
from legseg_core.preprocess.config import PreprocessConfig
from legseg_core.preprocess.mask import BodyMask

logger = logging.getLogger(__name__)

#: A single leg whose centre lies this far (fraction of the width) from the middle of the field
#: of view is on the side where it lies; nearer the middle its side cannot be told from position.
OFF_CENTRE = 0.2


@dataclass(frozen=True)
class LegLayout:
    """The legs found on the coarse mask grid: sides in x order, lobe peaks and the global split."""

    sides: tuple[str, ...]
    peaks: tuple[int, ...]
    split: int | None
    side_guessed: bool = False


def find_legs(body: BodyMask, config: PreprocessConfig, name: str, side_hint: str | None = None) -> LegLayout:
    """One or two legs from the body mask's column profile (coarse x columns).

    ``side_hint`` (``'right'`` or ``'left'``, e.g. from the scan's metadata) names a single
    leg's side when ``config.single_leg_side`` is ``auto``.
    """
    extents = column_extents(body.mask)
    _check_leg_area(body, extents, config, name)
    profile = _smooth(extents.sum(axis=0).astype(np.float64))
    split = _valley(profile, config)
    if split is None:
        side, guessed = (config.single_leg_side, False) if config.single_leg_side != "auto" \
            else _single_side(profile, side_hint, name)
        return LegLayout((side,), (int(np.argmax(profile)),), None, guessed)
    peaks = (int(np.argmax(profile[:split])), split + int(np.argmax(profile[split:])))
    return LegLayout(("right", "left"), peaks, split)


def _single_side(profile: np.ndarray, side_hint: str | None, name: str) -> tuple[str, bool]:
    """A single leg's side and whether it is a guess: the hint, else where it lies in the field of
    view, else right, guessed."""
    if side_hint in ("right", "left"):
        return side_hint, False
    centre = float(np.average(np.arange(profile.size), weights=profile)) / max(profile.size - 1, 1)
    if abs(centre - 0.5) > OFF_CENTRE:
        return ("right" if centre < 0.5 else "left"), False
    logger.info("%s: one leg in the middle of the field of view; its side is not known from its position", name)
    return "right", True


def part_split(body: BodyMask, layout: LegLayout, start: int, stop: int) -> int | None:
    """The coarse x column that separates the legs in slices ``start..stop``: the part's lowest valley."""
    if layout.split is None:
        return None
    profile = _smooth(column_extents(body.mask[start:stop]).sum(axis=0).astype(np.float64))
    low, high = layout.peaks
    return low + _middle_of_lowest(profile[low: high + 1])


def leg_extent(body: BodyMask, start: int, stop: int, columns: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Bounding box ``(y0, y1, x0, x1)`` (coarse voxels, stop exclusive) of the mask in a slab and column range."""
    region = body.mask[start:stop, :, columns[0]: columns[1]]
    rows = np.flatnonzero(region.any(axis=(0, 2)))
    cols = np.flatnonzero(region.any(axis=(0, 1)))
    if rows.size == 0 or cols.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, columns[0] + int(cols[0]), columns[0] + int(cols[-1]) + 1


def _valley(profile: np.ndarray, config: PreprocessConfig) -> int | None:
    """The column of the deepest valley between two substantial lobes, or None for one lobe."""
    total = profile.sum()
    mass_left = np.cumsum(profile) - profile
    mass_right = total - mass_left - profile
    peak_left = np.maximum.accumulate(profile)
    peak_right = np.maximum.accumulate(profile[::-1])[::-1]
    lower_peak = np.minimum(peak_left, peak_right)
    enough = (mass_left >= config.min_leg_fraction * total) & (mass_right >= config.min_leg_fraction * total)
    ratio = np.where(enough & (lower_peak > 0), profile / np.maximum(lower_peak, 1e-12), np.inf)
    if not np.isfinite(ratio).any() or ratio.min() > config.valley_ratio:
        return None
    return _middle_of_lowest(ratio)


def _middle_of_lowest(values: np.ndarray) -> int:
    """Index of the middle of the longest run of equal lowest values (the centre of an empty gap)."""
    lowest = np.flatnonzero(values == values.min())
    runs = np.split(lowest, np.flatnonzero(np.diff(lowest) > 1) + 1)
    best = max(runs, key=len)
    return int(best[len(best) // 2])


def column_extents(mask: np.ndarray) -> np.ndarray:
    """Rows from the first to the last foreground voxel of each column, ``[z, x]`` (0 for empty columns).

    Unlike a count of foreground voxels, this sees a ring (the bright fat of a T1-weighted or
    fat image around darker muscle) as the solid leg it encloses.
    """
    present = mask.any(axis=1)
    first = np.argmax(mask, axis=1)
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1, :], axis=1)
    return np.where(present, last - first + 1, 0)


def _check_leg_area(body: BodyMask, extents: np.ndarray, config: PreprocessConfig, name: str) -> None:
    """Refuse a mask whose largest slice of foreground is smaller than a leg's cross-section."""
    largest = float(extents.sum(axis=1).max()) * body.pixel_area_mm2
    if largest < config.min_leg_area_mm2:
        raise PreprocessingError(
            f"{name}: no leg-like foreground: the largest foreground slice covers {largest:.0f} mm^2 "
            f"(a leg needs at least {config.min_leg_area_mm2:g} mm^2)")


def _smooth(profile: np.ndarray) -> np.ndarray:
    """Lightly smoothed column profile (sigma one column), so single-column dips do not split a leg."""
    return ndimage.gaussian_filter1d(profile, 1.0, mode="constant")
