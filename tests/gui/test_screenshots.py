"""Screenshots of the app on the real calf (scan, the starter U-Net's prediction, the overlap map against the
expert's labels) at 1920 x 1080, written for a person to look at (see tests/screenshots.py), and checked here for
what a reader relies on: the body fills the view, the muscles show in their colours, the overlap map in its own."""

from __future__ import annotations

import json

import numpy as np

from legseg_core.io import save_labels
from legseg_core.labels import MUSCLES, OVERLAP_CLASSES
from legseg_core.store import Store
from legseg_gui.app.launch import screenshot
from legseg_gui.qimage import qimage_to_array
from tests.gui.app_helpers import make_window
from tests.screenshots import FULL_HD, screenshot_path, starter_prediction


def colour_share(picture: np.ndarray, colours, opacity: float) -> dict[tuple[int, int, int], float]:
    """For each colour, the share of pixels that are that colour blended at ``opacity`` over some grey."""
    rgb = picture[..., :3].reshape(-1, 3).astype(float)
    shares = {}
    for colour in colours:
        residual = rgb - opacity * np.asarray(colour, float)
        grey = (residual.max(axis=1) - residual.min(axis=1) <= 6) & (residual.min(axis=1) >= -3)
        shares[tuple(colour)] = float(grey.mean())
    return shares


def test_app_screenshots_of_the_real_calf_with_prediction_and_overlap(qtbot, real_data, real_case, tmp_path) -> None:
    image, labels, _ = real_case
    prediction = starter_prediction(str(real_data / "dwi_mean.nii.gz"))
    store = Store.init(tmp_path / "store")
    case = store.add_case(image, contrast="diffusion", health="healthy", protocol="DWI mean, 3 x 3 x 6 mm")
    store.add_label_version(case.id, prediction, provenance="predicted:unet-lite-starter")
    reference = save_labels(labels.data, image, tmp_path / "expert_labels.nii.gz")
    window = make_window(qtbot, store)
    window.resize(*FULL_HD)
    window.open_case(case.id)
    from legseg_gui.app.opening import add_reference_file

    key = add_reference_file(window, reference)
    window.review_panel.refresh_sources(key, "edit")
    window.show_panel("review")
    z = int(np.argmax((labels.data > 0).sum(axis=(1, 2))))
    window.view.view_state.z = z
    shots = {}
    for overlay in ("labels", "overlap"):
        window.view.view_state.overlay = overlay
        shots[overlay] = screenshot(window, screenshot_path(f"app-real-calf-{overlay}.png"))
    described = json.loads(shots["overlap"].with_suffix(".json").read_text())
    left, top, width, height = described["image_rect"]
    canvas = window.view.canvas.viewport()
    assert width * height > 0.25 * canvas.width() * canvas.height()  # the slice is zoomed to the legs
    picture = qimage_to_array(window.grab().toImage())
    view = picture[max(top, 0):top + height, max(left, 0):left + width]
    overlap_shares = colour_share(view, [c.color for c in OVERLAP_CLASSES], described["opacity"])
    assert overlap_shares[OVERLAP_CLASSES[0].color] > 0.01  # agreement shows, in its own colour
    window.view.view_state.overlay = "labels"
    from legseg_gui.app.launch import settle

    settle(window)
    picture = qimage_to_array(window.grab().toImage())[max(top, 0):top + height, max(left, 0):left + width]
    muscle_shares = colour_share(picture, [m.color for m in MUSCLES], described["opacity"])
    assert sum(share > 0.001 for share in muscle_shares.values()) >= 5  # most muscles show in their colours
    assert window.session.case.metadata.contrast == "diffusion"
