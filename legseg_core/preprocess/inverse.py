"""Back from patches to the scan (paper section 2.5): un-mirror, resample, resolve overlaps, paste.

Each patch's class probabilities ``[8, z, y, x]`` are flipped back if the patch was mirrored,
resampled linearly onto its box (only the part of the box inside the scan and the leg's
columns is computed), and added into a buffer that spans the boxes of one leg; voxels that
several patches cover (the overlapping slices of z parts) take the mean of their
probabilities. Outside every box the scan is background (probability 1 of class 0). Labels are
the argmax of the probabilities.

:func:`reduce_covered` does this a few slices at a time on a thread pool and hands each run of
slices to a reducer (argmax, entropy) at once, so the probabilities of the whole scan never
exist at the same time: the working set of each step stays in the processor's cache, which
makes this several times faster than resampling everything first. :func:`probabilities_from_patches`
builds the whole-scan array for callers that want the probabilities themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from legseg_core.errors import ImageShapeError, ImageValueError
from legseg_core.preprocess.plan import PatchPlan, PatchRecord, Range
from legseg_core.preprocess.resample import resize_linear
from legseg_core.stages import ThreadShares
from legseg_core.threads import run_each

#: Slices per step of :func:`reduce_covered`: eight classes of a few slices of the legs' box fit
#: in a processor cache, and there are enough steps to share among the threads.
CHUNK_SLICES = 4

#: ``reducer(where, covered)``: ``where`` the (z, y, x) slices of the scan that ``covered``, float32
#: ``[classes, slices, rows, cols]`` probabilities, spans: a run of slices of the legs' box.
Reducer = Callable[[tuple[slice, slice, slice], np.ndarray], None]


def from_patches(probabilities: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Labels uint8 ``[z, y, x]`` on the scan's own grid from probabilities ``[n, 8, z, y, x]`` of the patches."""
    labels = np.zeros(plan.scan_shape, dtype=np.uint8)

    def label(where: tuple[slice, slice, slice], covered: np.ndarray) -> None:
        labels[where] = argmax_classes(covered)

    reduce_covered(probabilities, plan, label)
    return labels


def probabilities_from_patches(probabilities: np.ndarray, plan: PatchPlan) -> np.ndarray:
    """Class probabilities float32 ``[8, z, y, x]`` on the scan's grid (background 1 outside the legs)."""
    result = background_probabilities(plan)

    def keep(where: tuple[slice, slice, slice], covered: np.ndarray) -> None:
        result[(slice(None), *where)] = covered

    reduce_covered(probabilities, plan, keep)
    return result


def background_probabilities(plan: PatchPlan) -> np.ndarray:
    """Float32 ``[classes, z, y, x]`` of the scan: certain background everywhere (class 0 at 1)."""
    result = np.zeros((plan.num_classes, *plan.scan_shape), dtype=np.float32)
    result[0] = 1.0
    return result


#: The stages of :func:`reduce_covered` as ``ThreadShares`` names them: resampling back, then the reducer.
WAY_BACK, REDUCE = "way back", "argmax and entropy"


def reduce_covered(probabilities: np.ndarray, plan: PatchPlan, reducer: Reducer,
                   shares: ThreadShares | None = None) -> None:
    """Call ``reducer(where, covered)`` for every run of slices of each leg's box, on the thread pool.

    ``covered`` holds the mean resampled probabilities over the scan region ``where`` (background
    1 where no patch reaches); outside the boxes the scan is certain background and no reducer is
    called. A run's box is that of the leg's patches that reach its slices, so the gap between
    two legs and the rows and columns no part of a leg reaches in those slices are never
    computed (a quarter of the legs' common box on a 90-slice bilateral scan); the two legs share
    one box where theirs overlap. Reducers of different runs may run at the same time: each must
    write only ``where``. ``shares``, if given, receives the CPU seconds of the resampling
    (:data:`WAY_BACK`) and of the reducer (:data:`REDUCE`).
    """
    array = check_probabilities(probabilities, plan)
    patches = _unmirrored(array, plan)

    def step(box: _Box) -> None:
        z, rows, cols, indices = box
        with shares.stage(WAY_BACK) if shares else nullcontext():
            shape = (rows[1] - rows[0], cols[1] - cols[0])
            total = np.zeros((plan.num_classes, z.stop - z.start, *shape), dtype=np.float32)
            count = np.zeros((z.stop - z.start, *shape), dtype=np.float32)
            for placement in _placements(plan, rows, cols, indices):
                _add(patches[placement.index], placement, z, total, count)
            _mean(total, count)
        with shares.stage(REDUCE) if shares else nullcontext():
            reducer((z, slice(*rows), slice(*cols)), total)

    insides = [record.inside(plan.scan_shape) for record in plan.records]
    run_each(step, [box for first in range(0, plan.scan_shape[0], CHUNK_SLICES)
                    for box in _run_boxes(plan, insides, slice(first, min(first + CHUNK_SLICES, plan.scan_shape[0])))])


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


