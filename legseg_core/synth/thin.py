"""Thin structures of a template read off a coarse labelled image, made as thin as they are.

A real label map on a 3 mm grid leaves a whole voxel (3 mm) unlabelled between two muscles and
calls the body's whole outer voxel skin. In the image those voxels are partial volume: the septum
or fascia between two muscles is about a millimetre thick and the rest of the voxel is muscle, the
skin is 1 to 2 mm and the rest fat or muscle. Rendered as whole classes on a finer grid they become
bands of septum or fat three times too thick: synthetic images then show black lines between the
muscles and under the skin where the real image (measured on the labelled calf's diffusion image:
the unlabelled gaps between its muscles are 0.93 of the median muscle brightness, the voxels under
the skin 0.95) shows none. A network trained on them learns that a muscle ends a few millimetres
before the next structure and leaves the outer millimetres of every muscle as background.

:func:`thin_boundaries` works on the template's fine grid, slice by slice: every voxel of a gap
between muscles (septum, or fat inside the muscles' hull) lying within ``reach_mm`` of a muscle is
given to the nearest muscle, except a line one fine voxel wide where two muscles' shares meet, which
keeps its class; skin keeps only its outermost fine voxel and the rest goes to the nearest tissue
beneath it. Wider fat between muscles (a fat pad) keeps its middle.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from legseg_core.phantom.realism import convex_hull
from legseg_core.phantom.tissue import AIR, FASCIA, FAT, MUSCLE_FIRST, SKIN


def thin_boundaries(tissue: np.ndarray, spacing: tuple[float, float, float], reach_mm: float) -> np.ndarray:
    """A copy of ``tissue`` (``[z, y, x]`` classes on a fine in-plane grid) with gaps between muscles and
    the skin thinned to one voxel of that grid; ``reach_mm`` bounds how far a muscle may grow into a gap."""
    out = tissue.copy()
    sampling = (float(spacing[1]), float(spacing[2]))
    for k in range(out.shape[0]):
        _thin_gaps(out[k], sampling, reach_mm)
        _thin_skin(out[k], sampling)
    return out


def _thin_gaps(plane: np.ndarray, sampling: tuple[float, float], reach_mm: float) -> None:
    muscle = plane >= MUSCLE_FIRST
    if muscle.sum() < 4:
        return
    gap = (plane == FASCIA) | ((plane == FAT) & convex_hull(muscle))
    if not gap.any():
        return
    distance, (rows, cols) = ndimage.distance_transform_edt(~muscle, sampling=sampling, return_indices=True)
    owner = plane[rows, cols]
    grows = gap & (distance <= reach_mm) & ~_meeting_line(owner, gap | muscle)
    plane[grows] = owner[grows]


def _meeting_line(owner: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Voxels whose next voxel along y or x (also inside) belongs to a different muscle: a line one voxel wide."""
    line = np.zeros(owner.shape, dtype=bool)
    line[:-1, :] |= (owner[:-1, :] != owner[1:, :]) & inside[1:, :]
    line[:, :-1] |= (owner[:, :-1] != owner[:, 1:]) & inside[:, 1:]
    return line & inside


def _thin_skin(plane: np.ndarray, sampling: tuple[float, float]) -> None:
    skin = plane == SKIN
    if not skin.any():
        return
    air = plane == AIR
    outer = skin & ndimage.binary_dilation(air)
    beneath = ~air & ~skin
    if not beneath.any():
        return
    _, (rows, cols) = ndimage.distance_transform_edt(~beneath, sampling=sampling, return_indices=True)
    inner = skin & ~outer
    plane[inner] = plane[rows, cols][inner]
