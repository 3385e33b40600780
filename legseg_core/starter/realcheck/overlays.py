"""Overlay pictures of the check: axial slices of a scan with the predicted muscles.

Three levels are chosen along z among the slices that hold the legs (the preprocessing's body
mask): 15%, 50% and 85% of that extent; the report adds a slice where a flagged left/right ratio differs most
(:func:`legseg_core.starter.realcheck.report.flag_slices`). A scan whose legs span at least :data:`WHOLE_CALF_MM` reaches
from the ankle to below the knee, and the levels are named so; a shorter slab reaches neither,
and its levels are named as parts of the slab. Slices ``data[k]`` of ``[z, y, x]`` arrays are
shown in radiological convention (anterior up, patient's right on the left) without flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from legseg_core.atomic import write_atomically
from legseg_core.errors import ImageShapeError, InputPathError
from legseg_core.evaluation.plots import _pyplot
from legseg_core.labels import MUSCLES

#: Fractions of the legs' extent along z (inferior to superior) that the three slices show.
LEVEL_FRACTIONS: tuple[float, ...] = (0.15, 0.50, 0.85)
#: Legs spanning at least this many mm along z reach from the ankle to below the knee.
WHOLE_CALF_MM = 300.0
WHOLE_CALF_LEVELS = ("near the ankle", "mid-calf", "below the knee")
SLAB_LEVELS = ("slab, inferior end", "slab, middle", "slab, superior end")
#: Opacity of the muscle colours over the grey image.
LABEL_ALPHA = 0.5


@dataclass(frozen=True)
class SliceLevel:
    """One shown axial slice: its name, its index ``k`` along z and its height in mm above slice 0."""

    name: str
    index: int
    height_mm: float


@dataclass(frozen=True)
class LevelChoice:
    """The three slices of a scan and a sentence on which anatomical levels the scan reaches."""

    levels: tuple[SliceLevel, ...]
    coverage: str


def choose_levels(leg_slices: np.ndarray, slice_mm: float) -> LevelChoice:
    """Three slices at :data:`LEVEL_FRACTIONS` of the slices that hold the legs (bool ``[z]``)."""
    found = np.flatnonzero(np.asarray(leg_slices, dtype=bool))
    if found.size == 0:
        raise ImageShapeError("no slice holds a leg; cannot choose slices to show")
    first, last = int(found[0]), int(found[-1])
    extent_mm = (last - first + 1) * slice_mm
    whole = extent_mm >= WHOLE_CALF_MM
    names = WHOLE_CALF_LEVELS if whole else SLAB_LEVELS
    levels = tuple(SliceLevel(name, index, index * slice_mm) for name, index in
                   zip(names, (first + int(round(f * (last - first))) for f in LEVEL_FRACTIONS)))
    coverage = (f"the legs span {extent_mm:.0f} mm along z: ankle to below the knee" if whole else
                f"the legs span {extent_mm:.0f} mm along z (under {WHOLE_CALF_MM:.0f} mm): a slab that reaches "
                f"neither the ankle nor the knee; the levels are the slab's inferior end, middle and superior end")
    return LevelChoice(levels, coverage)


def label_rgba(labels: np.ndarray, alpha: float = LABEL_ALPHA) -> np.ndarray:
    """A 2D label slice ``[y, x]`` as RGBA floats ``[y, x, 4]`` in the muscles' colours, background clear."""
    table = np.zeros((256, 4), dtype=float)
    for muscle in MUSCLES:
        table[muscle.id] = (*(c / 255.0 for c in muscle.color), alpha)
    return table[np.asarray(labels, dtype=np.uint8)]


def robust_window(image: np.ndarray) -> tuple[float, float]:
    """Grey window of a slice: its 1st to 99.5th percentile of the non-zero voxels (0..1 if none)."""
    values = np.asarray(image, dtype=float)
    values = values[values != 0]
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, (1.0, 99.5))
    return float(low), float(max(high, low + 1e-6))


