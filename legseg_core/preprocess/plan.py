"""The patch plan: every step that turned a scan into patches, recorded so that it can be undone.

A :class:`PatchPlan` holds the scan's grid, the z parts, the legs, and one
:class:`PatchRecord` per patch (part-major, legs in the order right, left). A record's box may
reach beyond the scan or across the split between the legs (a square box around a leg near
the edge); the voxels outside the scan or in the other leg's columns are padding, which the
inverse ignores. Plans are plain data and round-trip through JSON (``to_dict``/``from_dict``),
so a model card or a cache can store them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from legseg_core.errors import PreprocessingError
from legseg_core.labels import NUM_CLASSES
from legseg_core.preprocess.config import PreprocessConfig

SCHEMA_VERSION = 1
Range = tuple[int, int]


@dataclass(frozen=True)
class PatchRecord:
    """One patch: its leg, whether it was mirrored, its box in scan voxels and its intensity window.

    ``z``, ``y``, ``x`` are ``(start, stop)`` voxel ranges of the box on the scan's ``[z, y, x]``
    grid (stop exclusive; y and x may lie partly outside the scan); ``columns`` is the x range
    this leg owns in this part; ``intensity`` is the ``(low, high)`` scan value mapped onto the
    normalisation range.
    """

    leg: str
    part: int
    mirrored: bool
    z: Range
    y: Range
    x: Range
    columns: Range
    intensity: tuple[float, float]

    @property
    def box_shape(self) -> tuple[int, int, int]:
        """Size ``(z, y, x)`` of the box in scan voxels."""
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])

    def inside(self, scan_shape: tuple[int, int, int]) -> tuple[Range, Range]:
        """The rows and columns of the box that lie inside the scan and in this leg's columns."""
        rows = (max(self.y[0], 0), min(self.y[1], scan_shape[1]))
        cols = (max(self.x[0], self.columns[0], 0), min(self.x[1], self.columns[1], scan_shape[2]))
        return rows, cols

    def zoom(self, patch_shape: tuple[int, int, int]) -> tuple[float, float, float]:
        """Zoom factors ``(z, y, x)`` from the box onto the patch grid."""
        return tuple(p / b for p, b in zip(patch_shape, self.box_shape))  # type: ignore[return-value]

    def to_dict(self, patch_shape: tuple[int, int, int]) -> dict[str, Any]:
        """JSON-ready values, with the zoom factors written out for readers of the file."""
        return {"leg": self.leg, "part": self.part, "mirrored": self.mirrored, "z": list(self.z),
                "y": list(self.y), "x": list(self.x), "columns": list(self.columns),
                "intensity": list(self.intensity), "zoom": [round(f, 6) for f in self.zoom(patch_shape)]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PatchRecord":
        """A record from :meth:`to_dict` output (the zoom factors are derived, not read)."""
        return cls(str(data["leg"]), int(data["part"]), bool(data["mirrored"]), _range(data["z"]),
                   _range(data["y"]), _range(data["x"]), _range(data["columns"]),
                   (float(data["intensity"][0]), float(data["intensity"][1])))


@dataclass(frozen=True)
class PatchPlan:
    """How one scan was cut into patches; :func:`legseg_core.preprocess.from_patches` undoes it.

    ``scan_shape`` and ``spacing`` (mm) are ``(z, y, x)``; ``parts`` are the z ranges; ``splits``
    is the x column between the legs in each part (None for a single leg); ``records`` has one
    entry per patch, in the order of the patch arrays; ``side_guessed`` is True when a single leg
    in the middle of the field of view was taken as a right leg for want of knowing its side.
    """

    scan_name: str
    scan_shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    legs: tuple[str, ...]
    parts: tuple[Range, ...]
    splits: tuple[int | None, ...]
    records: tuple[PatchRecord, ...]
    config: PreprocessConfig
    num_classes: int = NUM_CLASSES
    side_guessed: bool = False

    @property
    def patch_shape(self) -> tuple[int, int, int]:
        """Shape ``(z, y, x)`` of one patch."""
        return self.config.patch_shape

    @property
    def num_patches(self) -> int:
        """Number of patches (legs x z parts)."""
        return len(self.records)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the plan, with a schema version."""
        return {"schema_version": SCHEMA_VERSION, "scan_name": self.scan_name,
                "scan_shape": list(self.scan_shape), "spacing": list(self.spacing), "legs": list(self.legs),
                "parts": [list(p) for p in self.parts], "splits": list(self.splits),
                "num_classes": self.num_classes, "side_guessed": self.side_guessed, "config": self.config.to_dict(),
                "records": [r.to_dict(self.patch_shape) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PatchPlan":
        """A plan from :meth:`to_dict` output; refuses another schema version or missing keys."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise PreprocessingError(f"patch plan schema version {version!r} is not supported (expected {SCHEMA_VERSION})")
        try:
            return cls(str(data["scan_name"]), _triple(data["scan_shape"], int), _triple(data["spacing"], float),
                       tuple(str(leg) for leg in data["legs"]), tuple(_range(p) for p in data["parts"]),
                       tuple(None if s is None else int(s) for s in data["splits"]),
                       tuple(PatchRecord.from_dict(r) for r in data["records"]),
                       PreprocessConfig.from_dict(data["config"]), int(data["num_classes"]),
                       bool(data.get("side_guessed", False)))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise PreprocessingError(f"patch plan is malformed: {error!r}") from error


def _range(values: Any) -> Range:
    start, stop = values
    return int(start), int(stop)


def _triple(values: Any, kind: type) -> tuple[Any, Any, Any]:
    first, second, third = values
    return kind(first), kind(second), kind(third)
