"""Muscles of another size: a template whose muscles each grow or shrink, pushing their neighbours.

People differ in the proportions of their calf muscles, not only in the size and outline of the
whole leg: one person's GL is half the GM, another's two thirds; TA or the soleus may be large or
small. A deformation of the whole leg (rotation, scaling, a smooth displacement field) keeps the
proportions of its template, so a network that saw few templates learns those proportions by
heart. :func:`resize_muscles` warps a template so that each labelled muscle's cross-sections are
scaled about their own centroid by a random factor, slice by slice. The warp is one smooth
displacement field, the sum over muscles of ``factor * (x - centroid) * weight``, where the weight is
a Gaussian bump of the muscle's equivalent radius around its centroid: septa, fat and bone move
with the muscles they border, so the anatomy stays whole and only its proportions change.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from legseg_core.labels import MUSCLES
from legseg_core.phantom.tissue import AIR
from legseg_core.synth.templates import Template

#: Areas (mm^2) below which a muscle's cross-section moves nothing (a tendon end, a stray voxel).
MIN_AREA_MM2 = 20.0


def resize_muscles(rng: np.random.Generator, template: Template, spread: float) -> Template:
    """A copy of ``template`` with each labelled muscle scaled in-plane by ``1 + U(-spread, spread)``.

    ``spread`` is the largest relative change of a muscle's width (0.2: areas from 0.64 to 1.44
    times); 0 returns the template itself. The factors are drawn per muscle and hold along the
    whole leg.
    """
    if spread <= 0:
        return template
    factors = rng.uniform(-spread, spread, len(MUSCLES)).astype(np.float32)
    labels = template.labels
    sy, sx = float(template.spacing[1]), float(template.spacing[2])
    rows, cols = template.tissue.shape[1:]
    y = (np.arange(rows, dtype=np.float32) * np.float32(sy))[:, None]
    x = (np.arange(cols, dtype=np.float32) * np.float32(sx))[None, :]
    out = np.empty_like(template.tissue)
    for k in range(template.tissue.shape[0]):
        dy = np.zeros((rows, cols), dtype=np.float32)
        dx = np.zeros((rows, cols), dtype=np.float32)
        for index, muscle in enumerate(MUSCLES):
            inside = labels[k] == muscle.id
            area = float(inside.sum()) * sy * sx
            if area < MIN_AREA_MM2:
                continue
            cy, cx = (float(c) for c in ndimage.center_of_mass(inside))
            cy, cx = cy * sy, cx * sx
            radius = np.sqrt(area / np.pi)
            weight = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / np.float32(2 * radius * radius))
            # Sampling nearer the centroid makes the muscle look larger: a growth factor f pulls by f.
            dy += factors[index] * weight * (y - np.float32(cy))
            dx += factors[index] * weight * (x - np.float32(cx))
        coords = np.stack([(y - dy) / np.float32(sy), (x - dx) / np.float32(sx)])  # dy, dx give the full grid
        out[k] = ndimage.map_coordinates(template.tissue[k], coords, order=0, mode="constant", cval=AIR)
    return Template(out, template.spacing, template.source)
