"""Templates: one leg's tissue map, as a right leg, from the phantom or from a real labelled leg.

A :class:`Template` holds tissue classes of :mod:`legseg_core.phantom.tissue` on a ``[z, y, x]``
grid with its spacing ``(z, y, x)`` in mm, cropped to the leg, always oriented as a right leg
(medial toward larger x). Left legs are mirrored when they are placed.

Real labelled legs carry only the seven muscle labels; the other classes are read off the
image inside the body: the subcutaneous layer between the skin and the muscles is fat (its outer
voxel skin), unlabelled tissue inside the muscles that is as bright as muscle is unlabelled
muscle (the deep flexors) where it is wider than a voxel and a septum where it is thinner, and dark unlabelled regions inside are bone (marrow with a cortex
rim) when they are large, intermuscular fat and septa when they are small. Inside means inside the
convex hull of the muscles, since the tibia's medial face lies under the skin;
:func:`legseg_core.phantom.realism.tibia_from_labels` finds the tibia itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from legseg_core.errors import LegsegError
from legseg_core.labels import NUM_CLASSES
from legseg_core.phantom.realism import convex_hull, largest_region, tibia_from_labels
from legseg_core.phantom.tissue import AIR, CORTEX, FASCIA, FAT, FDL, LABEL_OF_CLASS, MARROW, MUSCLE_CLASS, SKIN
from legseg_core.synth.heldout import check_not_held_out
from legseg_core.synth.thin import thin_boundaries

LEGS = ("right", "left")
#: Unlabelled tissue at least this bright (fraction of the median muscle intensity) is muscle.
MUSCLE_LIKE = 0.6
#: The body is where the image is brighter than this fraction of the median muscle intensity.
BODY_LEVEL = 0.2
#: Dark unlabelled regions inside the muscles of at least this area (mm^2) are bone.
BONE_AREA_MM2 = 80.0
CROP_MARGIN_MM = 6.0
#: How far (in voxels of the labelled image) a muscle grows into a gap when the template is thinned: a gap of
#: one voxel closes to a line, one of two keeps a thin middle, wider fat stays.
GAP_REACH = 0.75


class TemplateError(LegsegError):
    """A label map cannot become a template (unknown values, one leg only, a different grid)."""


@dataclass(frozen=True, eq=False)
class Template:
    """One leg's tissue classes (uint8 ``[z, y, x]``) as a right leg, spacing ``(z, y, x)`` mm."""

    tissue: np.ndarray
    spacing: tuple[float, float, float]
    source: str

    @property
    def labels(self) -> np.ndarray:
        """The muscle labels (uint8, ids 0..7) of the tissue map."""
        return LABEL_OF_CLASS[self.tissue]

    @property
    def extent_mm(self) -> np.ndarray:
        """Size of the grid in mm, ``(z, y, x)``."""
        return np.asarray(self.tissue.shape) * np.asarray(self.spacing)


def phantom_template(seed: int, *, health: str = "healthy", diagnosis: str | None = None,
                     knee_mm: float = 0.0, foot_mm: float = 0.0) -> Template:
    """A whole right leg (ankle to knee, protocol A) of the parametric phantom; with ``knee_mm`` it
    reaches that far above the tibial plateau, over the knee joint, with ``foot_mm`` that far below the
    ankle joint, over the heel and the midfoot."""
    from legseg_core.phantom import make_case

    case = make_case(seed=seed, protocol="A", legs="right", contrasts=("t1w",), health=health, diagnosis=diagnosis,
                     knee_mm=knee_mm, foot_mm=foot_mm)
    tissue = case.tissue.data
    over = (f", {knee_mm:g} mm over the knee" if knee_mm else "") + (f", {foot_mm:g} mm below the ankle" if foot_mm else "")
    return Template(_crop(tissue, tissue > AIR, case.tissue.spacing), tuple(case.tissue.spacing),
                    f"phantom seed {seed} ({health}{over})")


