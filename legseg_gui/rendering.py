"""Slice rendering with lookup tables: window/level to grey, labels to RGBA, label outlines.

Pure numpy and vectorised (no per-pixel Python): one 320 x 320 slice renders in about a
millisecond. Slices are 2D ``[y, x]`` arrays of one axial slice; RGBA arrays are ``[y, x, 4]``
uint8, straight (not premultiplied) alpha.
"""

from __future__ import annotations

import numpy as np

from legseg_core.labels import MUSCLES, OVERLAP_CLASSES, LabelClass


def lookup_table(classes: tuple[LabelClass, ...]) -> np.ndarray:
    """A (256, 4) uint8 RGBA table indexed by any uint8 value: the classes' colours, else transparent."""
    table = np.zeros((256, 4), dtype=np.uint8)
    for label in classes:
        table[label.id] = (*label.color, 255)
    return table


#: The muscles in the paper's colours (Figure 3), and the Figure 4 overlap classes.
MUSCLE_TABLE = lookup_table(MUSCLES)
OVERLAP_TABLE = lookup_table(OVERLAP_CLASSES)


def auto_window(data: np.ndarray, *, low_percentile: float = 0.5, high_percentile: float = 99.5) -> tuple[float, float]:
    """A default (window, level) spanning the volume's 0.5th to 99.5th intensity percentiles.

    Percentiles are taken on a regular subsample of at most about a million voxels, so this
    stays fast on big volumes. The window is never below a tiny positive value.
    """
    step = max(1, int(round((data.size / 1e6) ** (1 / 3))))
    sample = np.asarray(data[::step, ::step, ::step], dtype=np.float64)
    low, high = np.percentile(sample, [low_percentile, high_percentile]) if sample.size else (0.0, 1.0)
    window = max(float(high - low), 1e-6)
    return window, float(low) + window / 2


def window_to_gray(image: np.ndarray, window: float, level: float) -> np.ndarray:
    """Map intensities to uint8 grey: ``level - window/2`` -> 0 and ``level + window/2`` -> 255."""
    scale = np.float32(255.0 / max(window, 1e-12))
    gray = (image.astype(np.float32, copy=False) - np.float32(level - window / 2)) * scale
    np.clip(gray, 0, 255, out=gray)
    return gray.astype(np.uint8)


def outline_mask(values: np.ndarray) -> np.ndarray:
    """Non-zero pixels with a 4-neighbour of another value (or on the slice's edge)."""
    padded = np.pad(values, 1, mode="constant")
    centre = padded[1:-1, 1:-1]
    edge = ((centre != padded[:-2, 1:-1]) | (centre != padded[2:, 1:-1])
            | (centre != padded[1:-1, :-2]) | (centre != padded[1:-1, 2:]))
    return edge & (values != 0)


def overlay_rgba(values: np.ndarray, table: np.ndarray, *, outline: bool = False) -> np.ndarray:
    """The RGBA overlay of a label slice through ``table``: filled, or outlines only (other pixels transparent).

    The table is looked up as one 32-bit word per entry, which is about ten times faster than
    indexing four bytes.
    """
    words = np.ascontiguousarray(table).view(np.uint32)[:, 0][values]
    if outline:
        words *= outline_mask(values)
    return words.view(np.uint8).reshape(*values.shape, 4)


#: Alpha of the other muscles while one is highlighted (of 255).
DIMMED_ALPHA = 60


def muscle_table(hidden: frozenset[int] = frozenset(), highlight: int = 0) -> np.ndarray:
    """The muscle table with hidden muscles transparent and, while one is highlighted, the others dimmed."""
    if not hidden and not highlight:
        return MUSCLE_TABLE
    table = MUSCLE_TABLE.copy()
    if highlight:
        dim = np.ones(len(table), bool)
        dim[[0, highlight]] = False
        table[dim, 3] = np.minimum(table[dim, 3], DIMMED_ALPHA)
    table[list(hidden), 3] = 0
    return table


def overlap_rgba(overlap: np.ndarray, labels: np.ndarray | None, *, outline: bool = False,
                 table: np.ndarray = MUSCLE_TABLE) -> np.ndarray:
    """The overlap map's RGBA with the muscles' outlines drawn over it in their own colours.

    The outlines replace the overlap colour on their pixels (never a blend of the two), so the
    map tells where the model and the reference disagree and the outlines which muscle is which.
    """
    rgba = overlay_rgba(overlap, OVERLAP_TABLE, outline=outline)
    if labels is not None:
        edge = outline_mask(labels) & (table[labels, 3] > 0)
        rgba[edge] = table[labels[edge]]
    return rgba
