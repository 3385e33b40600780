"""Separable resampling on voxel centres: linear for images and probabilities, nearest for labels.

Both directions use the same convention: output voxel ``i`` of ``n_out`` sits at input position
``(i + 0.5) * n_in / n_out - 0.5`` (voxel centres aligned, edges clamped), so resampling a box
onto the patch grid and back again lands every voxel where it started. Each axis is done in
one vectorised gather, which keeps the cost near that of a copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def source_positions(n_in: int, n_out: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Input positions (voxels) of output voxels ``start..stop`` when ``n_in`` voxels become ``n_out``."""
    stop = n_out if stop is None else stop
    positions = (np.arange(start, stop, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    return np.clip(positions, 0.0, n_in - 1.0)


def resize_linear(array: np.ndarray, sizes: Sequence[int], axes: Sequence[int],
                  windows: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
    """Linearly resample ``array`` so that axis ``axes[k]`` has ``sizes[k]`` voxels.

    ``windows[k] = (start, stop)`` computes only output voxels ``start..stop`` of that axis (the
    part of a box that lies inside the scan), so nothing is interpolated only to be thrown away.
    The result keeps the floating dtype of ``array`` (float32 stays float32).
    """
    result = array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float32)
    windows = list(windows) if windows is not None else [(0, size) for size in sizes]
    # The axis that shrinks most goes first, so the later gathers work on fewer voxels.
    order = sorted(range(len(axes)), key=lambda k: (windows[k][1] - windows[k][0]) / array.shape[axes[k]])
    for k in order:
        axis, size = axes[k], sizes[k]
        n_in = result.shape[axis]
        start, stop = windows[k]
        if n_in == size and (start, stop) == (0, size):
            continue
        positions = source_positions(n_in, size, start, stop)
        lower = np.floor(positions).astype(np.intp)
        upper = np.minimum(lower + 1, n_in - 1)
        weight = (positions - lower).astype(result.dtype)
        shape = [1] * result.ndim
        shape[axis] = len(weight)
        low_values = np.take(result, lower, axis=axis)
        high_values = np.take(result, upper, axis=axis)
        high_values -= low_values
        high_values *= weight.reshape(shape)
        low_values += high_values
        result = low_values
    return result


def resize_nearest(array: np.ndarray, sizes: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resampling (for labels): the input voxel whose extent holds each output centre."""
    result = array
    for axis, size in zip(axes, sizes):
        n_in = result.shape[axis]
        if n_in == size:
            continue
        centres = (np.arange(size, dtype=np.float64) + 0.5) * (n_in / size)
        result = np.take(result, np.minimum(np.floor(centres).astype(np.intp), n_in - 1), axis=axis)
    return result
