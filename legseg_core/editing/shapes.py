"""The shapes that label edits write: brush capsules, connected regions, interpolated masks.

All functions are pure numpy/scipy. 2D arrays are axial slices indexed ``[y, x]``; positions
are ``(y, x)`` in voxel units, with voxel ``(i, j)``'s centre at ``(i, j)``; spacings are mm.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Neighbourhoods: 4-connected within a slice, 6-connected (faces) in the volume.
CONNECTIVITY_2D = ndimage.generate_binary_structure(2, 1)
CONNECTIVITY_3D = ndimage.generate_binary_structure(3, 1)


def capsule_mask(shape: tuple[int, int], start: tuple[float, float], end: tuple[float, float],
                 radius: float) -> tuple[slice, slice, np.ndarray] | None:
    """The voxels whose centres lie within ``radius`` of the segment from ``start`` to ``end``.

    A brush dab is the segment of zero length (a disc); a drag between two mouse positions is a
    capsule, so a fast stroke leaves no gaps. ``radius`` is in voxels and at least 0.5, which
    paints the one voxel under the point. Returns the rows, the columns and the mask within
    them, or None when the shape lies outside the slice of ``shape`` ``(y, x)``.
    """
    radius = max(float(radius), 0.5)
    points = np.array([start, end], dtype=float)
    low = np.maximum(np.floor(points.min(axis=0) - radius), 0).astype(int)
    high = np.minimum(np.ceil(points.max(axis=0) + radius) + 1, shape).astype(int)
    if np.any(high <= low):
        return None
    rows, columns = np.arange(low[0], high[0]), np.arange(low[1], high[1])
    offset_y = rows[:, None] - points[0, 0]
    offset_x = columns[None, :] - points[0, 1]
    direction = points[1] - points[0]
    length_squared = float(direction @ direction)
    if length_squared > 0:
        along = np.clip((offset_y * direction[0] + offset_x * direction[1]) / length_squared, 0.0, 1.0)
        offset_y = offset_y - along * direction[0]
        offset_x = offset_x - along * direction[1]
    mask = offset_y**2 + offset_x**2 <= radius**2
    if not mask.any():
        return None
    return slice(int(low[0]), int(high[0])), slice(int(low[1]), int(high[1])), mask


def connected_region(values: np.ndarray, seed: tuple[int, ...]) -> np.ndarray:
    """The connected region of voxels equal to ``values[seed]`` that holds the seed (bool mask).

    4-connected on a 2D slice, 6-connected (faces) in a 3D volume.
    """
    structure = CONNECTIVITY_2D if values.ndim == 2 else CONNECTIVITY_3D
    same = values == values[seed]
    components, _ = ndimage.label(same, structure=structure)
    return components == components[seed]


def signed_distance(mask: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Signed distance (mm) to the mask's edge on a 2D slice: negative inside, positive outside.

    The edge lies half a voxel outside the outermost mask voxels, so ``signed_distance(m) < 0``
    gives back ``m`` exactly. The mask must hold at least one voxel and one background voxel
    (pad it first).
    """
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    half_voxel = 0.5 * min(spacing)
    return np.where(mask, half_voxel - inside, outside - half_voxel)


def interpolate_masks(first: np.ndarray, second: np.ndarray, fractions: list[float],
                      spacing: tuple[float, float] = (1.0, 1.0)) -> list[np.ndarray]:
    """Shape-based interpolation between two 2D masks of one muscle, ``[y, x]``.

    The signed distance transforms of both masks are blended linearly,
    ``(1 - f) * d_first + f * d_second``, and each in-between mask is where the blend is
    negative; ``f = 0`` gives ``first`` and ``f = 1`` gives ``second``. The work is done on the
    box around both masks plus a margin, which gives the same result as on the whole slice;
    voxels beyond the slice's edge count as background. Both masks must hold at least one voxel.
    """
    both = first | second
    rows, columns = (np.flatnonzero(both.any(axis=axis)) for axis in (1, 0))
    box = (slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(columns[0] - 1, 0), columns[-1] + 2))
    padded = [np.pad(mask[box], 1) for mask in (first, second)]
    distance_first, distance_second = (signed_distance(mask, spacing) for mask in padded)
    results = []
    for fraction in fractions:
        blended = (1.0 - fraction) * distance_first + fraction * distance_second
        mask = np.zeros_like(first)
        mask[box] = (blended < 0)[1:-1, 1:-1]
        results.append(mask)
    return results
