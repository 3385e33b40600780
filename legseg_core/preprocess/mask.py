"""The body mask: which voxels are leg and which are air, and whether the scan shows legs at all.

The mask is found on a coarse copy of the scan (in-plane blocks averaged to about
``smoothing_mm``), smoothed, thresholded with Otsu's method, and its holes (bone, dark fat) are
filled slice by slice; specks smaller than a quarter of ``min_leg_area_mm2`` are dropped. A scan
whose foreground is empty, fills almost the whole field of view, or stands out from the
background by fewer than ``min_contrast`` noise levels has no leg-like foreground.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from legseg_core.errors import PreprocessingError
from legseg_core.preprocess.config import PreprocessConfig

# Connectivity within one axial slice only: holes and specks are judged slice by slice.
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
    """The leg foreground of a ``[z, y, x]`` scan (spacing in mm) on a coarse grid, or PreprocessingError."""
    block = tuple(max(1, int(config.smoothing_mm // s)) for s in spacing[1:])
    coarse = _block_mean(np.asarray(data, dtype=np.float32), block)
    low, high = float(coarse.min()), float(coarse.max())
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        raise PreprocessingError(f"{name}: no leg-like foreground: the scan holds one value only ({low:g})")
    coarse_spacing = (spacing[0], spacing[1] * block[0], spacing[2] * block[1])
    smooth = ndimage.gaussian_filter(coarse, _sigma(config.smoothing_mm, coarse_spacing), truncate=2.0)
    mask = smooth > otsu_threshold(smooth)
    mask = fill_holes_in_slices(mask)
    result = BodyMask(mask, block, coarse_spacing)
    result = BodyMask(_drop_specks(mask, config.min_leg_area_mm2 / 4 / result.pixel_area_mm2), block,
                      coarse_spacing)
    _check_leg_like(coarse, result.mask, config, name)
    return result


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the cut of a 256-bin histogram that maximises the between-class variance."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts, dtype=np.float64)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(counts * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def fill_holes_in_slices(mask: np.ndarray) -> np.ndarray:
    """Fill each axial slice's holes: background regions that do not reach the slice's edge."""
    labelled, count = ndimage.label(~mask, structure=_IN_SLICE)
    outside = np.zeros(count + 1, dtype=bool)
    for edge in (labelled[:, 0, :], labelled[:, -1, :], labelled[:, :, 0], labelled[:, :, -1]):
        outside[edge] = True
    outside[0] = False
    return ~outside[labelled]


def _block_mean(data: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Average ``block`` (y, x) voxels of each slice (edges that do not fill a block are dropped)."""
    by, bx = block
    if by == bx == 1:
        return data
    z, y, x = data.shape
    trimmed = data[:, : y - y % by, : x - x % bx]
    return trimmed.reshape(z, y // by, by, x // bx, bx).mean(axis=(2, 4), dtype=np.float32)


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
    """(median foreground - median background) / robust background noise (1.4826 x MAD)."""
    foreground, background = values[mask], values[~mask]
    if background.size == 0:
        return 0.0
    centre = float(np.median(background))
    spread = 1.4826 * float(np.median(np.abs(background - centre)))
    difference = float(np.median(foreground)) - centre
    if spread == 0.0:
        return float("inf") if difference > 0 else 0.0
    return difference / spread
