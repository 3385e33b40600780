"""Cutting a scan (and its labels) into patches as a plan says: crop, normalise, resample, mirror.

Image patches are float32 ``[n, z, y, x]`` on the patch grid (20 x 104 x 104 by default) with
values in the normalisation range (0..100); padding (outside the scan or in the other leg's
columns) takes the bottom of the range. Label patches are uint8, resampled nearest-neighbour,
padding 0. Left-leg patches are mirrored along x so that every patch looks like a right leg.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.io import Volume, check_same_grid
from legseg_core.labels import NUM_CLASSES
from legseg_core.preprocess.config import PreprocessConfig
from legseg_core.preprocess.plan import PatchPlan, PatchRecord
from legseg_core.preprocess.planning import plan_patches
from legseg_core.preprocess.resample import resize_linear, resize_nearest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PatchSet:
    """Network patches of one scan: images ``[n, z, y, x]`` float32, labels uint8 or None, and the plan.

    ``labels_outside`` counts label voxels that no patch covers (0 when the body mask holds all
    labelled muscle); they cannot come back from the patches.
    """

    images: np.ndarray
    labels: np.ndarray | None
    plan: PatchPlan
    labels_outside: int = 0


def to_patches(volume: Volume, labels: np.ndarray | Volume | None = None,
               config: PreprocessConfig | None = None) -> PatchSet:
    """Plan and cut a scan (and optional labels on its grid, values 0..7) into network patches."""
    plan = plan_patches(volume, config)
    images = extract_image_patches(volume.data, plan)
    if labels is None:
        return PatchSet(images, None, plan)
    label_data = checked_labels(volume, labels)
    if plan.side_guessed:
        logger.warning("%s: one leg in the middle of the field of view, taken as a right leg (its position does "
                       "not tell its side; a left leg would be used as the mirror image of one)", volume.name)
    outside = count_uncovered(label_data, plan)
    if outside:
        logger.warning("%s: %d labelled voxels lie outside every patch box", volume.name, outside)
    return PatchSet(images, extract_label_patches(label_data, plan), plan, outside)


def checked_labels(volume: Volume, labels: np.ndarray | Volume) -> np.ndarray:
    """Labels as a uint8 ``[z, y, x]`` array on ``volume``'s grid; GridMismatchError or ImageValueError."""
    if isinstance(labels, Volume):
        check_same_grid(volume, labels, what=f"labels {labels.name}")
        data = labels.data
    else:
        data = np.asarray(labels)
        if data.shape != volume.shape:
            raise GridMismatchError(f"labels of shape {data.shape} do not fit the grid {volume.shape} of {volume.name}")
    fractional = np.issubdtype(data.dtype, np.floating) and not np.all(np.mod(data, 1) == 0)
    if data.size and (fractional or data.min() < 0 or data.max() >= NUM_CLASSES):
        raise ImageValueError(f"labels for {volume.name} must be whole numbers in 0..{NUM_CLASSES - 1}, "
                              f"found {data.min()}..{data.max()}")
    return data.astype(np.uint8, copy=False)


def extract_image_patches(data: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Image patches ``[n, z, y, x]`` float32 of a ``[z, y, x]`` scan, as ``plan`` says."""
    low, high = plan.config.normalise_range
    patches = np.empty((plan.num_patches, *plan.patch_shape), dtype=np.float32)
    for index, record in enumerate(plan.records):
        box = _crop(data, record, plan, fill=record.intensity[0], dtype=np.float32)
        window_low, window_high = record.intensity
        if window_high > window_low:
            box -= window_low
            box *= (high - low) / (window_high - window_low)
            box += low
            np.clip(box, low, high, out=box)
        else:
            box.fill(low)
        patches[index] = _mirror(resize_linear(box, plan.patch_shape, (0, 1, 2)), record)
    return patches


def extract_label_patches(labels: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Label patches ``[n, z, y, x]`` uint8 of a ``[z, y, x]`` label array, nearest-neighbour."""
    patches = np.empty((plan.num_patches, *plan.patch_shape), dtype=np.uint8)
    for index, record in enumerate(plan.records):
        box = _crop(labels, record, plan, fill=0, dtype=np.uint8)
        patches[index] = _mirror(resize_nearest(box, plan.patch_shape, (0, 1, 2)), record)
    return patches


def count_uncovered(labels: np.ndarray, plan: PatchPlan) -> int:
    """Number of labelled (non-zero) voxels that lie in no patch box."""
    covered = np.zeros(labels.shape, dtype=bool)
    for record in plan.records:
        (y0, y1), (x0, x1) = record.inside(plan.scan_shape)
        covered[record.z[0]: record.z[1], y0:y1, x0:x1] = True
    return int(np.count_nonzero(labels[~covered]))


def _crop(data: np.ndarray, record: PatchRecord, plan: PatchPlan, *, fill: float, dtype: type) -> np.ndarray:
    """The record's box of ``data`` with padding ``fill`` outside the scan and the leg's columns."""
    box = np.full(record.box_shape, fill, dtype=dtype)
    (y0, y1), (x0, x1) = record.inside(plan.scan_shape)
    if y1 > y0 and x1 > x0:
        box[:, y0 - record.y[0]: y1 - record.y[0], x0 - record.x[0]: x1 - record.x[0]] = \
            data[record.z[0]: record.z[1], y0:y1, x0:x1]
    return box


def _mirror(patch: np.ndarray, record: PatchRecord) -> np.ndarray:
    """Flip a left-leg patch along x (the last axis) when the plan mirrors it."""
    return patch[..., ::-1] if record.mirrored else patch
