"""Shared checks that turn a source array and its affine into a canonical Volume.

Rules, applied the same way to NIfTI and DICOM:

* fewer than 3 dimensions, more than 4, or a zero-size axis: :class:`ImageShapeError`;
* 4D (multi-echo, diffusion, dynamics): one frame is used. ``frame=None`` takes frame 0 (the
  first echo or the b=0 image, the most anatomical one) and records the choice in
  ``metadata['frame']``; ``frame=k`` takes frame k; ``frame='mean'`` averages all frames;
* NaN or Inf voxels: refused by default (:class:`ImageValueError`), or set to 0 with
  ``nonfinite='zero'`` (the count is recorded in ``metadata['nonfinite_voxels']``);
* a voxel type that is not a real number (complex, RGB): :class:`ImageFormatError`; 64-bit
  integers are narrowed to the smallest type that holds their values (32-bit integers, else
  float32), which every NIfTI tool reads;
* a voxel size under 0.05 mm or over 100 mm (a header in metres, or pixdim 0): refused;
* ``frame`` given for a 3D image: refused (it would be silently ignored);
* an image larger than the memory ceiling (:func:`memory_ceiling`, ``$LEGSEG_MAX_IMAGE_BYTES``):
  refused by the readers before its voxels are read;
* an oblique grid (a voxel axis more than ``max_obliquity`` degrees from every world axis):
  refused (:class:`OrientationError`) unless ``allow_oblique=True``; the grid is then put on
  its nearest canonical axes without resampling, so labels still map back voxel for voxel.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np

from legseg_core.errors import ImageFormatError, ImageShapeError, ImageValueError, OrientationError
from legseg_core.io.volume import SourceGeometry, Volume, obliquity_degrees, spacing_from_affine

log = logging.getLogger(__name__)

Frame = int | Literal["mean"] | None
NonFinite = Literal["error", "zero"]
DEFAULT_MAX_OBLIQUITY = 20.0
#: Environment variable that sets the largest image (bytes as float32 voxels) a reader accepts.
MAX_IMAGE_BYTES_ENV = "LEGSEG_MAX_IMAGE_BYTES"
#: Voxel sizes (mm) outside this range are not MRI voxels: a header in metres or a zero pixdim.
SPACING_RANGE_MM = (0.05, 100.0)


def memory_ceiling() -> int:
    """The largest image (bytes, counted as float32 voxels) the readers accept: ``$LEGSEG_MAX_IMAGE_BYTES``,
    else a quarter of the physical memory (LegSeg holds a few copies of a scan while it works), else 8 GiB."""
    configured = os.environ.get(MAX_IMAGE_BYTES_ENV, "").strip()
    if configured:
        try:
            return max(1, int(float(configured)))
        except ValueError:
            raise ImageValueError(f"${MAX_IMAGE_BYTES_ENV}={configured!r} must be a number of bytes") from None
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 4
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_image_size(shape: tuple[int, ...], path: str) -> None:
    """Refuse an image whose declared size exceeds the memory ceiling, before its voxels are read."""
    voxels = int(np.prod([max(0, int(n)) for n in shape], dtype=np.float64))
    needed, ceiling = voxels * 4, memory_ceiling()
    if needed > ceiling:
        raise ImageShapeError(f"{path}: the image declares {' x '.join(str(int(n)) for n in shape)} voxels "
                              f"({needed / 2**30:.1f} GiB as float32), more than the memory ceiling of "
                              f"{ceiling / 2**30:.1f} GiB (set ${MAX_IMAGE_BYTES_ENV} to raise it)")


def build_volume(source: np.ndarray, affine: np.ndarray, *, path: str, format: str,
                 frame: Frame = None, nonfinite: NonFinite = "error", allow_oblique: bool = False,
                 max_obliquity: float = DEFAULT_MAX_OBLIQUITY, metadata: dict[str, Any] | None = None) -> Volume:
    """Validate a source array in file order (``(i, j, k[, t])``) and its RAS+ affine, return a Volume."""
    metadata = dict(metadata or {})
    source = _check_voxel_type(source, path)
    source = _check_shape(source, path)
    source, frame_note = _choose_frame(source, frame, path)
    if frame_note:
        metadata["frame"] = frame_note
    source = _check_finite(source, nonfinite, path, metadata)
    _check_affine(affine, path, allow_oblique, max_obliquity, metadata)
    geometry = SourceGeometry.from_affine(affine, source.shape, path=path, format=format)
    data = geometry.to_canonical_array(source)
    _check_spacing(spacing_from_affine(geometry.canonical_affine), path)
    metadata["source_orientation"] = "".join(_axcodes(affine))
    return Volume(data, spacing_from_affine(geometry.canonical_affine), geometry, metadata)


def _axcodes(affine: np.ndarray) -> tuple[str, ...]:
    from nibabel.orientations import aff2axcodes

    return tuple(str(c) for c in aff2axcodes(affine))


def _check_voxel_type(source: np.ndarray, path: str) -> np.ndarray:
    """Refuse voxels that are not real numbers; narrow 64-bit integers; booleans become uint8."""
    dtype = source.dtype
    if dtype.kind == "b":
        return source.astype(np.uint8)
    if dtype.kind == "c":
        raise ImageFormatError(f"{path}: the voxels are complex numbers ({dtype}); give the magnitude image")
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise ImageFormatError(f"{path}: voxels of type {dtype} (e.g. RGB colour) are not a scan; give a "
                               "single-channel grey-value image")
    if dtype.itemsize == 8 and dtype.kind in "iu":
        return _narrowed(source)
    return source


def _narrowed(source: np.ndarray) -> np.ndarray:
    """64-bit integers as int32 when their values fit, else as float32."""
    low, high = (int(source.min()), int(source.max())) if source.size else (0, 0)
    limits = np.iinfo(np.int32)
    return source.astype(np.int32 if limits.min <= low and high <= limits.max else np.float32)


def _check_spacing(spacing: tuple[float, float, float], path: str) -> None:
    low, high = SPACING_RANGE_MM
    if not all(low <= s <= high for s in spacing):
        raise ImageValueError(f"{path}: voxel size {tuple(round(s, 6) for s in spacing)} mm (z, y, x) is not an MRI "
                              f"voxel size ({low:g} to {high:g} mm); check the header's pixdim and units")


def _check_shape(source: np.ndarray, path: str) -> np.ndarray:
    # Trailing singleton axes beyond the third (e.g. NIfTI x, y, z, 1) carry nothing.
    if source.size == 0:
        raise ImageShapeError(f"{path}: the image has a zero-size axis, shape {source.shape}")
    while source.ndim > 3 and source.shape[-1] == 1:
        source = source[..., 0]
    if source.ndim < 3:
        raise ImageShapeError(f"{path}: a {source.ndim}D image of shape {source.shape}; LegSeg needs a 3D volume")
    if source.ndim > 4:
        raise ImageShapeError(f"{path}: a {source.ndim}D image of shape {source.shape}; LegSeg reads 3D or 4D")
    return source


def _choose_frame(source: np.ndarray, frame: Frame, path: str) -> tuple[np.ndarray, str | None]:
    if source.ndim == 3:
        if frame is not None:
            raise ImageShapeError(f"{path}: frame {frame} asked for, but the image is 3D (one frame); leave out "
                                  "--frame")
        return source, None
    frames = source.shape[3]
    if frame == "mean":
        return source.astype(np.float32).mean(axis=3), f"mean of {frames} frames"
    index, note = frame_choice(frames, frame, path)
    return source[..., index], note


def frame_choice(frames: int, frame: int | None, path: str) -> tuple[int, str]:
    """The index of the frame to use among ``frames`` (``None``: the first) and the note that records it;
    ImageShapeError for a frame the image does not have."""
    index = 0 if frame is None else int(frame)
    if not -frames <= index < frames:
        raise ImageShapeError(f"{path}: frame {frame} asked for, but the image has {frames} frames (0..{frames - 1})")
    rule = "default: first" if frame is None else "chosen"
    log.info("%s: 4D image with %d frames, using frame %d (%s)", path, frames, index % frames, rule)
    return index % frames, f"{index % frames} of {frames} ({rule})"


def _check_finite(source: np.ndarray, nonfinite: NonFinite, path: str, metadata: dict[str, Any]) -> np.ndarray:
    if not np.issubdtype(source.dtype, np.floating) or all_finite(source):
        return source
    bad = ~np.isfinite(source)
    count = int(bad.sum())
    if count == 0:
        return source
    if nonfinite != "zero":
        raise ImageValueError(
            f"{path}: {count} voxels are NaN or Inf; clean the image, or load it with nonfinite='zero' "
            "(command line: --nonfinite zero) to set them to 0")
    metadata["nonfinite_voxels"] = count
    log.warning("%s: %d NaN/Inf voxels set to 0", path, count)
    return np.where(bad, 0, source).astype(source.dtype)


def all_finite(values: np.ndarray) -> bool:
    """True when no value is NaN or Inf: then the smallest and the largest are finite (a NaN makes both NaN);
    two reductions, without a mask of the whole array."""
    return bool(np.isfinite(values.min()) and np.isfinite(values.max())) if values.size else True


def _check_affine(affine: np.ndarray, path: str, allow_oblique: bool, max_obliquity: float,
                  metadata: dict[str, Any]) -> None:
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise OrientationError(f"{path}: the image's affine is missing or degenerate:\n{affine}")
    angle = obliquity_degrees(affine)
    metadata["obliquity_degrees"] = round(angle, 3)
    if angle > max_obliquity and not allow_oblique:
        raise OrientationError(
            f"{path}: the slices are oblique by {angle:.1f} degrees (more than {max_obliquity:g}); "
            "resample the scan to its nearest axes first, or load it with allow_oblique=True "
            "(command line: --allow-oblique) to use the nearest axes without resampling")
