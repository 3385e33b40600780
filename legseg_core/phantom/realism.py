"""How real the phantom's anatomy is: one measurement of one leg, applied to real and synthetic labels.

:func:`measure_leg` takes the labels of ONE leg (``[z, y, x]``, LegSeg ids 1..7) in right-leg
orientation (x toward the patient's left, which is the right leg's medial side; mirror a left
leg first with :func:`as_right_leg`), a tibia mask on the same grid, and the voxel spacing, and
returns :class:`LegStatistics`:

- per muscle, the centroid relative to the tibia's centroid of the same slice, in mm along
  the medial (+x for a right leg) and posterior (+y) axes of the image;
- per muscle, its share of the seven muscles' area in the mid-calf slices (the lowest
  :data:`MID_CALF_MM` of the slab);
- the GM:GL volume ratio over the whole slab;
- per muscle, the cross-sectional area (mm^2) of every slice, inferior to superior.

The tibia of a real scan comes from :func:`tibia_from_labels`: the unlabelled region enclosed
by the convex hull of the muscle union, dark on the image (bone, fat-suppressed marrow), that
touches both TA and TP; the largest such region. The phantom's tibia comes from its tissue map
(:func:`tibia_from_tissue`, the largest CORTEX/MARROW region of each slice): the label rule
would also need a contrast in which bone is dark, and the tissue map is exact.

:data:`REAL_RIGHT_LEG` holds the numbers measured with this module on the real labelled case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from legseg_core.labels import MUSCLE_ABBRS, MUSCLE_BY_ABBR
from legseg_core.phantom.tissue import CORTEX, MARROW

#: Height (mm) above the slab's lower edge that counts as mid-calf for the area fractions.
MID_CALF_MM = 36.0


@dataclass(frozen=True)
class LegStatistics:
    """Anatomy statistics of one leg (mm, mm^2; fractions of the seven muscles' area)."""

    centroid_mm: dict[str, tuple[float, float]]  # (medial, posterior) from the tibia's centroid
    mid_calf_fraction: dict[str, float]
    gm_gl_ratio: float
    area_profile_mm2: dict[str, np.ndarray]  # (Z,) per muscle, inferior to superior


def as_right_leg(volume: np.ndarray, side: str) -> np.ndarray:
    """``[z, y, x]`` data of one leg in right-leg orientation (a left leg is mirrored along x)."""
    return volume[:, :, ::-1] if side == "left" else volume


def tibia_from_tissue(tissue: np.ndarray) -> np.ndarray:
    """The tibia (bool ``[z, y, x]``) of a phantom leg: per slice the largest cortex/marrow region."""
    bone = (tissue == CORTEX) | (tissue == MARROW)
    return np.stack([largest_region(ndimage.binary_fill_holes(part)) for part in bone])


def tibia_from_labels(labels: np.ndarray, image: np.ndarray, *, dark: float = 0.45) -> np.ndarray:
    """The tibia (bool ``[z, y, x]``) of one leg found from its muscle labels and image.

    Per slice: the unlabelled voxels inside the convex hull of the muscle union that are darker
    than ``dark`` times the median muscle intensity; of their connected regions touching both TA
    and TP (else TA alone), the largest. (The fibula is smaller; the tibia's subcutaneous medial
    face means it is enclosed by the hull, not by the muscles.)
    """
    return np.stack([_tibia_slice(labels[k], image[k], dark) for k in range(labels.shape[0])])


def _tibia_slice(labels: np.ndarray, image: np.ndarray, dark: float) -> np.ndarray:
    union = labels > 0
    if union.sum() < 4:
        return np.zeros_like(union)
    threshold = dark * float(np.median(image[union]))
    regions, _ = ndimage.label(convex_hull(union) & ~union & (image < threshold))
    touching = [np.unique(regions[ndimage.binary_dilation(labels == MUSCLE_BY_ABBR[abbr].id, iterations=3)])
                for abbr in ("TA", "TP")]
    chosen = np.intersect1d(*touching)
    chosen = chosen[chosen > 0]
    if chosen.size == 0:
        chosen = touching[0][touching[0] > 0]
    return largest_region(np.isin(regions, chosen)) if chosen.size else np.zeros_like(union)


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull (bool, same shape) of a 2D mask's pixels."""
    from scipy.spatial import ConvexHull, Delaunay  # here: quality control reads this module's numbers, not its hulls

    points = np.argwhere(mask)
    hull = Delaunay(points[ConvexHull(points).vertices])
    grid = np.indices(mask.shape).reshape(2, -1).T
    return (hull.find_simplex(grid) >= 0).reshape(mask.shape)


def largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest connected region of a mask (all False for an empty one)."""
    regions, count = ndimage.label(mask)
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = ndimage.sum(mask, regions, index=np.arange(1, count + 1))
    return regions == 1 + int(np.argmax(sizes))


def measure_leg(labels: np.ndarray, tibia: np.ndarray, spacing: tuple[float, float, float]) -> LegStatistics:
    """Statistics of one right-oriented leg: ``labels`` and ``tibia`` ``[z, y, x]``, spacing (z, y, x) mm."""
    pixel_mm2 = float(spacing[1] * spacing[2])
    profiles = {abbr: (labels == MUSCLE_BY_ABBR[abbr].id).sum(axis=(1, 2)) * pixel_mm2 for abbr in MUSCLE_ABBRS}
    mid = np.arange(labels.shape[0]) * spacing[0] < MID_CALF_MM
    mid_areas = np.array([profiles[abbr][mid].sum() for abbr in MUSCLE_ABBRS])
    fractions = mid_areas / max(float(mid_areas.sum()), 1e-9)
    gl = float(profiles["GL"].sum())
    return LegStatistics(
        centroid_mm=_centroids(labels, tibia, spacing),
        mid_calf_fraction={abbr: float(f) for abbr, f in zip(MUSCLE_ABBRS, fractions)},
        gm_gl_ratio=float(profiles["GM"].sum()) / gl if gl > 0 else float("inf"),
        area_profile_mm2=profiles)


def _centroids(labels: np.ndarray, tibia: np.ndarray, spacing) -> dict[str, tuple[float, float]]:
    """Per muscle, its mean (medial, posterior) offset (mm) from the tibia's centroid of the same slice."""
    sums = {abbr: np.zeros(3) for abbr in MUSCLE_ABBRS}
    for k in range(labels.shape[0]):
        if not tibia[k].any():
            continue
        tibia_y, tibia_x = np.argwhere(tibia[k]).mean(axis=0)
        for abbr in MUSCLE_ABBRS:
            ys, xs = np.nonzero(labels[k] == MUSCLE_BY_ABBR[abbr].id)
            sums[abbr] += (xs.size, ((xs - tibia_x) * spacing[2]).sum(), ((ys - tibia_y) * spacing[1]).sum())
    return {abbr: (float(s[1] / s[0]), float(s[2] / s[0])) if s[0] else (float("nan"), float("nan"))
            for abbr, s in sums.items()}


#: Measured with :func:`measure_leg` on /work/shared/data/calf-qmritools (labels.nii.gz mapped with
#: ``io.relabel.QMRITOOLS_CALF``, tibia by :func:`tibia_from_labels` on dwi_mean.nii.gz), the RIGHT
#: leg (odd raw values 13..25), all 25 slices (6 mm, 3 x 3 mm in-plane); mid-calf = slices 0..5.
#: Centroids: (medial, posterior) mm from the tibia; fractions of the seven muscles' area.
REAL_RIGHT_LEG = LegStatistics(
    centroid_mm={"GL": (-3.0, 82.0), "GM": (45.0, 52.0), "SOL": (8.0, 49.0), "TA": (-27.0, -4.0),
                 "PER": (-40.0, 36.0), "EDL": (-33.0, 15.0), "TP": (-5.0, 21.0)},
    mid_calf_fraction={"GL": 0.048, "GM": 0.167, "SOL": 0.486, "TA": 0.099, "PER": 0.101, "EDL": 0.057,
                       "TP": 0.042},
    gm_gl_ratio=2.16,
    area_profile_mm2={  # slices 0, 6, 12, 18, 24 (inferior to superior)
        "GL": np.array([180, 531, 945, 999, 1053.]), "GM": np.array([837, 1539, 1863, 1926, 1890.]),
        "SOL": np.array([3123, 3042, 2313, 1935, 1080.]), "TA": np.array([639, 675, 747, 558, 324.]),
        "PER": np.array([639, 648, 774, 756, 585.]), "EDL": np.array([351, 333, 171, 243, 216.]),
        "TP": np.array([279, 288, 342, 216, 27.])})
