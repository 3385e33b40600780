"""The preprocessing settings, with the paper's values (section 2.4) as defaults.

Every step of the pipeline reads its numbers from one frozen :class:`PreprocessConfig`, so a
model file can store the settings it was trained with and apply exactly the same steps at
inference. Shapes are ``(z, y, x)`` in voxels; lengths are in mm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from legseg_core.errors import PreprocessingError

NORMALISE_SCOPES = ("part", "patch", "scan")
SINGLE_LEG_SIDES = ("auto", "right", "left")


@dataclass(frozen=True)
class PreprocessConfig:
    """How a scan becomes network patches.

    Paper defaults: patches of 20 x 104 x 104 voxels ``[z, y, x]``; z split into parts of 20 to
    21 slices with an overlap of at least three slices for scans of more than 25 slices (a scan
    of at most 25 slices is one part); intensities range-normalised to 0..100 per part; the left
    leg mirrored along x; the background cropped. Choices the paper leaves open are ours:
    the crop box is square in y-x (``keep_aspect``) with a margin of ``margin_mm`` around the
    body mask, and a scan must have ``min_slices`` slices and ``min_in_plane`` voxels along y
    and x to be resampled onto the patch grid.
    """

    patch_shape: tuple[int, int, int] = (20, 104, 104)
    part_slices: tuple[int, int] = (20, 21)
    overlap_slices: int = 3
    single_part_max_slices: int = 25
    normalise_range: tuple[float, float] = (0.0, 100.0)
    normalise_percentiles: tuple[float, float] = (0.0, 100.0)
    normalise_scope: str = "part"
    mirror_left: bool = True
    crop_background: bool = True
    keep_aspect: bool = True
    margin_mm: float = 6.0
    smoothing_mm: float = 3.0
    valley_ratio: float = 0.7
    min_leg_fraction: float = 0.15
    min_leg_area_mm2: float = 400.0
    min_contrast: float = 4.0
    max_foreground_fraction: float = 0.9
    single_leg_side: str = "auto"
    min_slices: int = 8
    min_in_plane: int = 32

    def __post_init__(self) -> None:
        for name in ("patch_shape", "part_slices", "normalise_range", "normalise_percentiles"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check_shapes()
        self._check_choices()

    def _check_shapes(self) -> None:
        if len(self.patch_shape) != 3 or min(self.patch_shape) < 1:
            _bad("patch_shape", self.patch_shape, "three positive voxel counts (z, y, x)")
        low, high = self.part_slices
        if not 1 <= low <= high:
            _bad("part_slices", self.part_slices, "(shortest, longest) with 1 <= shortest <= longest")
        if not 0 <= self.overlap_slices < low:
            _bad("overlap_slices", self.overlap_slices, f"0 or more and fewer than the shortest part ({low})")
        if self.single_part_max_slices < 1 or self.min_slices < 1 or self.min_in_plane < 1:
            _bad("slice limits", (self.single_part_max_slices, self.min_slices, self.min_in_plane), "positive")
        if self.normalise_range[0] >= self.normalise_range[1]:
            _bad("normalise_range", self.normalise_range, "(low, high) with low < high")
        lo, hi = self.normalise_percentiles
        if not 0.0 <= lo < hi <= 100.0:
            _bad("normalise_percentiles", self.normalise_percentiles, "0 <= low < high <= 100")

    def _check_choices(self) -> None:
        if self.normalise_scope not in NORMALISE_SCOPES:
            _bad("normalise_scope", self.normalise_scope, f"one of {NORMALISE_SCOPES}")
        if self.single_leg_side not in SINGLE_LEG_SIDES:
            _bad("single_leg_side", self.single_leg_side, f"one of {SINGLE_LEG_SIDES}")
        if self.margin_mm < 0 or self.smoothing_mm < 0 or self.min_leg_area_mm2 < 0:
            _bad("margin_mm/smoothing_mm/min_leg_area_mm2", (self.margin_mm, self.smoothing_mm,
                                                           self.min_leg_area_mm2), "0 or more")
        if not 0.0 < self.valley_ratio < 1.0 or not 0.0 < self.min_leg_fraction < 0.5:
            _bad("valley_ratio/min_leg_fraction", (self.valley_ratio, self.min_leg_fraction),
                 "valley_ratio in (0, 1) and min_leg_fraction in (0, 0.5)")
        if not 0.0 < self.max_foreground_fraction <= 1.0 or self.min_contrast < 0:
            _bad("max_foreground_fraction/min_contrast", (self.max_foreground_fraction, self.min_contrast),
                 "max_foreground_fraction in (0, 1] and min_contrast >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PreprocessConfig":
        """Settings from :meth:`to_dict` output; unknown keys are refused, missing ones take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PreprocessingError(f"unknown preprocessing settings {unknown}; known: {sorted(known)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:
            raise PreprocessingError(f"preprocessing settings {data} are malformed: {error}") from error


def _bad(name: str, value: object, expected: str) -> None:
    raise PreprocessingError(f"preprocessing setting {name}={value!r} is invalid: expected {expected}")
