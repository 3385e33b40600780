"""Errors a user can cause.

Every error raised for a bad input is a :class:`LegsegError` subclass whose message names the
file or the value at fault. The command line prints the message and exits non-zero, with no
traceback.
"""

from __future__ import annotations


class LegsegError(Exception):
    """Base class of every error that a user's input can cause."""


class InputPathError(LegsegError):
    """A path does not exist, or is not the kind of path expected (file or folder)."""


class ImageFormatError(LegsegError):
    """A file is not a readable image: unknown format, truncated or corrupt."""


class ImageShapeError(LegsegError):
    """An image has the wrong number of dimensions, a zero-size axis, or a wrong shape."""


class ImageValueError(LegsegError):
    """An image holds values that cannot be used (NaN or Inf voxels, labels out of range)."""


class OrientationError(LegsegError):
    """An image's geometry cannot be put onto the canonical axes (oblique, degenerate affine)."""


class DicomSeriesError(LegsegError):
    """A DICOM folder holds no series, or several series and none was chosen."""


class DicomGeometryError(LegsegError):
    """A DICOM series lacks the spacing, orientation or position needed to place it in space."""


class GridMismatchError(LegsegError):
    """Two arrays that must share a voxel grid (image and labels, reference and prediction) do not."""


class PreprocessingError(LegsegError):
    """A scan cannot be turned into network patches (no leg found, too small)."""


class ModelError(LegsegError):
    """A network architecture, preset or argument is unknown or invalid."""


class CheckpointError(LegsegError):
    """A model file cannot be loaded safely or does not match what it claims to be."""


class StoreError(LegsegError):
    """The case store refuses an operation (unknown case or version, bad metadata, bad path)."""


class TrainingError(LegsegError):
    """Training or fine-tuning cannot start or had to stop (no data, NaN loss)."""


class CancelledError(LegsegError):
    """Long work was cancelled by the user."""
