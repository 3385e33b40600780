"""Between corrected slices: the muscles both corrected slices show, interpolated over the adapted labels.

After case adaptation, a leg slice that lies between two corrected leg slices of the same leg
(the nearest corrected one below it and above it, along z) takes, for every muscle the expert
labelled on *both* of them, the muscle's shape-based interpolation (the signed distance
transforms of the two corrected masks blended linearly along z, as the editor's
interpolation does, :func:`legseg_core.editing.shapes.interpolate_masks`): the muscle's
voxels outside its interpolated shape become background, and its shape is drawn over
background and over the other interpolated muscles (where two shapes meet, the voxel goes to
the one it lies deeper inside). A muscle that one of the two corrected slices does not show
(one that starts or ends between them) keeps the adapted network's labels, and so does every
leg slice below the lowest or above the highest corrected one of its leg, and every leg slice
farther than :data:`REACH_MM` along z from both corrected slices (the middle of a wide gap).

Why: on the real labelled calf, a corrected shape carried to its neighbours is more accurate
than the adapted network's guess there (``legseg bench correction``); the network adds what
interpolation cannot know (the muscles that start or end between corrected slices, the slices
beyond them, the middle of gaps too wide to interpolate across: in the benchmark, interpolation
over the whole of a 72 mm gap did slightly worse than the network, within 24 mm of a corrected
slice it did better). Corrected leg slices are never written.

Arrays are ``[z, y, x]``; ``spacing`` is the voxel size ``(z, y, x)`` in mm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from legseg_core.adapt.corrected import LegColumns, LegSlice
from legseg_core.editing.shapes import signed_distance
from legseg_core.labels import MUSCLE_IDS

#: A leg slice takes the interpolation only within this distance (mm, along z) of a corrected leg slice.
REACH_MM = 24.0


def interpolate_between_corrected(adapted: np.ndarray, corrected: np.ndarray, leg_slices: Sequence[LegSlice],
                                  legs: LegColumns, spacing: tuple[float, float, float],
                                  reach_mm: float = REACH_MM) -> np.ndarray:
    """``adapted`` (uint8 ``[z, y, x]``) with the leg slices between corrected ones redrawn from ``corrected``
    (the labels with the corrected ``leg_slices`` exact) as the module says; a new array."""
    result = np.array(adapted, dtype=np.uint8, copy=True)
    reach = int(np.floor(reach_mm / float(spacing[0]) + 1e-6))  # slices
    for leg in legs.legs:
        zs = sorted({s.z for s in leg_slices if s.leg == leg})
        for low, high in zip(zs[:-1], zs[1:]):
            inner = [z for z in range(low + 1, high) if min(z - low, high - z) <= reach]
            if inner:
                _fill_gap(result, corrected, legs.columns[leg], low, high, inner, (spacing[1], spacing[2]))
    return result


def _fill_gap(result: np.ndarray, corrected: np.ndarray, columns: list[tuple[int, int]], low: int, high: int,
              inner: list[int], spacing: tuple[float, float]) -> None:
    """Redraw the ``inner`` slices between the corrected slices ``low`` and ``high`` of one leg (its ``columns``)."""
    ends = [_leg_part(corrected[z], columns[z]) for z in (low, high)]
    muscles = [m for m in MUSCLE_IDS if (ends[0] == m).any() and (ends[1] == m).any()]
    if not muscles:
        return
    distances = [[signed_distance(np.pad(end == m, 1), spacing)[1:-1, 1:-1] for m in muscles] for end in ends]
    ids = np.array(muscles, dtype=np.uint8)
    for z in inner:
        fraction = (z - low) / (high - low)
        blended = np.stack([(1.0 - fraction) * d0 + fraction * d1 for d0, d1 in zip(*distances)])
        start, stop = columns[z]
        if stop <= start:
            continue
        inside = blended[:, :, start:stop]
        deepest = inside.argmin(axis=0)
        drawn = np.where(inside.min(axis=0) < 0, ids[deepest], 0).astype(np.uint8)
        part = result[z, :, start:stop]
        old_interpolated = np.isin(part, ids)
        take = old_interpolated | ((drawn > 0) & (part == 0))
        part[take] = drawn[take]


def _leg_part(labels: np.ndarray, columns: tuple[int, int]) -> np.ndarray:
    """A 2D slice ``[y, x]`` with everything outside the leg's ``columns`` set to background."""
    part = np.zeros_like(labels)
    start, stop = columns
    part[:, start:stop] = labels[:, start:stop]
    return part
