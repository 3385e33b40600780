"""``legseg bench overlap``: live overlap-map and Dice update after a one-slice edit vs full recomputation.

A synthetic calf-like label pair (seven elliptic muscles per axial slice, the prediction shifted
and with a muscle swapped) on a 320 x 320 x 90 grid. "full" recomputes the overlap map and the
joint counts of the whole volume; "edit" paints a disc into one axial slice of the prediction
and lets :class:`~legseg_core.evaluation.OverlapTracker` take in that slice. Targets: one-slice
edit under 20 ms and at least 20x faster than the full recomputation.
"""

from __future__ import annotations

import argparse

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "overlap map + Dice: one-slice edit (OverlapTracker) vs full recomputation"
EDIT_TARGET_SECONDS = 0.020
SPEEDUP_TARGET = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=int, nargs=3, default=(90, 320, 320), metavar=("Z", "Y", "X"),
                        help="volume shape [z, y, x] (default 90 320 320)")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per figure (median reported)")


def quick_arguments() -> argparse.Namespace:
    """Full-size volume, fewer repeats, for `legseg bench all`."""
    return argparse.Namespace(shape=(90, 320, 320), repeats=5)


def synthetic_pair(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A reference with seven elliptic muscles in every slice and a shifted, partly mislabelled prediction."""
    z, y, x = shape
    yy, xx = np.mgrid[0:y, 0:x]
    slice_labels = np.zeros((y, x), dtype=np.uint8)
    for label in range(1, 8):
        angle = 2 * np.pi * label / 7
        cy, cx = y / 2 + 0.25 * y * np.sin(angle), x / 2 + 0.25 * x * np.cos(angle)
        slice_labels[((yy - cy) / (0.12 * y)) ** 2 + ((xx - cx) / (0.10 * x)) ** 2 <= 1] = label
    reference = np.repeat(slice_labels[None], z, axis=0)
    prediction = np.roll(reference, (1, 2), axis=(1, 2))
    prediction[prediction == 7] = 6
    return reference, prediction


def disc(shape: tuple[int, int]) -> np.ndarray:
    """A round brush mask ``[y, x]`` in the middle of a slice, an eighth of its size in radius."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (yy - shape[0] // 2) ** 2 + (xx - shape[1] // 2) ** 2 <= (min(shape) // 8) ** 2


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.evaluation.metrics import confusion_counts
    from legseg_core.evaluation.overlap import OverlapTracker, overlap_map

    shape = tuple(int(s) for s in args.shape)
    reference, prediction = synthetic_pair(shape)  # type: ignore[arg-type]
    tracker = OverlapTracker(reference, prediction)
    brush = disc(shape[1:])
    state = {"step": 0}

    def edit() -> None:
        state["step"] += 1
        k = state["step"] % shape[0]
        prediction[k][brush] = 1 + state["step"] % 7
        tracker.apply_edit(k)

    def full() -> None:
        overlap_map(reference, prediction)
        confusion_counts(reference, prediction)

    edit_seconds = median_seconds(edit, repeats=max(3, args.repeats * 4))
    full_seconds = median_seconds(full, repeats=args.repeats)
    consistent = np.array_equal(tracker.map, overlap_map(reference, prediction)) and np.array_equal(
        tracker.confusion(), confusion_counts(reference, prediction))
    return report(shape, edit_seconds, full_seconds, consistent)


def report(shape: tuple[int, ...], edit_seconds: float, full_seconds: float, consistent: bool) -> BenchResult:
    """The figures and the two targets (edit under 20 ms, speedup at least 20x)."""
    result = BenchResult("overlap")
    result.rows.append({"shape (z, y, x)": " x ".join(map(str, shape)), "one-slice edit ms": edit_seconds * 1000,
                        "full recompute ms": full_seconds * 1000, "speedup": full_seconds / edit_seconds,
                        "tracker matches full": "yes" if consistent else "NO"})
    result.target("one-slice edit", edit_seconds * 1000, EDIT_TARGET_SECONDS * 1000, unit="ms")
    result.target("speedup over full recomputation", full_seconds / edit_seconds, SPEEDUP_TARGET, unit="x",
                  below=False)
    result.notes.append("median wall times; the edit includes painting a disc into the slice")
    return result
