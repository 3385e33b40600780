"""``legseg bench editing``: the label editor on a 320 x 320 x 90 label map.

Times (medians) of a brush dab inside a stroke, a whole 40-dab stroke with its undo record,
undoing it, a flood fill of a slice, relabelling a muscle in 3D, interpolating a muscle over
the nine slices between slices 1 and 11 (which the strokes leave alone), and the memory the
undo history holds after a hundred strokes (each record keeps only its changed box). Target: a brush dab well within one screen frame (under 5 ms).
"""

from __future__ import annotations

import argparse

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "label editor: brush dab, stroke, undo, fill, 3D relabel, interpolation, history memory"
DAB_TARGET_SECONDS = 0.005


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=int, nargs=3, default=(90, 320, 320), metavar=("Z", "Y", "X"),
                        help="label map shape [z, y, x] (default 90 320 320)")
    parser.add_argument("--radius", type=int, default=5, help="brush radius in voxels (default 5)")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats per figure (median reported)")


def quick_arguments() -> argparse.Namespace:
    """Full-size volume, fewer repeats, for `legseg bench all`."""
    return argparse.Namespace(shape=(90, 320, 320), radius=5, repeats=5)


def stroke_points(shape: tuple[int, int, int], count: int = 40) -> list[tuple[float, float]]:
    """Mouse positions ``(y, x)`` of a curved drag across the middle of a slice."""
    t = np.linspace(0.0, 1.0, count)
    return list(zip(shape[1] * (0.5 + 0.2 * np.sin(3 * t)), shape[2] * (0.2 + 0.6 * t)))


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.bench.overlap import synthetic_pair
    from legseg_core.editing import LabelEditor

    shape = tuple(int(s) for s in args.shape)
    if shape[0] < 5:
        from legseg_core.errors import ImageShapeError

        raise ImageShapeError(f"the editing benchmark needs at least 5 slices, got shape {shape}")
    labels = synthetic_pair(shape)[0].copy()  # type: ignore[arg-type]
    editor = LabelEditor(labels, spacing=(3.0, 1.0, 1.0))
    points, middle = stroke_points(shape), shape[0] // 2 + 1  # type: ignore[arg-type]  # strokes and fills here only
    counter = {"step": 0}

    def dab() -> None:
        counter["step"] += 1
        y, x = points[counter["step"] % len(points)]
        editor.paint(middle, (y, x), (y + 2, x + 2), radius=args.radius, label=1 + counter["step"] % 7)

    def stroke() -> None:
        counter["step"] += 1
        editor.begin_stroke("brush")
        for start, end in zip(points[:-1], points[1:]):
            editor.paint(middle, start, end, radius=args.radius, label=1 + counter["step"] % 7)
        editor.end_stroke()

    editor.begin_stroke("brush")
    dab_seconds = median_seconds(dab, repeats=args.repeats * 10)
    editor.end_stroke()
    figures = {"brush dab ms": dab_seconds, "40-dab stroke ms": median_seconds(stroke, repeats=args.repeats),
               "undo stroke ms": median_seconds(lambda: (editor.undo(), editor.redo()), repeats=args.repeats) / 2,
               "fill slice ms": median_seconds(lambda: editor.fill(middle, (0, 0), 1 + editor.edit_count % 7),
                                               repeats=args.repeats),
               "relabel 3D ms": median_seconds(lambda: _relabel(editor, 0), repeats=args.repeats),
               "interpolate 9 slices ms": median_seconds(lambda: _interpolate(editor, 1, min(11, shape[0] - 1)),
                                                          repeats=args.repeats)}
    return report(shape, args.radius, figures, _history_bytes(shape, points, args.radius))  # type: ignore[arg-type]


def _relabel(editor, z: int) -> None:
    seed = tuple(int(v) for v in np.argwhere(editor.labels[z] == 3)[0])
    editor.relabel((z, *seed), 3, three_d=True)  # the same label: the region search without a write
    editor.relabel((z, *seed), 2, three_d=True)
    editor.undo()


def _interpolate(editor, first: int, last: int) -> None:
    editor.interpolate(4, first, last)
    editor.undo()


def _history_bytes(shape: tuple[int, int, int], points: list[tuple[float, float]], radius: int) -> int:
    """Undo memory after a hundred 40-dab strokes on a fresh editor."""
    from legseg_core.editing import LabelEditor

    editor = LabelEditor(np.zeros(shape, np.uint8))
    for step in range(100):
        editor.begin_stroke("brush")
        for start, end in zip(points[:-1], points[1:]):
            editor.paint(step % shape[0], start, end, radius=radius, label=1 + step % 7)
        editor.end_stroke()
    return editor.history.nbytes


def report(shape: tuple[int, ...], radius: int, figures: dict[str, float], history_bytes: int) -> BenchResult:
    """The figures and the brush-dab target."""
    result = BenchResult("editing")
    result.rows.append({"shape (z, y, x)": " x ".join(map(str, shape)), "radius vx": radius,
                        **{name: seconds * 1000 for name, seconds in figures.items()},
                        "history MB / 100 strokes": history_bytes / 2**20,
                        "volume MB": float(np.prod(shape)) / 2**20})
    result.target("brush dab", figures["brush dab ms"] * 1000, DAB_TARGET_SECONDS * 1000, unit="ms")
    result.notes.append("median wall times; each undo record keeps the changed box only (before and after)")
    return result
