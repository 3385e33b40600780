"""The Volume type and the axis contract.

A :class:`Volume` holds ``data`` indexed ``[z, y, x]`` in one canonical orientation: x runs
from the patient's right to left, y from anterior to posterior, z from inferior to superior
(the DICOM LPS axes, stored slice-first). ``data[k]`` is therefore an axial slice shown in
radiological convention (anterior up, patient's right on the left of the screen) without
flips. ``spacing`` is the voxel size in mm as ``(z, y, x)``. ``geometry`` keeps what is needed
to put a label array back onto the exact grid, affine and axis order of the source file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

from legseg_core.errors import GridMismatchError

#: nibabel axis codes of the canonical array in (x, y, z) index order.
CANONICAL_AXCODES = ("L", "P", "S")
CANONICAL_ORNT = axcodes2ornt(CANONICAL_AXCODES)


@dataclass(frozen=True, eq=False)
class SourceGeometry:
    """Where a Volume came from: the source array's axis order and its RAS+ affine (mm).

    ``affine`` maps the source array's indices (file order, ``(i, j, k)``) to RAS+ world
    coordinates; ``to_canonical`` is the nibabel orientation transform (3 x 2) from the source
    axes to the canonical ``(x, y, z)`` axes.
    """

    affine: np.ndarray
    shape: tuple[int, int, int]
    to_canonical: np.ndarray
    path: str | None = None
    format: str = "array"

    @classmethod
    def from_affine(cls, affine: np.ndarray, shape: tuple[int, int, int], *, path: str | None = None,
                    format: str = "array") -> "SourceGeometry":
        """Geometry of a source array in file order with the given RAS+ affine."""
        from nibabel.orientations import io_orientation

        transform = ornt_transform(io_orientation(affine), CANONICAL_ORNT)
        return cls(np.asarray(affine, dtype=float), tuple(int(s) for s in shape), transform, path, format)

    @property
    def canonical_affine(self) -> np.ndarray:
        """RAS+ affine of the canonical array in ``(x, y, z)`` index order."""
        return self.affine @ inv_ornt_aff(self.to_canonical, self.shape)

    def to_canonical_array(self, source_array: np.ndarray) -> np.ndarray:
        """Source array in file order (3D, or 4D with frames last) -> canonical ``[z, y, x(, t)]``."""
        oriented = apply_orientation(source_array, self.to_canonical)
        axes = (2, 1, 0) + tuple(range(3, oriented.ndim))
        return np.ascontiguousarray(oriented.transpose(axes))

    def to_source_array(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical ``[z, y, x]`` array -> the source file's axis order and direction (a C-contiguous copy)."""
        return np.ascontiguousarray(self.source_view(canonical))

    def source_view(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical ``[z, y, x]`` array (or ``[z, y, x, c]``, channels kept last) as a view in the source
        file's axis order and direction, no voxel copied: in the common case of no flip, the transposed view
        is laid out in the order a NIfTI file stores its voxels (x fastest), so writing it is one pass."""
        back = ornt_transform(CANONICAL_ORNT, _source_ornt(self.to_canonical))
        return apply_orientation(canonical.transpose(2, 1, 0, *range(3, canonical.ndim)), back)


def _source_ornt(to_canonical: np.ndarray) -> np.ndarray:
    """The source axes' orientation, recovered from the transform to the canonical axes."""
    source = np.zeros_like(to_canonical)
    for axis, (target, flip) in enumerate(to_canonical):
        source[axis] = (target, CANONICAL_ORNT[int(target), 1] * flip)
    return source


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D scan on the canonical ``[z, y, x]`` grid with its spacing (mm) and source geometry."""

    data: np.ndarray
    spacing: tuple[float, float, float]
    geometry: SourceGeometry
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Canonical shape ``(z, y, x)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def affine(self) -> np.ndarray:
        """RAS+ affine of the canonical array in ``(x, y, z)`` index order (NIfTI convention)."""
        return self.geometry.canonical_affine

    @property
    def name(self) -> str:
        """A short display name: the source file name, or 'volume'."""
        from pathlib import Path

        if self.geometry.path is None:
            return str(self.metadata.get("name", "volume"))
        return Path(self.geometry.path).name.removesuffix(".gz").removesuffix(".nii")

    def with_data(self, data: np.ndarray, **metadata: Any) -> "Volume":
        """A Volume on the same grid holding other voxel values (e.g. a contrast, or labels)."""
        if tuple(data.shape) != self.shape:
            raise GridMismatchError(
                f"array of shape {tuple(data.shape)} does not fit the grid {self.shape} of {self.name}")
        return replace(self, data=data, metadata={**self.metadata, **metadata})

    @classmethod
    def from_array(cls, data: np.ndarray, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
                   origin: tuple[float, float, float] = (0.0, 0.0, 0.0), **metadata: Any) -> "Volume":
        """A Volume from a canonical ``[z, y, x]`` array, spacing ``(z, y, x)`` mm and an LPS origin (mm)."""
        data = np.asarray(data)
        if data.ndim != 3:
            from legseg_core.errors import ImageShapeError

            raise ImageShapeError(f"a volume needs a 3D [z, y, x] array, got shape {data.shape}")
        sz, sy, sx = (float(s) for s in spacing)
        affine = np.diag([-sx, -sy, sz, 1.0])  # x toward patient left, y toward posterior (RAS+ world)
        affine[:3, 3] = (-origin[0], -origin[1], origin[2])
        geometry = SourceGeometry.from_affine(affine, (data.shape[2], data.shape[1], data.shape[0]))
        return cls(data, (sz, sy, sx), geometry, dict(metadata))


def spacing_from_affine(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size (z, y, x) in mm from an affine in (x, y, z) index order."""
    sx, sy, sz = (float(np.linalg.norm(affine[:3, i])) for i in range(3))
    return (sz, sy, sx)


def obliquity_degrees(affine: np.ndarray) -> float:
    """Largest angle (degrees) between a voxel axis and its nearest world axis."""
    directions = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0, keepdims=True)
    cosines = np.clip(np.abs(directions).max(axis=0), 0.0, 1.0)
    return float(np.degrees(np.arccos(cosines)).max())
