"""``legseg bench napari_docks``: opening the four LegSeg docks in napari, in fresh processes.

Each run starts a new Python process that loads napari's Qt modules and creates a viewer model
with the sample calf (not timed: a napari window has all that before a plugin dock opens), then
times the creation of the Segment, Review, Correct-and-accept and Fine-tune
docks: first in that process (imports of the plugin's modules included, which is what a user
waits for on the first click) and again (warm). It also reports whether creating them imported
torch (it must not: torch loads on the worker thread when a segmentation starts). Figures are
medians over ``--repeats`` processes. Target: the first creation of all four under 0.5 s. Qt runs
on the offscreen platform, so no display is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from legseg_core.bench import BenchResult

DESCRIPTION = "creating the four napari docks in a fresh process (median), target < 0.5 s, no torch import"
CREATE_TARGET_SECONDS = 0.5

SCRIPT = """
import json, sys, time
import napari.qt  # what a napari window has loaded before any plugin dock opens
from napari.components import ViewerModel
from qtpy.QtWidgets import QApplication
application = QApplication.instance() or QApplication([])
from legseg_napari._sample import make_sample_calf
viewer = ViewerModel()
for data, meta, kind in make_sample_calf():
    getattr(viewer, "add_" + kind)(data, **meta)
def create():
    start = time.perf_counter()
    from legseg_napari._qt.correction_widget import CorrectionWidget
    from legseg_napari._qt.finetune_dock import FinetuneDockWidget
    from legseg_napari._qt.review_widget import ReviewWidget
    from legseg_napari._qt.segment_widget import SegmentWidget
    widgets = [cls(viewer) for cls in (SegmentWidget, ReviewWidget, CorrectionWidget, FinetuneDockWidget)]
    return time.perf_counter() - start, widgets
first, widgets = create()
torch_loaded = "torch" in sys.modules
second, more = create()
for widget in widgets + more:
    widget.close()
print(json.dumps({"first": first, "second": second, "torch": torch_loaded}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes (median reported)")


def quick_arguments() -> argparse.Namespace:
    """Three processes, for `legseg bench all`."""
    return argparse.Namespace(repeats=3)


def run(args: argparse.Namespace) -> BenchResult:
    runs = []
    with tempfile.TemporaryDirectory(prefix="legseg-bench-napari-") as folder:
        environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LEGSEG_STORE": os.path.join(folder, "store"),
                       "XDG_DATA_HOME": os.path.join(folder, "data")}
        for _ in range(max(int(args.repeats), 1)):
            done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment,
                                  timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"creating the napari docks failed: {done.stderr[-2000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first = statistics.median(r["first"] for r in runs)
    second = statistics.median(r["second"] for r in runs)
    result = BenchResult("napari_docks")
    result.rows.append({"runs": len(runs), "first creation s": first, "again s": second,
                        "torch imported": any(r["torch"] for r in runs)})
    result.target("first creation of the four docks (wall)", first, CREATE_TARGET_SECONDS)
    result.target("torch imported by the docks (0 = no)", float(any(r["torch"] for r in runs)), 0.5, unit="")
    if hasattr(os, "getloadavg"):
        result.notes.append(f"load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    result.notes.append("the viewer and the sample are made before the clock starts; the first creation includes "
                        "importing the plugin's widget modules (and legseg_gui's), the second is warm")
    return result
