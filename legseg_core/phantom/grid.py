"""Acquisition presets and the voxel grid of a case: protocols A and B, sizes, field of view.

Protocol A covers the whole lower leg with 90 slices (T1-weighted by default); protocol B is a
slab of 25 or 45 slices whose upper edge lies a fixed distance (:data:`SLAB_OFFSET_MM`) below
the tibial plateau (Dixon by default), as in the paper's section 2.1. In-plane voxels are
0.5 to 1.5 mm and slices 3 to 10 mm at the default size; ``size="tiny"`` keeps the protocol's
coverage on a coarse grid for unit tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from legseg_core.phantom.foot import foot_reach_mm
from legseg_core.phantom.profiles import profile
from legseg_core.phantom.subject import LegParameters

#: Distance (mm) from the tibial plateau down to the upper edge of a protocol B slab.
SLAB_OFFSET_MM = 60.0


@dataclass(frozen=True)
class Protocol:
    """An acquisition preset: slice count, default contrasts and in-plane voxel size ranges (mm)."""

    name: str
    description: str
    slices: int
    contrasts: tuple[str, ...]
    pixel_mm_both: tuple[float, float]  # bilateral field of view
    pixel_mm_single: tuple[float, float]  # one leg


PROTOCOLS: dict[str, Protocol] = {
    "A": Protocol("A", "whole lower leg, 90 slices, T1-weighted", 90, ("t1w",), (1.0, 1.25), (0.6, 0.8)),
    "B": Protocol("B", f"25 or 45 slices from {SLAB_OFFSET_MM:g} mm below the tibial plateau, Dixon", 45,
                  ("dixon_water", "dixon_fat"), (1.2, 1.5), (0.9, 1.2)),
}


@dataclass(frozen=True)
class SizePreset:
    """How finely a case is simulated: in-plane pixel scale or a fixed matrix, supersampling."""

    name: str
    pixel_scale: float  # multiplies the protocol's pixel size (ignored with a fixed matrix)
    matrix_both: tuple[int, int] | None  # (y, x) for a bilateral case; None = from the field of view
    matrix_single: tuple[int, int] | None
    slices: int | None  # default slice count (None = the protocol's)
    supersample: int  # in-plane sub-samples per voxel edge
    slice_supersample: int  # sub-slices per slice


SIZES: dict[str, SizePreset] = {
    "tiny": SizePreset("tiny", 1.0, (64, 96), (48, 48), 20, 2, 2),
    "default": SizePreset("default", 1.0, None, None, None, 2, 2),
    "fine": SizePreset("fine", 0.7, None, None, None, 2, 2),
}


@dataclass(frozen=True, eq=False)
class Grid:
    """The acquisition grid: canonical ``[z, y, x]`` shape, voxel centres in world mm."""

    x_mm: np.ndarray  # (X,) voxel centres, patient right -> left
    y_mm: np.ndarray  # (Y,) anterior -> posterior
    z_mm: np.ndarray  # (Z,) inferior -> superior, slice centres
    spacing: tuple[float, float, float]  # (z, y, x) mm; z spacing is the slice thickness (no gap)
    supersample: int
    slice_supersample: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """Canonical shape ``(z, y, x)``."""
        return (self.z_mm.size, self.y_mm.size, self.x_mm.size)

    @property
    def origin(self) -> tuple[float, float, float]:
        """LPS position (mm) of the centre of voxel (0, 0, 0), as (x, y, z)."""
        return (float(self.x_mm[0]), float(self.y_mm[0]), float(self.z_mm[0]))


def sub_positions(centres: np.ndarray, spacing: float, factor: int) -> np.ndarray:
    """Sub-sample positions (mm) of voxels, ``factor`` per voxel, in voxel order."""
    offsets = ((np.arange(factor) + 0.5) / factor - 0.5) * spacing
    return (np.asarray(centres, dtype=float)[:, None] + offsets[None, :]).ravel()


def plan_grid(rng: np.random.Generator, protocol: str, slices: int | None, legs: tuple[LegParameters, ...],
              size: str, knee_mm: float = 0.0, foot_mm: float = 0.0) -> Grid:
    """The voxel grid of a case: the slab along the leg, then the in-plane field of view.

    ``knee_mm`` (protocol A) moves the top of the field of view that far above the tibial plateau,
    over the knee, and ``foot_mm`` its bottom that far below the ankle joint, over the foot.
    """
    preset = SIZES[size]
    plan = PROTOCOLS[protocol]
    count = slices if slices is not None else (preset.slices or plan.slices)
    z_mm, thickness = _slab(rng, protocol, count, legs[0], knee_mm, foot_mm)
    bilateral = len(legs) == 2
    low, high = plan.pixel_mm_both if bilateral else plan.pixel_mm_single
    pixel = float(rng.uniform(low, high)) * preset.pixel_scale
    x_range, y_range = _extent(legs, z_mm)
    x_fov = (x_range[1] - x_range[0]) * float(rng.uniform(1.08, 1.3))
    y_fov = max((y_range[1] - y_range[0]) * float(rng.uniform(1.1, 1.35)), 0.5 * x_fov if bilateral else 0.0)
    fixed = preset.matrix_both if bilateral else preset.matrix_single
    if fixed is not None:
        ny, nx = fixed
        pixel = max(x_fov / nx, y_fov / ny)
    else:
        nx, ny = (16 * math.ceil(fov / pixel / 16) for fov in (x_fov, y_fov))
    centre_x = sum(x_range) / 2 + _shift(rng, nx * pixel - (x_range[1] - x_range[0]))
    centre_y = sum(y_range) / 2 + _shift(rng, ny * pixel - (y_range[1] - y_range[0]))
    x_mm = centre_x + (np.arange(nx) - (nx - 1) / 2) * pixel
    y_mm = centre_y + (np.arange(ny) - (ny - 1) / 2) * pixel
    return Grid(x_mm, y_mm, z_mm, (thickness, pixel, pixel), preset.supersample, preset.slice_supersample)


def _shift(rng: np.random.Generator, room: float) -> float:
    """A random offset (mm) of the legs in the field of view that keeps them inside it."""
    half_room = max(room, 0.0) / 2
    return float(np.clip(rng.normal(0, 0.5), -0.9, 0.9)) * half_room


def _slab(rng: np.random.Generator, protocol: str, count: int, leg: LegParameters,
          knee_mm: float = 0.0, foot_mm: float = 0.0) -> tuple[np.ndarray, float]:
    """Slice centres (mm, inferior first) and thickness of protocol A (whole leg) or B (slab)."""
    if protocol == "A":
        above = float(rng.uniform(0.0, 0.04)) * leg.length_mm
        bottom = leg.ankle_z + (-foot_mm if foot_mm > 0 else above)
        below = float(rng.uniform(0.0, 0.03)) * leg.length_mm
        top = leg.plateau_z() + (knee_mm if knee_mm > 0 else -below)
        thickness = (top - bottom) / count
    else:
        thickness = (6.0 if count <= 30 else 4.0) * float(rng.uniform(0.95, 1.05))
        top = leg.plateau_z() - SLAB_OFFSET_MM
        bottom = max(top - count * thickness, leg.ankle_z + 0.02 * leg.length_mm)
        thickness = (top - bottom) / count
    return bottom + (np.arange(count) + 0.5) * thickness, float(thickness)


def _extent(legs: tuple[LegParameters, ...], z_mm: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """World x and y ranges (mm) that hold every leg over the slab."""
    xs, ys = [], []
    for leg in legs:
        t = leg.heights(z_mm)
        half_x, half_y = leg_half_extent(leg, t)
        cx = leg.centre_x + leg.tilt_x * (t - 0.5)
        cy = leg.centre_y + leg.tilt_y * (t - 0.5)
        xs += [float(cx.min()) - half_x, float(cx.max()) + half_x]
        ys += [float(cy.min()) - half_y, float(cy.max()) + half_y]
    return (min(xs), max(xs)), (min(ys), max(ys))


def leg_half_extent(leg: LegParameters, t: np.ndarray) -> tuple[float, float]:
    """Half-sizes (mm, x and y) of a box that holds the leg's cross-section at heights ``t``."""
    widest = float(np.max(profile("half_width", t))) * leg.girth * 1.1
    half_width = widest + sum(leg.warp[0:2]) + 2.0
    half_depth = widest * 0.9 * leg.depth_scale + sum(leg.warp[2:4]) + 2.0
    if np.min(t) < 0:  # the foot reaches forward of the heel
        half_depth += foot_reach_mm(leg)
    angle = math.radians(abs(leg.rotation_deg))
    return (half_width * math.cos(angle) + half_depth * math.sin(angle),
            half_width * math.sin(angle) + half_depth * math.cos(angle))