class _Placement(NamedTuple):
    """Where patch ``index`` lands: its record, the window of its box inside the scan, the target rows/cols."""

    index: int
    record: PatchRecord
    window_y: Range
    window_x: Range
    target_y: slice
    target_x: slice


def _placements(plan: PatchPlan, rows: Range, cols: Range, indices: list[int]) -> list[_Placement]:
    """Where the patches ``indices`` land in the box ``rows`` x ``cols``."""
    placements = []
    for index in indices:
        record = plan.records[index]
        (y0, y1), (x0, x1) = record.inside(plan.scan_shape)
        if y1 <= y0 or x1 <= x0:
            continue
        placements.append(_Placement(index, record, (y0 - record.y[0], y1 - record.y[0]),
                                     (x0 - record.x[0], x1 - record.x[0]),
                                     slice(y0 - rows[0], y1 - rows[0]), slice(x0 - cols[0], x1 - cols[0])))
    return placements


#: A run of slices, the rows and columns of its box, and the patches that reach into it.
_Box = tuple[slice, Range, Range, list[int]]


def _run_boxes(plan: PatchPlan, insides: list[tuple[Range, Range]], z: slice) -> list[_Box]:
    """The boxes of the run of slices ``z``: one per leg whose patches reach it, or one for both legs
    where their boxes overlap; none where no patch reaches."""
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(plan.records):
        (y0, y1), (x0, x1) = insides[index]
        if record.z[0] < z.stop and record.z[1] > z.start and y1 > y0 and x1 > x0:
            groups.setdefault(record.leg, []).append(index)
    sets = list(groups.values())
    boxes = [_box_of(insides, indices) for indices in sets]
    if len(boxes) == 2 and all(a[1] > b[0] and b[1] > a[0] for a, b in zip(*boxes)):  # rows and columns overlap
        sets = [sorted(sets[0] + sets[1])]
        boxes = [_box_of(insides, sets[0])]
    return [(z, rows, cols, indices) for (rows, cols), indices in zip(boxes, sets)]


def _box_of(insides: list[tuple[Range, Range]], indices: list[int]) -> tuple[Range, Range]:
    """The rows and columns spanned by the inside parts of the boxes ``indices``."""
    return ((min(insides[i][0][0] for i in indices), max(insides[i][0][1] for i in indices)),
            (min(insides[i][1][0] for i in indices), max(insides[i][1][1] for i in indices)))


def _unmirrored(array: np.ndarray, plan: PatchPlan) -> list[np.ndarray]:
    """Each patch's probabilities ``[classes, z, y, x]`` the way round of the scan: mirrored patches
    flipped back once, into contiguous copies (a gather from a reversed view would copy the whole
    patch again for every run of slices)."""
    return [np.ascontiguousarray(patch[..., ::-1]) if record.mirrored else patch
            for patch, record in zip(array, plan.records)]


def _add(patch: np.ndarray, placement: _Placement, z: slice, total: np.ndarray, count: np.ndarray) -> None:
    """Add the part of one (unmirrored) patch's resampled box that falls in slices ``z`` to ``total``
    and ``count``."""
    record = placement.record
    first, last = max(z.start, record.z[0]), min(z.stop, record.z[1])
    if last <= first:
        return
    windows = ((first - record.z[0], last - record.z[0]), placement.window_y, placement.window_x)
    target = (slice(first - z.start, last - z.start), placement.target_y, placement.target_x)
    total[(slice(None), *target)] += resize_linear(patch, record.box_shape, (1, 2, 3), windows)
    count[target] += 1.0


def _mean(total: np.ndarray, count: np.ndarray) -> None:
    """Sums to means where patches overlap; background probability 1 where none reaches."""
    if count.max(initial=0.0) > 1.0:
        total /= np.maximum(count, 1.0)
    background = total[0]
    background[count == 0] = 1.0


def argmax_classes(total: np.ndarray) -> np.ndarray:
    """Index of the largest class per voxel of a ``[classes, ...]`` array (first one on ties), uint8."""
    best = total[0].copy()
    labels = np.zeros(best.shape, dtype=np.uint8)
    for index in range(1, total.shape[0]):
        better = total[index] > best
        labels[better] = index
        np.maximum(best, total[index], out=best)
    return labels
