"""Back from patches to the scan (paper section 2.5): un-mirror, resample, resolve overlaps, paste.

Each patch's class probabilities ``[8, z, y, x]`` are flipped back if the patch was mirrored,
resampled linearly onto its box (only the part of the box inside the scan and the leg's
columns is computed), and added into one buffer that spans the union of the boxes; voxels that
several patches cover (the overlapping slices of z parts) take the mean of their
probabilities. Outside every box the scan is background (probability 1 of class 0). Labels are
the argmax of the probabilities.
"""

from __future__ import annotations

import numpy as np

from legseg_core.errors import ImageShapeError, ImageValueError
from legseg_core.preprocess.plan import PatchPlan, Range
from legseg_core.preprocess.resample import resize_linear
from legseg_core.threads import run_each, split, worker_count


def from_patches(probabilities: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Labels uint8 ``[z, y, x]`` on the scan's own grid from probabilities ``[n, 8, z, y, x]`` of the patches."""
    total, count, (rows, cols) = _accumulate(probabilities, plan)
    labels = np.zeros(plan.scan_shape, dtype=np.uint8)
    labels[:, rows[0]: rows[1], cols[0]: cols[1]] = np.where(count > 0, argmax_classes(total), 0)
    return labels


def probabilities_from_patches(probabilities: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Class probabilities float32 ``[8, z, y, x]`` on the scan's grid (background 1 outside the legs)."""
    covered, box = covered_probabilities(probabilities, plan)
    return paste_covered(covered, box, plan.scan_shape)


def paste_covered(covered: np.ndarray, box: tuple[Range, Range], scan_shape: tuple[int, int, int]) -> np.ndarray:
    """Whole-scan probabilities ``[classes, z, y, x]`` from covered ones: background 1 outside ``box``."""
    (y0, y1), (x0, x1) = box
    result = np.zeros((covered.shape[0], *scan_shape), dtype=np.float32)
    result[0] = 1.0
    result[:, :, y0:y1, x0:x1] = covered
    return result


def covered_probabilities(probabilities: np.ndarray, plan: PatchPlan) -> tuple[np.ndarray, tuple[Range, Range]]:
    """Class probabilities float32 ``[8, z, rows, cols]`` over the rows and columns the boxes cover.

    The cheap form of :func:`probabilities_from_patches` for callers that only need labels and
    uncertainty: it skips the whole-scan array, which is mostly certain background.
    """
    total, count, (rows, cols) = _accumulate(probabilities, plan)

    def normalise(z: slice) -> None:
        covers = count[z]
        if covers.max(initial=0.0) > 1.0:  # only the slices where z parts overlap need the mean
            total[:, z] /= np.maximum(covers, 1.0)
        background = total[0, z]
        background[covers == 0] = 1.0

    run_each(normalise, split(total.shape[1], 4 * worker_count()))
    return total, (rows, cols)


def check_probabilities(probabilities: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Probabilities as float32 ``[n, classes, z, y, x]`` of the plan's shape, or ImageShapeError."""
    array = np.asarray(probabilities)
    expected = (plan.num_patches, plan.num_classes, *plan.patch_shape)
    if array.shape != expected:
        raise ImageShapeError(
            f"probabilities for {plan.scan_name} have shape {array.shape}; the plan expects {expected} "
            f"(patches, classes, z, y, x)")
    if not np.issubdtype(array.dtype, np.floating):
        raise ImageValueError(f"probabilities for {plan.scan_name} must be floating point, got {array.dtype}")
    return array.astype(np.float32, copy=False)


def _accumulate(probabilities: np.ndarray, plan: PatchPlan) -> tuple[np.ndarray, np.ndarray, tuple[Range, Range]]:
    """Sum of probabilities ``[classes, z, y, x]`` and cover count over the boxes' union (rows, cols).

    The classes are resampled in groups on separate threads (each writes only its own channels).
    """
    array = check_probabilities(probabilities, plan)
    rows, cols = _union(plan)
    shape = (plan.scan_shape[0], rows[1] - rows[0], cols[1] - cols[0])
    total = np.zeros((plan.num_classes, *shape), dtype=np.float32)
    count = np.zeros(shape, dtype=np.float32)
    placements = []
    for index, record in enumerate(plan.records):
        (y0, y1), (x0, x1) = record.inside(plan.scan_shape)
        if y1 <= y0 or x1 <= x0:
            continue
        windows = ((0, record.box_shape[0]), (y0 - record.y[0], y1 - record.y[0]), (x0 - record.x[0], x1 - record.x[0]))
        target = (slice(record.z[0], record.z[1]), slice(y0 - rows[0], y1 - rows[0]), slice(x0 - cols[0], x1 - cols[0]))
        count[target] += 1.0
        placements.append((index, record, windows, target))

    def add(classes: slice) -> None:
        for index, record, windows, target in placements:
            patch = array[index, classes]
            if record.mirrored:
                patch = patch[..., ::-1]
            total[(classes, *target)] += resize_linear(patch, record.box_shape, (1, 2, 3), windows)

    run_each(add, split(plan.num_classes, worker_count()))
    return total, count, (rows, cols)


def _union(plan: PatchPlan) -> tuple[Range, Range]:
    """Rows and columns of the scan spanned by the inside parts of all boxes (empty ranges if none)."""
    insides = [record.inside(plan.scan_shape) for record in plan.records]
    first_row, last_row = min(r[0] for r, _ in insides), max(r[1] for r, _ in insides)
    first_col, last_col = min(c[0] for _, c in insides), max(c[1] for _, c in insides)
    return (first_row, max(first_row, last_row)), (first_col, max(first_col, last_col))


def argmax_classes(total: np.ndarray) -> np.ndarray:
    """Index of the largest class per voxel of a ``[classes, ...]`` array (first one on ties), uint8."""
    best = total[0].copy()
    labels = np.zeros(best.shape, dtype=np.uint8)
    for index in range(1, total.shape[0]):
        better = total[index] > best
        labels[better] = index
        np.maximum(best, total[index], out=best)
    return labels
