"""Volume input and output: NIfTI and DICOM in, NIfTI out on the source grid.

``load_volume(path)`` returns a :class:`Volume` on the canonical ``[z, y, x]`` grid (see
:mod:`legseg_core.io.volume` for the axis contract and :mod:`legseg_core.io.canonical` for the
rules on 4D, NaN and oblique inputs). ``save_labels(labels, like, path)`` writes a label array
on that grid back as NIfTI with the exact shape, axis order and affine of ``like``'s source,
so that it overlays the scan in any viewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import legseg_core.io.lean_nibabel  # noqa: F401  (first: nibabel without pydicom, see there)
from legseg_core.errors import GridMismatchError, ImageFormatError, ImageShapeError, ImageValueError, InputPathError
from legseg_core.io.canonical import DEFAULT_MAX_OBLIQUITY, Frame, NonFinite
from legseg_core.io.dicom import is_dicom_file, list_series, load_dicom
from legseg_core.io.nifti import is_nifti_path, load_nifti, write_nifti
from legseg_core.io.volume import CANONICAL_AXCODES, SourceGeometry, Volume

__all__ = ["CANONICAL_AXCODES", "SourceGeometry", "Volume", "labels_from_volume", "list_series", "load_labels",
           "load_volume", "save_image", "save_labels"]


def load_volume(path: str | Path, *, frame: Frame = None, nonfinite: NonFinite = "error",
                allow_oblique: bool = False, max_obliquity: float = DEFAULT_MAX_OBLIQUITY,
                series: str | None = None) -> Volume:
    """Load a NIfTI file, a DICOM file, or a DICOM folder as a canonical ``[z, y, x]`` Volume.

    ``frame`` picks one frame of a 4D image (default: frame 0; ``'mean'`` averages them);
    ``series`` picks one series of a DICOM folder holding several.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputPathError(f"{path}: no such file or folder")
    options: dict[str, Any] = dict(frame=frame, nonfinite=nonfinite, allow_oblique=allow_oblique,
                                   max_obliquity=max_obliquity)
    if path.is_dir():
        return load_dicom(path, series=series, **options)
    if not path.is_file():
        raise InputPathError(f"{path}: not a regular file (a pipe, socket or device); give a scan file")
    if is_nifti_path(path):
        return load_nifti(path, **options)
    if is_dicom_file(path):
        return load_dicom(path, series=series, **options)
    raise ImageFormatError(f"{path}: not a NIfTI (.nii, .nii.gz) or DICOM file")


def load_labels(path: str | Path, like: Volume | None = None, *, relabel: str | None = None) -> Volume:
    """Load a label image (values 0..7) and, when ``like`` is given, check that it shares its grid.

    ``relabel`` names a label scheme (:func:`legseg_core.io.relabel.label_scheme`) that maps
    another tool's values onto the muscle ids first.
    """
    return labels_from_volume(load_volume(path), path, like, relabel=relabel)


def labels_from_volume(labels: Volume, path: str | Path, like: Volume | None = None, *,
                       relabel: str | None = None) -> Volume:
    """:func:`load_labels` of a label image already read from ``path`` (named in the messages)."""
    from legseg_core.io.relabel import label_scheme, scheme_hint

    if "frame" in labels.metadata:
        frames = str(labels.metadata["frame"]).split(" of ")[1].split()[0]
        raise ImageShapeError(f"{path}: a label image must be 3D, this one has {frames} frames")
    data = labels.data
    if relabel is not None:
        data = label_scheme(relabel).apply(data, str(path))
    if not np.all(np.equal(np.mod(data, 1), 0)):
        raise ImageValueError(f"{path}: label images must hold whole numbers, found fractional values")
    if data.min() < 0 or data.max() > 7:
        raise ImageValueError(f"{path}: label values must lie in 0..7, found {data.min():g}..{data.max():g}"
                              f"{scheme_hint(data)}")
    if like is not None:
        check_same_grid(like, labels, what=f"labels {path}")
    return labels.with_data(data.astype(np.uint8))


def check_same_grid(image: Volume, other: Volume, *, what: str = "labels") -> None:
    """Refuse two volumes whose canonical grids differ (shape or affine), naming both."""
    if image.shape != other.shape or not np.allclose(image.affine, other.affine, atol=1e-3):
        raise GridMismatchError(
            f"{what} do not share the grid of {image.name}: shape {other.shape} vs {image.shape}, "
            f"affine\n{np.round(other.affine, 4)}\nvs\n{np.round(image.affine, 4)}")


def save_labels(labels: np.ndarray, like: Volume, path: str | Path, *, description: str = "") -> Path:
    """Write a ``[z, y, x]`` uint8 label array as NIfTI on the exact grid of ``like``'s source; ``description``
    (the header's ``descrip``) says where they came from (:func:`legseg_core.io.provenance.prediction_description`)."""
    labels = np.asarray(labels)
    if labels.shape != like.shape:
        raise GridMismatchError(f"{path}: labels of shape {labels.shape} do not fit the scan grid {like.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ImageValueError(f"{path}: label values {labels.min()}..{labels.max()} do not fit uint8")
    return save_image(labels.astype(np.uint8), like, path, description=description)


def save_image(data: np.ndarray, like: Volume, path: str | Path, *, description: str = "") -> Path:
    """Write any ``[z, y, x]`` array (labels, an overlap map), or ``[z, y, x, c]`` one (class probabilities),
    on ``like``'s source grid. The voxels go to the file a slice (a channel) at a time from a view of
    ``data``: no copy of the whole array is made, which keeps the 8-class probabilities of a large scan
    in memory once."""
    if tuple(data.shape[:3]) != like.shape or data.ndim not in (3, 4):
        raise GridMismatchError(f"{path}: array of shape {data.shape} does not fit the scan grid {like.shape}")
    return write_nifti(like.geometry.source_view(np.asarray(data)), like.geometry.affine, path,
                       description=description)
