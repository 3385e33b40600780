"""Shapes of the sections beyond the calf (:mod:`.knee`, :mod:`.foot`): ellipses placed by the leg's half-axes.

Both regions give each structure's size as keyframes over the distance from a joint, and place it
by fractions of the outer contour's half-axes, so that every structure stays inside the leg.
"""

from __future__ import annotations

import numpy as np

from legseg_core.phantom.landmarks import per_slice

Table = tuple[tuple[float, float], ...]
#: Depth (mm) given to points of a sub-slice where a shape is absent (zero size).
ABSENT = np.float32(-1e4)


def keyframes(table: Table, distance: np.ndarray) -> np.ndarray:
    """A keyframe table ``((distance mm, value), ...)`` at ``distance`` (per sub-slice), linearly interpolated."""
    return np.interp(distance, [k for k, _ in table], [v for _, v in table])


class Section:
    """Points ``u`` (medial), ``v`` (posterior) of a run of sub-slices and the half-axes ``a``, ``b`` (mm, ``(S,)``)."""

    def __init__(self, u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.u, self.v, self.a, self.b = u, v, a, b

    def depth(self, centre, radii) -> np.ndarray:
        """Depth (mm, about; negative outside) inside an ellipse given in fractions of the half-axes.

        ``centre`` and ``radii`` are pairs (u, v) of numbers or per-sub-slice arrays; a sub-slice
        with a zero radius has no ellipse (its depth is :data:`ABSENT`).
        """
        ru = np.broadcast_to(np.asarray(radii[0], dtype=float), self.a.shape) * self.a
        rv = np.broadcast_to(np.asarray(radii[1], dtype=float), self.b.shape) * self.b
        present = (ru > 0.1) & (rv > 0.1)
        ru, rv = np.maximum(ru, 0.1), np.maximum(rv, 0.1)
        du = (self.u - per_slice(centre[0] * self.a)) / per_slice(ru)
        dv = (self.v - per_slice(centre[1] * self.b)) / per_slice(rv)
        depth = (1 - np.sqrt(du * du + dv * dv)) * per_slice(np.minimum(ru, rv))
        return np.where(present[:, None, None], depth, ABSENT)

    def paint(self, cls: np.ndarray, value: int, centre, radii, inset: float = 0.0) -> np.ndarray:
        """Write ``value`` where an ellipse's depth exceeds ``inset`` (mm); return the depth."""
        depth = self.depth(centre, radii)
        np.putmask(cls, depth > inset, value)
        return depth
