"""The body mask: which voxels are leg and which are air, and whether the scan shows legs at all.

The mask is found on a coarse copy of the scan (in-plane blocks averaged to about
``smoothing_mm``), smoothed, flipped if its contrast is inverted (the edge of the field of
view, which is air, brighter than Otsu's cut), and thresholded with Otsu's method on the logarithm of the
intensities (which separates air from every tissue, dark muscle included, where a linear Otsu
cut would split bright fat from the rest); specks smaller than a quarter
of ``min_leg_area_mm2`` are dropped. Holes (bone, or the muscle inside the bright fat ring of a
T1-weighted or fat image) are left: the leg finder reads each column from its first to its last
foreground voxel, which sees through them. A scan
whose foreground is empty, fills almost the whole field of view, or stands out from the
background by fewer than ``min_contrast`` noise levels has no leg-like foreground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from legseg_core.errors import PreprocessingError
from legseg_core.preprocess.config import PreprocessConfig
from legseg_core.threads import run_each, worker_count

#: Voxels sampled (every k-th) for the medians, percentiles and histograms of the mask: their
#: robust statistics need no more, and sorting every voxel of a large scan would cost more than the rest.
SAMPLE_SIZE = 1 << 17

# Connectivity within one axial slice only: specks are judged slice by slice.
_IN_SLICE = np.zeros((3, 3, 3), dtype=bool)
_IN_SLICE[1] = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class BodyMask:
    """A coarse ``[z, y, x]`` foreground mask; ``block`` (y, x) voxels of the scan per mask voxel."""

    mask: np.ndarray
    block: tuple[int, int]
    spacing: tuple[float, float, float]

    @property
    def pixel_area_mm2(self) -> float:
        """Area in mm^2 of one mask voxel in an axial slice."""
        return self.spacing[1] * self.block[0] * self.spacing[2] * self.block[1]


def body_mask(data: np.ndarray, spacing: tuple[float, float, float], config: PreprocessConfig,
              name: str) -> BodyMask:
    """The leg foreground of a ``[z, y, x]`` scan (spacing in mm) on a coarse grid, or PreprocessingError.

    Every step but the thresholds works slice by slice (block means, the in-plane smoothing, the
    logarithm, the specks), so those steps run on the thread pool a few slices at a time; the
    thresholds come from samples of the whole scan, as before."""
    block = tuple(max(1, int(config.smoothing_mm // s)) for s in spacing[1:])
    by, bx = block
    coarse = np.empty((data.shape[0], data.shape[1] // by, data.shape[2] // bx), dtype=np.float32)
    smooth = np.empty_like(coarse)
    coarse_spacing = (spacing[0], spacing[1] * by, spacing[2] * bx)
    sigma = _sigma(config.smoothing_mm, coarse_spacing)

    def shrink(z: slice) -> None:
        coarse[z] = _block_mean(data[z], (by, bx))
        smooth[z] = ndimage.gaussian_filter(coarse[z], sigma, truncate=2.0)

    runs = _slice_runs(coarse.shape)
    run_each(shrink, runs)
    low, high = float(coarse.min()), float(coarse.max())
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        raise PreprocessingError(f"{name}: no leg-like foreground: the scan holds one value only ({low:g})")
    if _air_is_bright(smooth):
        coarse, smooth = high - coarse, high - smooth
    pixel_area = coarse_spacing[1] * coarse_spacing[2]
    mask = _log_otsu(smooth, runs)

    def despeck(z: slice) -> None:
        mask[z] = _drop_specks(mask[z], config.min_leg_area_mm2 / 4 / pixel_area)

    run_each(despeck, runs)
    _check_leg_like(coarse, mask, config, name)
    return BodyMask(mask, block, coarse_spacing)


#: Coarse voxels per step (at most) of the slice-by-slice work of :func:`body_mask` on the thread pool. A
#: smaller scan is done in one step on the calling thread: there, starting threads cost more than they saved.
RUN_VOXELS = 1 << 19


def _slice_runs(shape: tuple[int, ...]) -> list[slice]:
    """Runs of whole slices, of as even a length as can be, that cover a ``[z, y, x]`` array: none of more
    than about :data:`RUN_VOXELS` voxels, and as many as a multiple of the threads where there are several."""
    count = math.ceil(shape[0] * shape[1] * shape[2] / RUN_VOXELS)
    if count > 1:
        workers = worker_count()
        count = math.ceil(count / workers) * workers
    edges = np.linspace(0, shape[0], min(max(1, shape[0]), max(1, count)) + 1).round().astype(int)
    return [slice(int(start), int(stop)) for start, stop in zip(edges[:-1], edges[1:])]


def on_scan_grid(body: BodyMask, shape: tuple[int, int, int],
                 box: tuple[slice, slice, slice] | None = None) -> np.ndarray:
    """The coarse body mask as a bool array on the scan's ``[z, y, x]`` grid (edges that did not fill
    a block take the nearest block), or on its part ``box`` (slices with start and stop) alone."""
    box = box or (slice(0, shape[0]), slice(0, shape[1]), slice(0, shape[2]))
    rows = np.minimum(np.arange(box[1].start, box[1].stop) // body.block[0], body.mask.shape[1] - 1)
    cols = np.minimum(np.arange(box[2].start, box[2].stop) // body.block[1], body.mask.shape[2] - 1)
    return body.mask[box[0]].take(rows, axis=1).take(cols, axis=2)


def _air_is_bright(smooth: np.ndarray) -> bool:
    """True for an inverted contrast: the edge of the field of view (air) lies above Otsu's cut."""
    edges = np.concatenate([smooth[:, 0, :].ravel(), smooth[:, -1, :].ravel(), smooth[:, :, 0].ravel(),
                            smooth[:, :, -1].ravel()])
    return float(np.median(edges)) > otsu_threshold(smooth)


