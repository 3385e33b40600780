"""Showing a demo result: the standalone app, or a screenshot of it, or a matplotlib figure.

The app runs in its own process (``python -m legseg_core.cli app ...``) so that the core never
imports Qt: it opens ``image.nii.gz`` in a temporary store with the prediction as the labels
being reviewed, the ground truth as the reference ("manual") labels, and the Figure 4 overlap
overlay. :func:`screenshot` does the same offscreen (``QT_QPA_PLATFORM=offscreen``) with
``--screenshot --quit``; when the app cannot run (no Qt on the machine, no display support), it
falls back to :func:`legseg_core.evaluation.plots.overlay_png`, a matplotlib render of the
overlap map on the most labelled axial slice.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from legseg_core.errors import LegsegError
from legseg_core.io import load_volume

log = logging.getLogger(__name__)

#: Seconds an offscreen screenshot may take before the matplotlib render is used instead.
SCREENSHOT_TIMEOUT_S = 180.0


def app_command(paths: dict[str, Path], store: Path, *, slice_index: int | None = None) -> list[str]:
    """The ``legseg app`` command line that opens a demo result (``paths`` as written by the demo)."""
    command = [sys.executable, "-m", "legseg_core.cli", "app", "--store", str(store), "--open",
               str(paths["image"]), "--labels", str(paths["prediction"]), "--reference", str(paths["manual"]),
               "--overlay", "overlap"]
    return command + ([] if slice_index is None else ["--slice", str(slice_index)])


def busiest_slice(labels_path: Path) -> int:
    """The axial slice (``[z]`` index) with the most labelled voxels of a label file."""
    labels = load_volume(labels_path).data
    return int(np.argmax((labels > 0).reshape(labels.shape[0], -1).sum(axis=1)))


def open_app(paths: dict[str, Path]) -> int:
    """Open the app on a demo result and wait until the user closes it; returns its exit status."""
    with tempfile.TemporaryDirectory(prefix="legseg-demo-store-") as store:
        command = app_command(paths, Path(store), slice_index=busiest_slice(paths["manual"]))
        log.info("demo: %s", " ".join(command))
        return subprocess.run(command, check=False).returncode


def screenshot(paths: dict[str, Path], out: Path, *, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> tuple[Path, str]:
    """Write a PNG of the demo result; returns the path and how it was drawn (``app`` or ``matplotlib``)."""
    slice_index = busiest_slice(paths["manual"])
    with tempfile.TemporaryDirectory(prefix="legseg-demo-store-") as store:
        command = app_command(paths, Path(store), slice_index=slice_index) + ["--screenshot", str(out), "--quit"]
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            done = None
    if done is not None and done.returncode == 0 and out.is_file():
        return out, "app"
    reason = "timed out" if done is None else (done.stderr.strip().splitlines() or ["no message"])[-1]
    log.warning("the app could not draw the screenshot (%s); drawing it with matplotlib", reason)
    return overlap_figure(paths, out, slice_index), "matplotlib"


def overlap_figure(paths: dict[str, Path], out: Path, slice_index: int) -> Path:
    """The Figure 4 overlap map of a demo result on its image, one axial slice, as a PNG."""
    from legseg_core.evaluation.plots import overlay_png

    image, overlap = load_volume(paths["image"]), load_volume(paths["overlap"])
    try:
        return overlay_png(overlap.data.astype(np.uint8), out, image=image.data, slice_index=slice_index,
                           spacing=image.spacing, title=f"demo: manual vs predicted, slice {slice_index}")
    except OSError as error:
        raise LegsegError(f"{out}: cannot write the screenshot ({error.strerror})") from error