def in_plane_box(mask: np.ndarray, block: tuple[int, int] = (1, 1), margin: int = 8,
                 shape: tuple[int, int] | None = None) -> tuple[slice, slice]:
    """The ``(y, x)`` box of a ``[z, y, x]`` mask's foreground over all slices, in scan voxels
    (``block`` scan voxels per mask voxel), grown by ``margin`` voxels; the whole slice if empty."""
    shape = shape or (mask.shape[1] * block[0], mask.shape[2] * block[1])
    rows, cols = np.flatnonzero(mask.any(axis=(0, 2))), np.flatnonzero(mask.any(axis=(0, 1)))
    if rows.size == 0 or cols.size == 0:
        return slice(0, shape[0]), slice(0, shape[1])
    return (slice(max(0, int(rows[0]) * block[0] - margin), min(shape[0], (int(rows[-1]) + 1) * block[0] + margin)),
            slice(max(0, int(cols[0]) * block[1] - margin), min(shape[1], (int(cols[-1]) + 1) * block[1] + margin)))


def write_overlay(image: np.ndarray, labels: np.ndarray, levels: tuple[SliceLevel, ...], path: str | Path, *,
                  spacing: tuple[float, float, float], title: str, split_columns: tuple[int, ...] = (),
                  box: tuple[slice, slice] | None = None) -> Path:
    """A PNG of the slices side by side: grey image, muscles half transparent, a legend, the leg split
    dashed (``split_columns[k]`` per slice, when given); ``image`` and ``labels`` are ``[z, y, x]``;
    ``box`` is the in-plane ``(y, x)`` part shown (default: the whole slice)."""
    if np.shape(image) != np.shape(labels):
        raise ImageShapeError(f"image of shape {np.shape(image)} does not fit the labels {np.shape(labels)}")
    path = Path(path)
    if not path.parent.is_dir():
        raise InputPathError(f"{path}: the folder {path.parent} does not exist")
    plt = _pyplot()
    aspect = spacing[1] / spacing[2]
    box = box or (slice(0, labels.shape[1]), slice(0, labels.shape[2]))
    image, labels = np.asarray(image)[:, box[0], box[1]], np.asarray(labels)[:, box[0], box[1]]
    height, width = labels.shape[1:]
    panel = 4.5
    figure, axes = plt.subplots(1, len(levels), figsize=(panel * len(levels), panel * aspect * height / width + 1.3),
                                dpi=110, squeeze=False)
    for axis, level in zip(axes[0], levels):
        _draw_slice(axis, image[level.index], labels[level.index], aspect,
                    split_columns[level.index] - box[1].start if split_columns else None)
        axis.set_title(f"{level.name}: slice {level.index}/{labels.shape[0] - 1} (z {level.height_mm:.0f} mm)",
                       fontsize="small")
    handles = [plt.Rectangle((0, 0), 1, 1, color=[c / 255.0 for c in m.color]) for m in MUSCLES]
    figure.legend(handles, [f"{m.id} {m.abbr}" for m in MUSCLES], loc="lower center", ncol=len(MUSCLES),
                  fontsize="small", frameon=False)
    figure.suptitle(title, fontsize="medium")
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    try:
        write_atomically(path, lambda handle: figure.savefig(handle, format="png"))
    except OSError as error:
        raise InputPathError(f"{path}: cannot write the picture ({error.strerror})") from error
    finally:
        plt.close(figure)
    return path


def _draw_slice(axis, image: np.ndarray, labels: np.ndarray, aspect: float, split: int | None) -> None:
    """One panel: grey image, muscle colours, R and L marks, and the leg split line if inside the slice."""
    low, high = robust_window(image)
    axis.imshow(image, cmap="gray", vmin=low, vmax=high, aspect=aspect, interpolation="nearest")
    axis.imshow(label_rgba(labels), aspect=aspect, interpolation="nearest")
    width = labels.shape[1]
    if split is not None and 0 < split < width:
        axis.axvline(split - 0.5, color="white", linestyle="--", linewidth=0.8, alpha=0.7)
    for x, mark in ((0.02, "R"), (0.98, "L")):
        axis.text(x, 0.97, mark, transform=axis.transAxes, color="white", ha="center", va="top", fontsize="small")
    axis.set_axis_off()