def labelled_leg_template(image: np.ndarray, labels: np.ndarray, spacing: tuple[float, float, float], *,
                          leg: str = "right", name: str = "labels", upsample: int = 3) -> Template:
    """The template of one leg of a real bilateral scan with muscle labels (ids 0..7) on its grid.

    ``image`` and ``labels`` are ``[z, y, x]`` on the same grid (x from the patient's right to
    left, so the right leg lies at smaller x). The other leg's columns are cut off before
    anything else is read. ``upsample`` refines the in-plane grid (smoothly, class by class) so
    that coarse labels do not stay blocky when the template is deformed and resampled; on the finer
    grid the septa between muscles and the skin are thinned to one of its voxels
    (:func:`legseg_core.synth.thin.thin_boundaries`).
    """
    if leg not in LEGS:
        raise TemplateError(f"leg {leg!r} is unknown; choose right or left")
    _check_labels(labels, image, name)
    check_not_held_out(image, leg=leg, what=f"the image of {name}")
    check_not_held_out(labels, leg=leg, what=name)
    columns = _leg_columns(labels, leg, name)
    image = np.asarray(image[:, :, columns], dtype=np.float32)
    labels = np.asarray(labels[:, :, columns], dtype=np.uint8)
    if leg == "left":
        image, labels = image[:, :, ::-1], labels[:, :, ::-1]
    tissue = tissue_from_labelled_image(image, labels, spacing)
    tissue = _crop(tissue, tissue > AIR, spacing)
    if upsample > 1:
        coarse = max(spacing[1], spacing[2])
        tissue = smooth_upsample(tissue, upsample)
        spacing = (spacing[0], spacing[1] / upsample, spacing[2] / upsample)
        tissue = thin_boundaries(tissue, spacing, reach_mm=GAP_REACH * coarse)
    return Template(tissue, tuple(float(s) for s in spacing), f"{name} ({leg} leg)")


def _check_labels(labels: np.ndarray, image: np.ndarray, name: str) -> None:
    if labels.shape != image.shape:
        raise TemplateError(f"{name}: labels of shape {labels.shape} are not on the image's grid {image.shape}")
    values = np.unique(labels)
    unknown = [int(v) for v in values if not 0 <= v < NUM_CLASSES]
    if unknown:
        raise TemplateError(f"{name}: label values {unknown[:8]} are not muscle ids 0..{NUM_CLASSES - 1}; map "
                            "them first (legseg_core.io.relabel, e.g. the qmritools-calf mapping)")
    if values.max(initial=0) == 0:
        raise TemplateError(f"{name}: the label map holds no muscle")


def _leg_columns(labels: np.ndarray, leg: str, name: str) -> slice:
    """The x columns of one leg: the muscles' columns fall into two runs with a gap between them."""
    columns = np.flatnonzero((labels > 0).any(axis=(0, 1)))
    gaps = np.flatnonzero(np.diff(columns) > 1)
    if gaps.size == 0:
        raise TemplateError(f"{name}: the muscles form one leg only; a template is cut from a bilateral label "
                            "map whose legs lie apart along x")
    widest = gaps[np.argmax(np.diff(columns)[gaps])]
    split = (int(columns[widest]) + int(columns[widest + 1]) + 1) // 2
    return slice(0, split) if leg == "right" else slice(split, labels.shape[2])


def tissue_from_labelled_image(image: np.ndarray, labels: np.ndarray, spacing) -> np.ndarray:
    """Tissue classes of one leg from its image and muscle labels (both ``[z, y, x]``)."""
    level = float(np.median(image[labels > 0]))
    tissue = np.zeros(labels.shape, dtype=np.uint8)
    area = float(spacing[1] * spacing[2])
    for k in range(labels.shape[0]):
        tissue[k] = _slice_tissue(image[k], labels[k], level, area)
    return tissue


