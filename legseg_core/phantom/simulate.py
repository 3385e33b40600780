"""From anatomy to voxels: supersampled tissue classes reduced to the acquisition grid.

Each leg is rasterised in its own box of the grid, ``supersample`` x ``supersample`` points per
voxel in-plane and ``slice_supersample`` sub-slices across the slice thickness. The points of
each voxel are counted per tissue class; the counts give the voxel's tissue fractions (partial
volume), its label (the most frequent class, a labelled muscle only if it wins) and, with the
fat fraction of the muscles inside it, the water and fat signal of every pulse sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from legseg_core.labels import MUSCLE_ABBRS
from legseg_core.phantom.anatomy import leg_tissue
from legseg_core.phantom.disease import INFILTRATED_MUSCLES, MAX_FAT_FRACTION, DiseaseState
from legseg_core.phantom.grid import Grid, leg_half_extent, sub_positions
from legseg_core.phantom.landmarks import MUSCLE_CLASS_BY_ABBR, leg_landmarks
from legseg_core.phantom.subject import LegParameters
from legseg_core.phantom.tissue import AIR, FAT, LABEL_OF_CLASS, MUSCLE_FIRST, NUM_TISSUE_CLASSES

CHUNK_SUBSAMPLES = 400_000  # supersampled points per chunk of slices
MUSCLE_GRAIN = 0.05  # relative standard deviation of the muscle signal's fine grain


@dataclass(frozen=True, eq=False)
class Simulation:
    """Noise-free result on the acquisition grid (all arrays ``[z, y, x]``)."""

    labels: np.ndarray  # uint8 label ids 0..7
    tissue: np.ndarray  # uint8 most frequent tissue class of each voxel (legseg_core.phantom.tissue)
    fat_fraction: np.ndarray  # float32 fat fraction of the muscle tissue in each voxel (0 outside muscle)
    signals: dict[str, tuple[np.ndarray, np.ndarray]]  # table name -> (water, fat) float32
    muscle_fat_fraction: dict[str, float]  # mean fat fraction over each labelled muscle


@dataclass(frozen=True, eq=False)
class _Box:
    """The part of the grid that one leg covers: index ranges and sub-sample positions (mm)."""

    ys: slice
    xs: slice
    x_sub: np.ndarray
    y_sub: np.ndarray


def simulate(legs: tuple[LegParameters, ...], grid: Grid, disease: DiseaseState,
             tables: dict[str, tuple[np.ndarray, np.ndarray]], textures: dict[str, np.ndarray]) -> Simulation:
    """Rasterise the legs, reduce to the grid and compute water and fat signal maps per table.

    ``tables`` maps a name to the (water, fat) signal per unit volume of each tissue class
    (:func:`legseg_core.phantom.contrast.class_signals`); ``textures`` holds the disease's
    random texture fields by name.
    """
    shape = grid.shape
    labels = np.zeros(shape, dtype=np.uint8)
    tissue = np.zeros(shape, dtype=np.uint8)
    fat_fraction = np.zeros(shape, dtype=np.float32)
    signals = {name: (np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)) for name in tables}
    for leg in legs:
        for part, fractions, box in _leg_fractions(leg, grid):
            region = (part, box.ys, box.xs)
            block = fractions.shape[:3]
            dominant = fractions.argmax(axis=-1).astype(np.uint8)
            labels[region] = np.maximum(labels[region], LABEL_OF_CLASS[dominant])
            tissue[region] = np.where(dominant != AIR, dominant, tissue[region])
            flat = fractions.reshape(-1, NUM_TISSUE_CLASSES)
            muscle, fat_in_muscle, spared = _muscle_fat(leg, grid, disease, textures, region, flat)
            fat_fraction[region] += (fat_in_muscle / np.maximum(muscle, 1e-6)).reshape(block)
            spared *= _grain(textures, region)
            for name, (water, fat) in signals.items():
                for target, table in zip((water, fat), tables[name]):
                    target[region] += _signal(flat, spared, fat_in_muscle, table).reshape(block)
    return Simulation(labels, tissue, np.clip(fat_fraction, 0, 1), signals, _mean_per_muscle(labels, fat_fraction))


def _leg_fractions(leg: LegParameters, grid: Grid) -> Iterator[tuple[slice, np.ndarray, _Box]]:
    """Tissue fractions ``[z, y, x, class]`` (float32) of one leg's box, chunk of slices by chunk."""
    box = _leg_box(leg, grid)
    if box is None:
        return
    factor, slice_factor = grid.supersample, grid.slice_supersample
    z_sub = sub_positions(grid.z_mm, grid.spacing[0], slice_factor)
    marks = leg_landmarks(leg, z_sub)
    ny, nx = box.y_sub.size // factor, box.x_sub.size // factor
    per_slice = box.y_sub.size * box.x_sub.size * slice_factor
    step = max(1, CHUNK_SUBSAMPLES // per_slice)
    for first in range(0, grid.shape[0], step):
        part = slice(first, min(grid.shape[0], first + step))
        classes = leg_tissue(leg, marks.take(slice(part.start * slice_factor, part.stop * slice_factor)),
                             box.x_sub, box.y_sub)
        counts = _count(classes, part.stop - part.start, ny, nx, slice_factor, factor)
        yield part, counts * np.float32(1 / (factor * factor * slice_factor)), box


def _leg_box(leg: LegParameters, grid: Grid) -> _Box | None:
    """The index ranges of the grid that can hold this leg, with their sub-sample positions."""
    t = leg.heights(grid.z_mm)
    half_x, half_y = leg_half_extent(leg, t)
    centre_x = leg.centre_x + leg.tilt_x * (t - 0.5)
    centre_y = leg.centre_y + leg.tilt_y * (t - 0.5)
    xs = _index_range(grid.x_mm, float(centre_x.min()) - half_x, float(centre_x.max()) + half_x)
    ys = _index_range(grid.y_mm, float(centre_y.min()) - half_y, float(centre_y.max()) + half_y)
    if xs.stop <= xs.start or ys.stop <= ys.start:
        return None
    factor = grid.supersample
    return _Box(ys, xs, sub_positions(grid.x_mm[xs], grid.spacing[2], factor),
                sub_positions(grid.y_mm[ys], grid.spacing[1], factor))


def _index_range(centres: np.ndarray, low: float, high: float) -> slice:
    """Indices of the voxel centres (ascending, evenly spaced) that lie within [low, high] mm, plus one."""
    step = float(centres[1] - centres[0]) if centres.size > 1 else 1.0
    first = int(np.clip(np.floor((low - centres[0]) / step) - 1, 0, centres.size))
    last = int(np.clip(np.ceil((high - centres[0]) / step) + 2, 0, centres.size))
    return slice(first, last)


def _count(classes: np.ndarray, nz: int, ny: int, nx: int, slice_factor: int, factor: int) -> np.ndarray:
    """Per-voxel class counts ``[z, y, x, class]`` of a supersampled class array."""
    kz = (np.arange(nz * slice_factor, dtype=np.int32) // slice_factor)[:, None, None] * (ny * nx)
    ky = (np.arange(ny * factor, dtype=np.int32) // factor)[None, :, None] * nx
    kx = (np.arange(nx * factor, dtype=np.int32) // factor)[None, None, :]
    key = (kz + ky + kx) * NUM_TISSUE_CLASSES + classes
    counts = np.bincount(key.ravel(), minlength=nz * ny * nx * NUM_TISSUE_CLASSES)
    return counts.reshape(nz, ny, nx, NUM_TISSUE_CLASSES).astype(np.float32)


def _muscle_fat(leg: LegParameters, grid: Grid, disease: DiseaseState, textures: dict[str, np.ndarray],
                region: tuple[slice, slice, slice], flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Muscle fraction of each voxel, the part of it replaced by fat, and the spared part weighted by
    each muscle's relative signal (three float32 arrays, flat)."""
    muscle = flat[:, MUSCLE_FIRST:].sum(axis=1)
    fat_in_muscle = np.zeros_like(muscle)
    spared = np.zeros_like(muscle)
    t = leg.heights(grid.z_mm[region[0]])
    along = np.float32(1) + np.float32(disease.distal_gradient) * (0.5 - t).astype(np.float32)
    along = np.broadcast_to(along[:, None, None], tuple(s.stop - s.start for s in region)).ravel()
    fields = {name: field[region].ravel() for name, field in textures.items()}
    for abbr in INFILTRATED_MUSCLES:
        share = flat[:, MUSCLE_CLASS_BY_ABBR[abbr]]
        where = np.flatnonzero(share)
        if where.size == 0:
            continue
        local = disease.fat_fraction[abbr] * along[where]
        texture = fields.get(disease.texture[abbr])
        if texture is not None:
            local += np.float32(disease.spread[abbr]) * texture[where]
        fat = share[where] * np.clip(local, 0.0, MAX_FAT_FRACTION)
        fat_in_muscle[where] += fat
        spared[where] += (share[where] - fat) * np.float32(leg.muscle_signal.get(abbr, 1.0))
    return muscle, fat_in_muscle, spared


def _grain(textures: dict[str, np.ndarray], region: tuple[slice, slice, slice]) -> np.ndarray | float:
    """A faint multiplicative grain of muscle tissue (fibre bundles, small vessels), flat."""
    field = textures.get("marbled")
    if field is None:
        return 1.0
    return 1 + np.float32(MUSCLE_GRAIN) * field[region].ravel()


def _signal(flat: np.ndarray, spared: np.ndarray, fat_in_muscle: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Signal of each voxel: non-muscle tissue, spared muscle, and adipose tissue inside muscle."""
    table = table.astype(np.float32)
    other = flat[:, :MUSCLE_FIRST] @ table[:MUSCLE_FIRST]
    return other + spared * table[MUSCLE_FIRST] + fat_in_muscle * table[FAT]


def _mean_per_muscle(labels: np.ndarray, fat_fraction: np.ndarray) -> dict[str, float]:
    """Mean fat fraction over the voxels of each labelled muscle (NaN for a muscle not in view)."""
    inside = labels > 0
    ids = labels[inside]
    sums = np.bincount(ids, weights=fat_fraction[inside], minlength=len(MUSCLE_ABBRS) + 1)
    counts = np.bincount(ids, minlength=len(MUSCLE_ABBRS) + 1)
    return {abbr: float(sums[i + 1] / counts[i + 1]) if counts[i + 1] else float("nan")
            for i, abbr in enumerate(MUSCLE_ABBRS)}
