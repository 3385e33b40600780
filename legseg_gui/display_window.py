"""Where the body is in a scan and the window/level presets taken from its intensities. Pure numpy, no Qt.

The body is what lies above Otsu's cut of the log intensities (air dark, every tissue above it),
as the preprocessing finds it. The default window spans the 1st to 99th percentile of the body's
voxels, so neither air nor a few bright vessels or fat voxels set the contrast; the presets
offer a tighter and a wider span. Percentiles are taken on a regular subsample of at most about
a million voxels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.preprocess.mask import otsu_threshold

#: Preset name -> (low, high) percentile of the body's intensities; the first is the default.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "Body 1–99%": (1.0, 99.0),
    "Muscle contrast (body 5–90%)": (5.0, 90.0),
    "Bright tissue (body 1–99.9%)": (1.0, 99.9),
    "Whole scan (0.5–99.5%)": (0.5, 99.5),
}
DEFAULT_PRESET = next(iter(WINDOW_PRESETS))


@dataclass(frozen=True)
class BodyExtent:
    """The body's bounding box in a slice's ``(y, x)`` voxels (inclusive start, exclusive stop) and window presets."""

    box: tuple[int, int, int, int]  # y0, y1, x0, x1
    presets: dict[str, tuple[float, float]]  # name -> (window, level)


def _sample(data: np.ndarray) -> np.ndarray:
    step = max(1, int(round((data.size / 1e6) ** (1 / 3))))
    return np.asarray(data[::step, ::step, ::step], dtype=np.float64)


def body_mask(sample: np.ndarray) -> np.ndarray:
    """Voxels above Otsu's cut of the log intensities (all voxels when the scan is flat)."""
    finite = np.nan_to_num(sample)
    if finite.max() <= finite.min():
        return np.ones(sample.shape, bool)
    floor = 1e-3 * max(float(np.percentile(finite, 99.5)), 1e-12)
    logarithm = np.log(np.maximum(finite, 0.0) + floor)
    mask = logarithm > otsu_threshold(logarithm)
    return mask if mask.any() else np.ones(sample.shape, bool)


def window_from_percentiles(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """(window, level) spanning two percentiles of ``values`` (the window never below a tiny positive value)."""
    if not values.size:
        return 1.0, 0.5
    bottom, top = np.percentile(values, [low, high])
    window = max(float(top - bottom), 1e-6)
    return window, float(bottom) + window / 2


def _occupied(profile: np.ndarray) -> np.ndarray:
    """Indices whose share of body voxels is at least 2% of the fullest one's (stray bright specks drop out)."""
    return np.flatnonzero(profile >= 0.02 * max(int(profile.max()), 1))


def body_extent(data: np.ndarray) -> BodyExtent:
    """Where the body lies in ``data`` (``[z, y, x]``) and the window/level presets of its intensities."""
    step = max(1, int(round((data.size / 1e6) ** (1 / 3))))
    sample = _sample(data)
    mask = body_mask(sample)
    body = sample[mask]
    if body.size == 0 or float(body.max() - body.min()) <= 1e-6 * max(abs(float(body.max())), 1.0):
        body = sample.ravel()  # a flat body (one intensity) has no contrast of its own: take the whole scan's
    presets = {name: window_from_percentiles(body, *span) for name, span in WINDOW_PRESETS.items()}
    presets["Whole scan (0.5–99.5%)"] = window_from_percentiles(sample.ravel(), *WINDOW_PRESETS["Whole scan (0.5–99.5%)"])
    rows, columns = _occupied(mask.sum(axis=(0, 2))), _occupied(mask.sum(axis=(0, 1)))
    box = (int(rows[0]) * step, min(data.shape[1], (int(rows[-1]) + 1) * step),
           int(columns[0]) * step, min(data.shape[2], (int(columns[-1]) + 1) * step))
    return BodyExtent(box, presets)
