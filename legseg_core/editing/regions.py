"""Regions of a ``[z, y, x]`` label array: boxes of three slices, their unions and crops.

A region is a tuple of three ``slice`` objects with step 1 and explicit bounds, in ``[z, y, x]``
order, as ``labels[region]`` takes it. Every edit reports the region it changed, so that a
listener (a view, the overlap tracker) looks at that box only.
"""

from __future__ import annotations

import numpy as np

Region = tuple[slice, slice, slice]


def region_shape(region: Region) -> tuple[int, ...]:
    """The shape ``labels[region]`` has."""
    return tuple(part.stop - part.start for part in region)


def region_voxels(region: Region) -> int:
    """The number of voxels in a region."""
    return int(np.prod(region_shape(region)))


def union_region(first: Region, second: Region) -> Region:
    """The smallest box holding both regions."""
    return tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(first, second))  # type: ignore[return-value]


def relative_region(inner: Region, outer: Region) -> Region:
    """Where ``inner`` lies within the array ``labels[outer]`` (``inner`` must lie inside ``outer``)."""
    return tuple(slice(i.start - o.start, i.stop - o.start) for i, o in zip(inner, outer))  # type: ignore[return-value]


def offset_region(relative: Region, outer: Region) -> Region:
    """The absolute region of a box given relative to ``labels[outer]``."""
    return tuple(slice(r.start + o.start, r.stop + o.start) for r, o in zip(relative, outer))  # type: ignore[return-value]


def bounding_region(mask: np.ndarray) -> Region | None:
    """The smallest box holding every True voxel of a 3D mask, or None if it holds none."""
    if not mask.any():
        return None
    bounds = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        present = np.flatnonzero(mask.any(axis=other))
        bounds.append(slice(int(present[0]), int(present[-1]) + 1))
    return tuple(bounds)  # type: ignore[return-value]


def slice_region(z: int, rows: slice, columns: slice) -> Region:
    """The region of a box on axial slice ``z``."""
    return (slice(z, z + 1), rows, columns)


def full_region(shape: tuple[int, ...]) -> Region:
    """The region of the whole array."""
    return tuple(slice(0, size) for size in shape)  # type: ignore[return-value]