def _log_otsu(smooth: np.ndarray, runs: list[slice]) -> np.ndarray:
    """Voxels above Otsu's cut of the log intensities (air dark, every tissue above it); the logarithm
    is taken a run of slices at a time on the thread pool."""
    floor = 1e-3 * max(float(np.percentile(_sample(smooth.ravel()), 99.5)), 1e-12)
    logarithm = np.empty_like(smooth)

    def log(z: slice) -> None:
        np.log(np.maximum(smooth[z], 0.0) + floor, out=logarithm[z])

    run_each(log, runs)
    return logarithm > otsu_threshold(logarithm)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the cut of a 256-bin histogram that maximises the between-class variance."""
    counts, edges = np.histogram(_sample(values.ravel()), bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts, dtype=np.float64)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(counts * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def _block_mean(data: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Average ``block`` (y, x) voxels of each slice (edges that do not fill a block are dropped)."""
    by, bx = block
    if by == bx == 1:
        return np.asarray(data, dtype=np.float32)
    z, y, x = data.shape
    height, width = y // by, x // bx
    total = np.zeros((z, height, width), dtype=np.float32)
    for row in range(by):  # strided views summed: far quicker than a mean over reshaped axes
        for col in range(bx):
            total += data[:, row: height * by: by, col: width * bx: bx]
    total /= by * bx
    return total


def _sigma(smoothing_mm: float, spacing: tuple[float, float, float]) -> tuple[float, float, float]:
    """In-plane Gaussian sigma (voxels) for a smoothing of ``smoothing_mm`` full width; none along z."""
    return (0.0, smoothing_mm / 2.355 / spacing[1], smoothing_mm / 2.355 / spacing[2])


def _drop_specks(mask: np.ndarray, min_voxels: float) -> np.ndarray:
    """Remove in-slice components of fewer than ``min_voxels`` voxels."""
    labelled, count = ndimage.label(mask, structure=_IN_SLICE)
    if count == 0:
        return mask
    sizes = np.bincount(labelled.ravel(), minlength=count + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labelled]


def _check_leg_like(values: np.ndarray, mask: np.ndarray, config: PreprocessConfig, name: str) -> None:
    """Refuse a mask that is empty, fills the field of view, or is not brighter than the noise."""
    fraction = float(mask.mean())
    if fraction == 0.0:
        raise PreprocessingError(f"{name}: no leg-like foreground: the body mask is empty")
    if fraction > config.max_foreground_fraction:
        raise PreprocessingError(
            f"{name}: no leg-like foreground: the body mask covers {fraction:.0%} of the field of view "
            f"(at most {config.max_foreground_fraction:.0%} expected; the scan may be noise only)")
    contrast = foreground_contrast(values, mask)
    if contrast < config.min_contrast:
        raise PreprocessingError(
            f"{name}: no leg-like foreground: the foreground stands out from the background by "
            f"{contrast:.2f} noise levels (at least {config.min_contrast:g} expected; the scan may be noise only)")


def foreground_contrast(values: np.ndarray, mask: np.ndarray) -> float:
    """(median foreground - median background) / noise, in noise levels.

    The noise is read from differences of neighbouring voxels along x (1.4826 x their median
    absolute value / sqrt 2), which the air around the legs dominates; a scan of pure noise
    splits into two classes whose medians differ by less than one noise level.
    """
    step = max(1, values.size // SAMPLE_SIZE)
    sampled, inside = values.ravel()[::step], mask.ravel()[::step]  # every k-th voxel, not all of them
    foreground, background = sampled[inside], sampled[~inside]
    if background.size == 0 or foreground.size == 0:
        return 0.0
    difference = float(np.median(foreground)) - float(np.median(background))
    steps = np.diff(values.reshape(-1, values.shape[2])[::step], axis=1).ravel()  # every k-th row
    noise = 1.4826 * float(np.median(np.abs(steps))) / np.sqrt(2.0)
    if noise == 0.0:
        return float("inf") if difference > 0 else 0.0
    return difference / noise


def _sample(values: np.ndarray) -> np.ndarray:
    """Every k-th value of a flat array, at most :data:`SAMPLE_SIZE` of them."""
    step = max(1, values.size // SAMPLE_SIZE)
    return values[::step]
