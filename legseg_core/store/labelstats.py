"""Label arrays: validation, voxels per muscle, and edit statistics against a parent version.

All arrays are canonical ``[z, y, x]`` uint8 label maps with values 0..7 (0 background, then
the muscle ids of :mod:`legseg_core.labels`).
"""

from __future__ import annotations

import numpy as np

from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.labels import MUSCLES, NUM_CLASSES
from legseg_core.store.records import EditStatistics


def checked_labels(labels: np.ndarray, shape: tuple[int, int, int], what: str) -> np.ndarray:
    """``labels`` as uint8 after checking the shape ``(z, y, x)`` and the values 0..7."""
    labels = np.asarray(labels)
    if tuple(labels.shape) != tuple(shape):
        raise GridMismatchError(f"{what}: labels of shape {tuple(labels.shape)} do not fit the image grid "
                                f"{tuple(shape)} (z, y, x)")
    if labels.dtype.kind not in "uib":
        if labels.dtype.kind != "f" or not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ImageValueError(f"{what}: labels must be whole numbers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ImageValueError(f"{what}: label values must lie in 0..{NUM_CLASSES - 1}, "
                              f"found {labels.min()}..{labels.max()}")
    return np.ascontiguousarray(labels, dtype=np.uint8)


def _by_muscle(counts: np.ndarray) -> dict[str, int]:
    return {m.abbr: int(counts[m.id]) for m in MUSCLES}


def voxels_per_muscle(labels: np.ndarray) -> dict[str, int]:
    """Voxel count of each muscle, keyed by abbreviation (GL ... TP)."""
    # One comparison per muscle is several times faster than bincount, which widens uint8 to int64.
    return {m.abbr: int(np.count_nonzero(labels == m.id)) for m in MUSCLES}


def edit_statistics(labels: np.ndarray, parent: np.ndarray | None) -> EditStatistics:
    """What changed from ``parent`` (empty labels when None) to ``labels``: voxels added and
    removed per muscle, the z indices of the slices touched, and the number of changed voxels."""
    if parent is None:
        changed = labels != 0
        before = np.zeros(0, dtype=np.uint8)
    else:
        changed = labels != parent
        before = parent[changed]
    after = labels[changed]
    added = np.bincount(after, minlength=NUM_CLASSES)
    removed = np.bincount(before, minlength=NUM_CLASSES) if before.size else np.zeros(NUM_CLASSES, np.int64)
    slices = np.flatnonzero(changed.any(axis=(1, 2)))
    return EditStatistics(_by_muscle(added), _by_muscle(removed), tuple(int(k) for k in slices),
                          int(changed.sum()))
