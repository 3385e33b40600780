"""Stored NIfTI files: encoded in memory, checksummed, written atomically, verified on reading.

A file is encoded once into gzip-compressed NIfTI bytes (deterministic: no time stamp in the
gzip header, so the same voxels always give the same sha256), written to a hidden temporary
name in its final folder, flushed to disk, and renamed into place; only then does the caller
commit the catalog row. A crash at any moment leaves either no file, a stray temporary file,
or a complete file that no catalog row names yet; ``verify(repair=True)`` removes both kinds.
Reading checks the sha256 against the catalog before the voxels are used.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from legseg_core.io.canonical import build_volume  # before nibabel: legseg_core.io imports it lean
from legseg_core.io.volume import CANONICAL_ORNT, SourceGeometry, Volume

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, io_orientation, ornt_transform

from legseg_core.atomic import TEMPORARY_PREFIX, remove_file, sync_folder, write_atomically
from legseg_core.store.errors import StoreIntegrityError

__all__ = ["TEMPORARY_PREFIX", "EncodedFile", "decode_volume", "encode_nifti", "read_verified",
           "remove_file", "sync_folder", "write_stored_file"]

#: gzip level of stored NIfTI files: 1 is several times faster than 6 for a few percent more bytes.
COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class EncodedFile:
    """NIfTI bytes ready to write, with their sha256 (hex)."""

    payload: bytes
    sha256: str


def encode_nifti(data: np.ndarray, geometry: SourceGeometry) -> EncodedFile:
    """A canonical ``[z, y, x]`` array as gzip NIfTI bytes in the source file's axis order and affine."""
    image = nib.Nifti1Image(_source_view(data, geometry), np.asarray(geometry.affine, dtype=float))
    image.header.set_xyzt_units("mm")
    image.set_qform(geometry.affine, code=1)
    image.set_sform(geometry.affine, code=1)
    payload = gzip.compress(image.to_bytes(), compresslevel=COMPRESS_LEVEL, mtime=0)
    return EncodedFile(payload, hashlib.sha256(payload).hexdigest())


def _source_view(data: np.ndarray, geometry: SourceGeometry) -> np.ndarray:
    """The canonical array seen in the source file's axis order, as a view (no copy): NIfTI writes
    x fastest, which is how a C-ordered ``[z, y, x]`` array lies in memory already."""
    back = ornt_transform(CANONICAL_ORNT, io_orientation(geometry.affine))
    return apply_orientation(np.asarray(data).transpose(2, 1, 0), back)


def write_stored_file(path: Path, payload: bytes) -> None:
    """Write a stored file atomically, read-only (stored files are immutable); never overwrite one."""
    write_atomically(path, payload, read_only=True, overwrite=False, make_folder=True)


def read_verified(path: Path, sha256: str) -> bytes:
    """The bytes of a stored file, refused unless their sha256 matches the catalog."""
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise StoreIntegrityError(f"{path}: the stored file cannot be read ({error}); run `legseg store verify`") \
            from None
    actual = hashlib.sha256(payload).hexdigest()
    if actual != sha256:
        raise StoreIntegrityError(f"{path}: checksum {actual[:12]}... does not match the catalog's "
                                  f"{sha256[:12]}...; the file was changed or damaged")
    return payload


def decode_volume(payload: bytes, path: Path) -> Volume:
    """Stored gzip NIfTI bytes back to a canonical Volume (the store admitted the grid already)."""
    image = nib.Nifti1Image.from_bytes(gzip.decompress(payload))
    source = np.asanyarray(image.dataobj)
    return build_volume(source, image.affine, path=str(path), format="nifti", allow_oblique=True,
                        metadata={"dtype": str(source.dtype)})