def _slice_tissue(image: np.ndarray, labels: np.ndarray, level: float, voxel_area: float) -> np.ndarray:
    muscles = labels > 0
    tissue = np.zeros(labels.shape, dtype=np.uint8)
    if muscles.sum() < 4:
        return tissue
    envelope = convex_hull(muscles)
    body = largest_region(ndimage.binary_fill_holes((image > BODY_LEVEL * level) | envelope))
    tissue[body] = FAT
    tissue[body & ~ndimage.binary_erosion(body)] = SKIN
    inner = envelope & ~muscles
    bright = inner & (image >= MUSCLE_LIKE * level)
    tissue[bright] = FASCIA  # thin bright gaps between labelled muscles: septa and aponeuroses
    tissue[ndimage.binary_opening(bright)] = FDL  # wider ones: unlabelled muscle
    dark, count = ndimage.label(inner & (image < MUSCLE_LIKE * level))
    sizes = ndimage.sum_labels(np.ones_like(dark), dark, index=np.arange(1, count + 1)) * voxel_area
    bone = np.isin(dark, 1 + np.flatnonzero(sizes >= BONE_AREA_MM2)) | tibia_from_labels(labels[None], image[None])[0]
    tissue[bone] = MARROW
    tissue[bone & ~ndimage.binary_erosion(bone)] = CORTEX
    table = np.zeros(NUM_CLASSES, dtype=np.uint8)
    for label, cls in MUSCLE_CLASS.items():
        table[label] = cls
    tissue[muscles] = table[labels[muscles]]
    return tissue


def _crop(tissue: np.ndarray, inside: np.ndarray, spacing) -> np.ndarray:
    """The tissue map cropped in y and x to the leg plus a margin (z is kept)."""
    rows = np.flatnonzero(inside.any(axis=(0, 2)))
    cols = np.flatnonzero(inside.any(axis=(0, 1)))
    if rows.size == 0:
        raise TemplateError("the template holds no tissue")
    my = int(np.ceil(CROP_MARGIN_MM / spacing[1]))
    mx = int(np.ceil(CROP_MARGIN_MM / spacing[2]))
    ys = slice(max(0, rows[0] - my), rows[-1] + 1 + my)
    xs = slice(max(0, cols[0] - mx), cols[-1] + 1 + mx)
    out = np.zeros((tissue.shape[0], ys.stop - ys.start, xs.stop - xs.start), dtype=np.uint8)
    part = tissue[:, ys, xs]
    out[:, :part.shape[1], :part.shape[2]] = part
    return out


def smooth_upsample(tissue: np.ndarray, factor: int) -> np.ndarray:
    """Refine the in-plane grid by ``factor``: each class map upsampled linearly and smoothed, then argmax."""
    shape = (tissue.shape[0], tissue.shape[1] * factor, tissue.shape[2] * factor)
    best = np.full(shape, -1.0, dtype=np.float32)
    out = np.zeros(shape, dtype=np.uint8)
    for cls in np.unique(tissue):
        mask = (tissue == cls).astype(np.float32)
        fine = ndimage.zoom(mask, (1, factor, factor), order=1, grid_mode=True, mode="nearest")
        fine = ndimage.gaussian_filter(fine, (0, factor / 2, factor / 2))
        better = fine > best
        best[better], out[better] = fine[better], cls
    return out


def load_template_files(image_path: str | Path, labels_path: str | Path, *, leg: str = "right",
                        mapping: str | None = None) -> Template:
    """A template from an image file and a label file on its grid (optionally mapped to ids 0..7)."""
    from legseg_core.io import load_volume
    from legseg_core.io.relabel import KNOWN_MAPPINGS, remap_labels

    image, raw = load_volume(image_path), load_volume(labels_path)
    if raw.shape != image.shape or not np.allclose(raw.spacing, image.spacing, rtol=1e-3):
        raise TemplateError(f"{labels_path}: labels of shape {raw.shape}, voxel {raw.spacing} mm are not on the "
                            f"grid of {image_path} ({image.shape}, {image.spacing} mm)")
    check_not_held_out(raw.data, leg=leg, what=str(labels_path))
    labels = raw.data
    if mapping is not None:
        if mapping not in KNOWN_MAPPINGS:
            raise TemplateError(f"label mapping {mapping!r} is unknown; choose one of {sorted(KNOWN_MAPPINGS)}")
        labels = remap_labels(raw.data, KNOWN_MAPPINGS[mapping], strict=False)
    elif raw.data.dtype.kind == "f" and not np.array_equal(raw.data, np.round(raw.data)):
        raise TemplateError(f"{labels_path}: label values are not whole numbers")
    return labelled_leg_template(image.data, np.asarray(labels), image.spacing, leg=leg,
                                 name=str(labels_path))

