"""Every dock widget of the manifest docks in napari, and opening them imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DOCKS = {"Segment": "SegmentWidget", "Review": "ReviewWidget", "Correct and accept": "CorrectionWidget",
         "Fine-tune": "FinetuneDockWidget", "Learn from my corrections": "AdaptDockWidget"}


@pytest.fixture
def empty_store_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def test_every_widget_of_the_manifest_docks(make_napari_viewer, empty_store_places, qtbot) -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("legseg")
    assert {w.display_name for w in manifest.contributions.widgets} == set(DOCKS)
    viewer = make_napari_viewer()
    viewer.open_sample("legseg", "calf")
    for display_name, class_name in DOCKS.items():
        dock, widget = viewer.window.add_plugin_dock_widget("legseg", display_name)
        assert type(widget).__name__ == class_name and not dock.isHidden()
    docks = {type(w).__name__: w for w in viewer.window.dock_widgets.values()}
    assert docks["SegmentWidget"].image_combo.layer().name == "sample calf (T1w)"
    assert docks["CorrectionWidget"].labels_combo.layer().name == "sample calf ground truth"
    assert "no store at" in docks["FinetuneDockWidget"].status.text()


STARTUP_SCRIPT = """
import json, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from napari.components import ViewerModel
from qtpy.QtWidgets import QApplication
application = QApplication.instance() or QApplication([])
from legseg_napari._sample import make_sample_calf
viewer = ViewerModel()
for data, meta, kind in make_sample_calf():
    getattr(viewer, "add_" + kind)(data, **meta)
start = time.perf_counter()
from legseg_napari._qt.segment_widget import SegmentWidget
from legseg_napari._qt.review_widget import ReviewWidget
from legseg_napari._qt.correction_widget import CorrectionWidget
from legseg_napari._qt.finetune_dock import FinetuneDockWidget
widgets = [cls(viewer) for cls in (SegmentWidget, ReviewWidget, CorrectionWidget, FinetuneDockWidget)]
seconds = time.perf_counter() - start
print(json.dumps({"torch": "torch" in sys.modules, "seconds": seconds}))
for widget in widgets:
    widget.close()
"""


def test_opening_the_widgets_imports_no_torch(empty_store_places: Path) -> None:
    import os

    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT], capture_output=True, text=True, timeout=180,
                          env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["torch"] is False, "creating the LegSeg docks imported torch"
