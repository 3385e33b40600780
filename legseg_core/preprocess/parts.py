"""Splitting z into parts (paper section 2.4): 20 to 21 slices, three slices of overlap.

A scan of at most ``single_part_max_slices`` slices (25) is one part. A longer scan is split
into the fewest parts of at most ``part_slices[1]`` slices (21) that overlap by at least
``overlap_slices`` (3); all parts share one length, never below ``part_slices[0]`` (20), and
their starts are spread evenly, so the first part begins at slice 0 and the last ends at the
last slice. Each part is later resampled to ``patch_shape[0]`` slices.
"""

from __future__ import annotations

import math

import numpy as np

from legseg_core.preprocess.config import PreprocessConfig


def split_slices(slices: int, config: PreprocessConfig) -> list[tuple[int, int]]:
    """``(start, stop)`` slice ranges covering ``0..slices`` as the config asks (stop exclusive)."""
    if slices <= config.single_part_max_slices:
        return [(0, slices)]
    shortest, longest = config.part_slices
    overlap = config.overlap_slices
    count = max(1, math.ceil((slices - overlap) / (longest - overlap)))
    length = min(longest, max(shortest, math.ceil((slices + (count - 1) * overlap) / count)))
    if length >= slices:
        return [(0, slices)]
    starts = np.rint(np.linspace(0, slices - length, count)).astype(int)
    return [(int(start), int(start) + length) for start in starts]
