"""napari with every LegSeg dock open fits a 1920 x 1080 screen (the docks are tabs of one area), the docks start
on sensible layers, the 3D view opens obliquely; a screenshot on the real calf is written for a person to look at."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_napari._layers import MODEL, VOLUME, muscle_labels_kwargs
from legseg_napari._qt.docks import dock_of
from tests.screenshots import FULL_HD, screenshot_path, starter_prediction

DOCKS = ("Segment", "Review", "Correct and accept", "Fine-tune")


@pytest.fixture
def store_places(tmp_path, monkeypatch):
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def open_real_calf(viewer, real_data, real_case) -> tuple:
    image, labels, _ = real_case
    viewer.add_image(image.data, name="dwi_mean", scale=image.spacing, metadata={VOLUME: image}, colormap="gray")
    expert = viewer.add_labels(labels.data, **muscle_labels_kwargs("expert labels", {VOLUME: image}, image.spacing))
    predicted = starter_prediction(str(real_data / "dwi_mean.nii.gz"))
    older = viewer.add_labels(np.zeros_like(predicted), **muscle_labels_kwargs(
        "older prediction", {VOLUME: image, MODEL: "unet-old"}, image.spacing))
    newest = viewer.add_labels(predicted, **muscle_labels_kwargs(
        "unet-lite-starter labels", {VOLUME: image, MODEL: "unet-lite-starter"}, image.spacing))
    return expert, older, newest


def test_every_dock_open_fits_full_hd_as_tabs_on_sensible_layers(make_napari_viewer, store_places, real_data,
                                                                 real_case, qtbot) -> None:
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)
    expert, older, newest = open_real_calf(viewer, real_data, real_case)
    window = viewer.window._qt_window
    window.resize(*FULL_HD)
    widgets = {name: viewer.window.add_plugin_dock_widget("legseg", name)[1] for name in DOCKS}
    for _ in range(5):
        QApplication.processEvents()
    docks = {name: dock_of(widget) for name, widget in widgets.items()}
    first = docks["Segment"]
    tabbed = set(window.tabifiedDockWidgets(first))
    assert {docks[name] for name in DOCKS[1:]} <= tabbed
    assert window.minimumSizeHint().height() <= FULL_HD[1] and window.height() <= FULL_HD[1]
    assert window.width() <= FULL_HD[0]
    review, correction = widgets["Review"], widgets["Correct and accept"]
    assert review.reference_combo.layer() is expert and review.prediction_combo.layer() is newest
    assert correction.labels_combo.layer() is newest
    session = review.compare()
    docks["Review"].raise_()
    viewer.dims.set_current_step(0, int(np.argmax((expert.data > 0).sum(axis=(1, 2)))))
    for _ in range(5):
        QApplication.processEvents()
    assert session.overlap_layer.visible and expert.opacity == 0.0 and newest.contour == 1
    viewer.dims.ndisplay = 3
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    direction = np.asarray(camera.view_direction)
    assert np.all(np.abs(direction) > 0.2), direction  # oblique: not down any axis
    review.stop()


SCREENSHOT_SCRIPT = """
import json, sys
import numpy as np
import napari
from qtpy.QtWidgets import QApplication
sys.path.insert(0, {root!r})
from tests.conftest import REAL_DATA
from tests.napari.test_napari_layout import DOCKS, FULL_HD, open_real_calf, real_case_of
from tests.screenshots import screenshot_path
viewer = napari.Viewer(show=True)
viewer.window._qt_window.resize(*FULL_HD)
expert, older, newest = open_real_calf(viewer, REAL_DATA, real_case_of(REAL_DATA))
widgets = {{name: viewer.window.add_plugin_dock_widget("legseg", name)[1] for name in DOCKS}}
review = widgets["Review"]
review.compare()
from legseg_napari._qt.docks import dock_of
viewer.dims.set_current_step(0, int(np.argmax((expert.data > 0).sum(axis=(1, 2)))))
for _ in range(10):
    QApplication.processEvents()
dock_of(review).raise_()  # after the docks were tabbed (each new tab comes to the front)
for _ in range(5):
    QApplication.processEvents()
viewer.reset_view()
shots = {{}}
shots["docks"] = viewer.screenshot(str(screenshot_path("napari-real-calf-docks.png")), canvas_only=False, flash=False)
viewer.dims.ndisplay = 3
for _ in range(10):
    QApplication.processEvents()
shots["3d"] = viewer.screenshot(str(screenshot_path("napari-real-calf-3d.png")), canvas_only=False, flash=False)
window = viewer.window._qt_window
print(json.dumps({{"size": [window.width(), window.height()],
                  "shapes": {{k: list(v.shape) for k, v in shots.items()}},
                  "canvas_grey": float(np.std(shots["docks"][..., :3]))}}))
review.stop()
viewer.close()
"""


def real_case_of(real_data):
    """The real case as the fixture gives it (for the screenshot script, which runs outside pytest)."""
    from legseg_core.io import load_volume
    from legseg_core.io.relabel import QMRITOOLS_CALF, remap_labels

    image = load_volume(real_data / "dwi_mean.nii.gz")
    raw = load_volume(real_data / "labels.nii.gz")
    return image, raw.with_data(remap_labels(raw.data, QMRITOOLS_CALF)), None


def test_a_screenshot_of_napari_with_every_legseg_dock_on_the_real_calf(real_data, store_places) -> None:
    """Drawn by napari itself on the X display (the canvas needs OpenGL, which the offscreen platform lacks)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display to draw napari's canvas on (run under xvfb-run or pytest-xvfb)")
    root = str(Path(__file__).resolve().parents[2])
    environment = {**os.environ, "QT_QPA_PLATFORM": "xcb", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", SCREENSHOT_SCRIPT.format(root=root)], capture_output=True,
                          text=True, timeout=600, env=environment, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["size"][0] <= FULL_HD[0] and report["size"][1] <= FULL_HD[1]
    assert report["canvas_grey"] > 5  # the picture has content, not one flat colour
    assert screenshot_path("napari-real-calf-docks.png").is_file()


def test_the_first_legseg_dock_fits_the_scan_to_the_narrower_canvas(make_napari_viewer, store_places, qtbot) -> None:
    """napari keeps its zoom when a dock narrows its canvas: the scan fitted before would be cut off at both
    sides. After the first LegSeg dock opens, the view is fitted again (as napari's own reset would)."""
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    for _ in range(5):
        QApplication.processEvents()
    scene = getattr(viewer, "scene", None)  # napari 0.9 moved the camera to viewer.scene
    camera = scene.camera if scene is not None else viewer.camera
    viewer.open_sample("legseg", "calf")
    viewer.reset_view()
    wide_zoom = camera.zoom
    viewer.window.add_plugin_dock_widget("legseg", "Segment")
    for _ in range(10):
        QApplication.processEvents()
    fitted_zoom = camera.zoom
    assert fitted_zoom < wide_zoom, "the view was fitted to the narrower canvas"
    viewer.reset_view()
    assert camera.zoom == pytest.approx(fitted_zoom, rel=1e-6)
