"""NIfTI in (.nii, .nii.gz) and NIfTI out, on the exact grid of the source."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from legseg_core.errors import ImageFormatError, InputPathError
from legseg_core.io import gz
from legseg_core.io.canonical import build_volume
from legseg_core.io.volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: str | Path) -> bool:
    """True when the file name ends in .nii or .nii.gz."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def load_nifti(path: Path, **options: Any) -> Volume:
    """Read a NIfTI file into a canonical Volume (options as in :func:`build_volume`)."""
    try:
        image = _read_image(Path(path))
        source = np.asanyarray(image.dataobj)
    except (nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError, nib.wrapstruct.WrapStructError,
            *gz.ERRORS, ValueError) as error:
        raise ImageFormatError(f"{path}: not a readable NIfTI image ({type(error).__name__}: {error})") from None
    header = image.header
    metadata = {"description": _text(header.get("descrip")), "dtype": str(source.dtype)}
    return build_volume(source, image.affine, path=str(path), format="nifti", metadata=metadata, **options)


def _read_image(path: Path) -> nib.Nifti1Image:
    """The NIfTI image of ``path``; a .gz file is decompressed in one call (several times faster than
    nibabel's streamed reads of small blocks)."""
    if not str(path).lower().endswith(".gz"):
        return nib.load(str(path))
    data = gz.decompress(path.read_bytes())
    two = nib.Nifti2Header.may_contain_header(data[:nib.Nifti2Header.template_dtype.itemsize])
    return (nib.Nifti2Image if two else nib.Nifti1Image).from_bytes(data)


def _text(value: Any) -> str:
    if value is None:
        return ""
    raw = np.asarray(value).item()
    return raw.decode("latin-1", "replace").strip("\x00 ") if isinstance(raw, bytes) else str(raw)


def write_nifti(source_array: np.ndarray, affine: np.ndarray, path: str | Path, *, description: str = "") -> Path:
    """Write an array in file order with a RAS+ affine, atomically (a crash leaves no half file);
    ``description`` goes into the header's ``descrip`` field (at most 79 ASCII characters)."""
    path = Path(path)
    if not is_nifti_path(path):
        raise InputPathError(f"{path}: output must end in .nii or .nii.gz")
    if not path.parent.exists():
        raise InputPathError(f"{path}: the folder {path.parent} does not exist")
    image = nib.Nifti1Image(source_array, np.asarray(affine, dtype=float))
    image.header.set_xyzt_units("mm")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    if description:
        image.header["descrip"] = description.encode("ascii", "replace")[:79]
    compressed = str(path).lower().endswith(".gz")
    handle, temporary = tempfile.mkstemp(prefix=".legseg-", suffix=".nii.gz" if compressed else ".nii",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            data = image.to_bytes()
            file.write(gz.compress(data) if compressed else data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
