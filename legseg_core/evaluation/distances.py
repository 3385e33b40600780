"""Distances between two binary masks: directed averages (AVGDIST) and surface HD95.

Masks are boolean arrays indexed ``[z, y, x]``; ``spacing`` is the voxel size ``(z, y, x)`` in
mm. Distances are Euclidean distance transforms (``scipy.ndimage.distance_transform_edt``)
computed on the bounding box of the two masks plus a one-voxel margin, which gives the same
values as on the whole image: every voxel of both masks lies inside the box, so the nearest
voxel of either mask is found inside it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

Spacing = tuple[float, float, float]

#: Voxel spacing used for distances "in voxels": every axis counts one.
UNIT_SPACING: Spacing = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class MaskDistances:
    """Distances between mask A (reference) and mask B (prediction).

    ``ahd_voxels`` and ``ahd_mm`` are the average Hausdorff distance as VISCERAL
    EvaluateSegmentation's AVGDIST defines it and DESIGN.md fixes it: the mean of the two
    directed averages ``d(A, B)`` and ``d(B, A)``, where ``d(A, B)`` averages, over *all*
    voxels of A, the distance to the nearest voxel of B (0 for voxels inside B). In voxels,
    each axis step counts 1 whatever the spacing (the tool's default unit); in mm, the spacing
    is used. ``hd95_mm`` is the surface-based 95th percentile Hausdorff distance in mm: the
    larger of the two directed 95th percentiles of the distances from the surface voxels of
    one mask to the surface voxels of the other (surface = voxels of the mask with a
    6-connected neighbour outside it). All are NaN when either mask is empty (a distance to
    nothing is undefined).
    """

    directed_ab_voxels: float
    directed_ba_voxels: float
    directed_ab_mm: float
    directed_ba_mm: float
    hd95_mm: float

    @property
    def ahd_voxels(self) -> float:
        """Average Hausdorff distance in voxels (mean of the directed averages)."""
        return (self.directed_ab_voxels + self.directed_ba_voxels) / 2.0

    @property
    def ahd_mm(self) -> float:
        """Average Hausdorff distance in mm (mean of the directed averages)."""
        return (self.directed_ab_mm + self.directed_ba_mm) / 2.0


EMPTY_DISTANCES = MaskDistances(math.nan, math.nan, math.nan, math.nan, math.nan)


def bounding_box(mask: np.ndarray, margin: int = 1) -> tuple[slice, ...] | None:
    """The smallest box (tuple of slices) holding every True voxel, grown by ``margin``; None if empty."""
    found = ndimage.find_objects(mask.astype(np.uint8))
    if not found or found[0] is None:
        return None
    return grow_box(found[0], mask.shape, margin)


def grow_box(box: tuple[slice, ...], shape: tuple[int, ...], margin: int) -> tuple[slice, ...]:
    """A box of slices grown by ``margin`` voxels on every side, clipped to ``shape``."""
    return tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(box, shape))


def union_box(first: tuple[slice, ...] | None, second: tuple[slice, ...] | None) -> tuple[slice, ...] | None:
    """The smallest box holding both boxes (either may be None for an empty mask)."""
    if first is None or second is None:
        return first if second is None else second
    return tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(first, second))


def directed_average(source: np.ndarray, target: np.ndarray, spacing: Spacing = UNIT_SPACING) -> float:
    """Mean over all voxels of ``source`` of the distance to the nearest voxel of ``target`` (0 inside).

    Both masks must be non-empty and share the same box; ``spacing`` is ``(z, y, x)`` mm.
    """
    distance = ndimage.distance_transform_edt(~target, sampling=spacing)
    return float(distance[source].mean())


def surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` with at least one 6-connected neighbour outside it (or outside the array)."""
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def hd95(first: np.ndarray, second: np.ndarray, spacing: Spacing) -> float:
    """Surface HD95 in mm: the larger 95th percentile of surface-to-surface distances, both ways."""
    surface_a, surface_b = surface(first), surface(second)
    to_b = ndimage.distance_transform_edt(~surface_b, sampling=spacing)[surface_a]
    to_a = ndimage.distance_transform_edt(~surface_a, sampling=spacing)[surface_b]
    return float(max(np.percentile(to_b, 95), np.percentile(to_a, 95)))


def mask_distances(reference: np.ndarray, prediction: np.ndarray, spacing: Spacing,
                   box: tuple[slice, ...] | None = None) -> MaskDistances:
    """AHD (voxels and mm) and HD95 (mm) of two boolean ``[z, y, x]`` masks; NaN if either is empty.

    ``box`` (slices holding both masks with a margin) saves a search when the caller knows it.
    """
    if box is None:
        box = union_box(bounding_box(reference), bounding_box(prediction))
    if box is None:
        return EMPTY_DISTANCES
    a, b = reference[box], prediction[box]
    if not a.any() or not b.any():
        return EMPTY_DISTANCES
    spacing = tuple(float(s) for s in spacing)
    return MaskDistances(
        directed_ab_voxels=directed_average(a, b), directed_ba_voxels=directed_average(b, a),
        directed_ab_mm=directed_average(a, b, spacing), directed_ba_mm=directed_average(b, a, spacing),
        hd95_mm=hd95(a, b, spacing))
