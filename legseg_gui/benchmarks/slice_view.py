"""``legseg bench slice_view``: re-rendering one 320 x 320 slice of the Qt image view.

Times (medians) of a full re-render (window/level to grey, labels to RGBA through lookup
tables, both to pixmaps), of the overlay alone (what an edit costs), of a brush dab followed by
its re-render, and of the numpy part alone. Target: a full re-render in a few milliseconds
(under 5 ms). This benchmark measures the widgets of ``legseg_gui``, so it imports them (and
Qt, on the offscreen platform when no display is set) inside :func:`run`; the rest of
``legseg_core`` never does.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "Qt image view: re-render of one slice (grey + label overlay), and a brush dab with its re-render"
RENDER_TARGET_SECONDS = 0.005


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=int, nargs=3, default=(90, 320, 320), metavar=("Z", "Y", "X"),
                        help="volume shape [z, y, x] (default 90 320 320)")
    parser.add_argument("--repeats", type=int, default=30, help="timed repeats per figure (median reported)")


def quick_arguments() -> argparse.Namespace:
    """Full-size volume, fewer repeats, for `legseg bench all`."""
    return argparse.Namespace(shape=(90, 320, 320), repeats=15)


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.editing import LabelEditor
    from legseg_gui.rendering import MUSCLE_TABLE, overlay_rgba, window_to_gray

    shape = tuple(int(s) for s in args.shape)
    view, image, labels = _shown_view(shape)  # type: ignore[arg-type]
    editor: LabelEditor = view.editor
    z = view.view_state.z = shape[0] // 2
    counter = {"step": 0}

    def dab_and_render() -> None:
        counter["step"] += 1
        editor.paint(z, (shape[1] / 2, shape[2] / 4 + counter["step"] % 100), radius=5, label=1 + counter["step"] % 7)
        view.refresh()

    def numpy_only() -> None:
        window, level = view.view_state.window
        window_to_gray(image[z], window, level)
        overlay_rgba(labels[z], MUSCLE_TABLE)

    figures = {"full re-render ms": median_seconds(view.render, repeats=args.repeats),
               "overlay re-render ms": median_seconds(lambda: (view.overlay_changed(), view.refresh()), repeats=args.repeats),
               "dab + re-render ms": median_seconds(dab_and_render, repeats=args.repeats),
               "numpy part ms": median_seconds(numpy_only, repeats=args.repeats)}
    view.close()
    return report(shape, figures)


def _shown_view(shape: tuple[int, int, int]):
    """A shown SliceViewWidget (800 x 800) of a synthetic scan and its labels, with an editor."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy.QtWidgets import QApplication

    from legseg_core.bench.overlap import synthetic_pair
    from legseg_core.editing import LabelEditor
    from legseg_core.io import Volume
    from legseg_gui.slice_view import SliceViewWidget

    application = QApplication.instance() or QApplication([])
    labels = synthetic_pair(shape)[0].copy()
    image = np.random.default_rng(0).normal(100, 20, shape).astype(np.float32) + 50 * (labels > 0)
    view = SliceViewWidget(Volume.from_array(image, (3.0, 1.0, 1.0)), LabelEditor(labels))
    view.resize(800, 800)
    view.show()
    application.processEvents()
    return view, image, labels


def report(shape: tuple[int, ...], figures: dict[str, float]) -> BenchResult:
    """The figures and the re-render target."""
    result = BenchResult("slice_view")
    result.rows.append({"slice (y, x)": f"{shape[1]} x {shape[2]}", **{k: v * 1000 for k, v in figures.items()}})
    result.target("full re-render of one slice", figures["full re-render ms"] * 1000, RENDER_TARGET_SECONDS * 1000,
                  unit="ms")
    result.notes.append("median wall times; pixmap conversion included, screen painting (compositor) not")
    return result
