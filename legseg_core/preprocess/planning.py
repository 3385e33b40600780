"""Planning the patches of one scan: parts, legs, split columns, crop boxes and intensity windows.

The plan depends on the image only, never on labels, so training patches and inference patches
of the same scan are cut identically. Boxes are found on the coarse body mask, widened by
``margin_mm``, kept inside the scan and the leg's own columns where they fit, and made square
in mm (``keep_aspect``) so that y and x are zoomed alike.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from legseg_core.errors import ImageValueError, PreprocessingError
from legseg_core.io import Volume
from legseg_core.preprocess.config import PreprocessConfig
from legseg_core.preprocess.legs import LegLayout, find_legs, leg_extent, part_split
from legseg_core.preprocess.mask import BodyMask, body_mask
from legseg_core.preprocess.parts import split_slices
from legseg_core.preprocess.plan import PatchPlan, PatchRecord, Range

logger = logging.getLogger(__name__)


def plan_patches(volume: Volume, config: PreprocessConfig | None = None, *, body: BodyMask | None = None) -> PatchPlan:
    """Find the legs of a ``[z, y, x]`` scan and plan its patches; PreprocessingError if it cannot be done.

    ``body`` is the scan's body mask when the caller has found it already (with the same config).
    """
    config = config or PreprocessConfig()
    data = volume.data
    check_scan(data, volume.name, config)
    if body is None:
        body = body_mask(data, volume.spacing, config, volume.name)
    layout = find_legs(body, config, volume.name, volume.metadata.get("leg_side"))
    parts = split_slices(data.shape[0], config)
    windows = _intensity_windows(data, parts, config)
    records, splits = [], []
    for index, (start, stop) in enumerate(parts):
        split = _full_split(body, layout, start, stop, data.shape[2])
        splits.append(split)
        for side in layout.sides:
            box_y, box_x, columns = _leg_box(body, volume, config, (start, stop), side, split)
            window = windows[index] if config.normalise_scope != "patch" else _patch_window(
                data[start:stop], box_y, box_x, columns, config)
            records.append(PatchRecord(side, index, side == "left" and config.mirror_left, (start, stop),
                                       box_y, box_x, columns, window))
    logger.info("%s: %d leg(s) %s, %d part(s), %d patches", volume.name, len(layout.sides),
                "/".join(layout.sides), len(parts), len(records))
    return PatchPlan(volume.name, tuple(data.shape), tuple(volume.spacing), layout.sides, tuple(parts),
                     tuple(splits), tuple(records), config, side_guessed=layout.side_guessed)


def check_scan(data: np.ndarray, name: str, config: PreprocessConfig) -> None:
    """Refuse a scan that is not 3D, has non-finite voxels, or is too small for the patch grid.

    The rule: at least ``min_slices`` slices (8 by default, so a part is never stretched more
    than 2.5 times along z) and ``min_in_plane`` voxels along y and x (32 by default).
    """
    if data.ndim != 3:
        raise PreprocessingError(f"{name}: a scan for patches must be 3D [z, y, x], got shape {data.shape}")
    z, y, x = data.shape
    if z < config.min_slices or min(y, x) < config.min_in_plane:
        raise PreprocessingError(
            f"{name}: scan of shape {data.shape} (z, y, x) is too small for the patch grid: it needs at least "
            f"{config.min_slices} slices and {config.min_in_plane} x {config.min_in_plane} voxels in-plane")
    if not (np.isfinite(data.min()) and np.isfinite(data.max())):
        raise ImageValueError(f"{name}: the scan holds NaN or infinite voxels")


def _full_split(body: BodyMask, layout: LegLayout, start: int, stop: int, width: int) -> int | None:
    """The scan column where the left leg's columns begin in this part (None for one leg)."""
    coarse = part_split(body, layout, start, stop)
    if coarse is None:
        return None
    block = body.block[1]
    return min(width, coarse * block + block // 2)


def _leg_box(body: BodyMask, volume: Volume, config: PreprocessConfig, part: Range, side: str,
             split: int | None) -> tuple[Range, Range, Range]:
    """Box rows, box columns and the leg's own columns (scan voxels) for one leg in one part."""
    _, height, width = volume.shape
    columns = (0, width) if split is None else ((0, split) if side == "right" else (split, width))
    if not config.crop_background:
        rows, cols = (0, height), columns
    else:
        rows, cols = _cropped(body, part, columns, (height, width))
        rows, cols = _widen(rows, cols, volume.spacing, config.margin_mm, (0, height), columns)
    if config.keep_aspect:
        rows, cols = _square(rows, cols, volume.spacing, (0, height), columns)
    return rows, cols, columns


def _cropped(body: BodyMask, part: Range, columns: Range, shape: tuple[int, int]) -> tuple[Range, Range]:
    """The mask's bounding rows and columns (scan voxels) in a part, else over the whole scan."""
    by, bx = body.block
    coarse_columns = (math.ceil(columns[0] / bx), max(math.ceil(columns[0] / bx) + 1, columns[1] // bx))
    extent = leg_extent(body, part[0], part[1], coarse_columns) or leg_extent(
        body, 0, body.mask.shape[0], coarse_columns)
    if extent is None:
        return (0, shape[0]), columns
    y0, y1, x0, x1 = extent
    return (y0 * by, min(shape[0], y1 * by)), (max(columns[0], x0 * bx), min(columns[1], x1 * bx))


def _widen(rows: Range, cols: Range, spacing: tuple[float, float, float], margin_mm: float,
           row_limits: Range, col_limits: Range) -> tuple[Range, Range]:
    """Add ``margin_mm`` on every side, without leaving the scan rows or the leg's columns."""
    my, mx = math.ceil(margin_mm / spacing[1]), math.ceil(margin_mm / spacing[2])
    return ((max(row_limits[0], rows[0] - my), min(row_limits[1], rows[1] + my)),
            (max(col_limits[0], cols[0] - mx), min(col_limits[1], cols[1] + mx)))


def _square(rows: Range, cols: Range, spacing: tuple[float, float, float], row_limits: Range,
            col_limits: Range) -> tuple[Range, Range]:
    """Grow the shorter side (in mm) to the longer; stay within the limits where the box fits."""
    side_mm = max((rows[1] - rows[0]) * spacing[1], (cols[1] - cols[0]) * spacing[2])
    return (_grow(rows, max(rows[1] - rows[0], round(side_mm / spacing[1])), row_limits),
            _grow(cols, max(cols[1] - cols[0], round(side_mm / spacing[2])), col_limits))


def _grow(span: Range, size: int, limits: Range) -> Range:
    """A range of ``size`` centred on ``span``, shifted inside ``limits`` if it fits there."""
    start = (span[0] + span[1] - size) // 2
    if size <= limits[1] - limits[0]:
        start = min(max(start, limits[0]), limits[1] - size)
    return start, start + size


def _intensity_windows(data: np.ndarray, parts: list[Range], config: PreprocessConfig) -> list[tuple[float, float]]:
    """The ``(low, high)`` window of each part (scope ``part``) or of the whole scan (``scan``)."""
    if config.normalise_scope == "patch":
        return [(0.0, 0.0)] * len(parts)
    if config.normalise_percentiles == (0.0, 100.0):
        lows, highs = data.min(axis=(1, 2)), data.max(axis=(1, 2))  # one pass serves every part
        if config.normalise_scope == "scan":
            return [(float(lows.min()), float(highs.max()))] * len(parts)
        return [(float(lows[a:b].min()), float(highs[a:b].max())) for a, b in parts]
    if config.normalise_scope == "scan":
        return [_window(data, config)] * len(parts)
    return [_window(data[start:stop], config) for start, stop in parts]


def _patch_window(slab: np.ndarray, rows: Range, cols: Range, columns: Range,
                  config: PreprocessConfig) -> tuple[float, float]:
    """The window of the scan voxels inside one patch box (scope ``patch``)."""
    y0, y1 = max(rows[0], 0), min(rows[1], slab.shape[1])
    x0, x1 = max(cols[0], columns[0], 0), min(cols[1], columns[1], slab.shape[2])
    return _window(slab[:, y0:y1, x0:x1], config)


def _window(values: np.ndarray, config: PreprocessConfig) -> tuple[float, float]:
    """Percentiles ``normalise_percentiles`` of ``values`` (min and max by default)."""
    if values.size == 0:
        return (0.0, 0.0)
    low, high = config.normalise_percentiles
    if (low, high) == (0.0, 100.0):
        return float(values.min()), float(values.max())
    return tuple(float(v) for v in np.percentile(values, [low, high]))  # type: ignore[return-value]
