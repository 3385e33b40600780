"""NIfTI in (.nii, .nii.gz) and NIfTI out, on the exact grid of the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, cast

import io
import zlib

import nibabel as nib
import numpy as np

from legseg_core.atomic import write_atomically
from legseg_core.errors import ImageFormatError, InputPathError
from legseg_core.io import gz
from legseg_core.io.canonical import Frame, build_volume, check_image_size, frame_choice
from legseg_core.io.volume import Volume

# nibabel prints its header notes through a handler of its own and passes them on to the root logger as
# well, so each appeared twice; the root logger (the command line's one-line format) prints them once.
for _handler in list(nib.imageglobals.logger.handlers):
    nib.imageglobals.logger.removeHandler(_handler)

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: What a damaged or foreign file raises while its header or its voxels are read.
READ_ERRORS: tuple[type[BaseException], ...] = (
    nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError, nib.wrapstruct.WrapStructError,
    *gz.ERRORS, ValueError, TypeError, IndexError)
#: Bytes of a NIfTI-2 header and its extension flag: enough to read either header.
HEADER_BYTES = 544
#: Compressed bytes enough to hold the header: deflate never grows data by more than a few bytes per block.
HEADER_INPUT_BYTES = 1 << 16
#: The most that deflate can shrink data (about 1032:1), to bound what a .gz file can hold.
MAX_DEFLATE_RATIO = 1032


def is_nifti_path(path: str | Path) -> bool:
    """True when the file name ends in .nii or .nii.gz."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def load_nifti(path: Path, **options: Any) -> Volume:
    """Read a NIfTI file into a canonical Volume (options as in :func:`build_volume`); of a 4D image only
    the frame used is read (see :func:`read_nifti`)."""
    frame = options.pop("frame", None)
    source, affine, metadata = read_nifti(path, frame=frame)
    if "frame" in metadata:  # the reader took the one frame: the rest is a 3D image
        frame = None
    return build_volume(source, affine, path=str(path), format="nifti", metadata=metadata, frame=frame, **options)


def read_nifti(path: Path, *, frame: Frame = None) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """The voxels of a NIfTI file in file order (``(i, j, k[, t])``), its affine and its header's
    description and data type, before any reorientation; ImageFormatError if it is not readable.

    Of a 4D image (frames last) only the frame that ``frame`` names (``None``: the first) is read,
    and ``metadata['frame']`` says which: a frame is one run of bytes in the file, and a .gz file is
    decompressed only up to its end (the first of 18 echoes took a tenth of the time of all 18).
    ``frame='mean'`` reads every frame.
    """
    try:
        image = _read_image(Path(path))
    except READ_ERRORS as error:
        raise ImageFormatError(f"{path}: not a readable NIfTI image ({type(error).__name__}: {error})") from None
    shape = tuple(int(n) for n in image.shape)
    one = None if frame == "mean" or len(shape) != 4 or shape[3] < 2 else frame_choice(shape[3], frame, str(path))
    try:
        source = np.asanyarray(image.dataobj if one is None else image.dataobj[..., one[0]])
    except READ_ERRORS as error:
        raise ImageFormatError(f"{path}: not a readable NIfTI image ({type(error).__name__}: {error})") from None
    if not source.flags.writeable:  # one frame read from the stream lies in bytes: a copy of its own, as before
        source = source.copy(order="K")
    metadata = {"description": _text(image.header.get("descrip")), "dtype": str(source.dtype)}
    if one is not None:
        metadata["frame"] = one[1]
    return source, image.affine, metadata


def _read_image(path: Path) -> nib.Nifti1Image:
    """The NIfTI image of ``path``, its voxels not read yet; a .gz file is read whole into memory and its
    voxels decompressed as they are read, straight into their array (ISA-L, when installed, is several times
    faster than nibabel's own gzip reads). The size the header declares is checked against the file and the
    memory ceiling before any voxel is read."""
    if not str(path).lower().endswith(".gz"):
        with open(path, "rb") as handle:
            _check_pixdim(handle.read(HEADER_BYTES), path)
        image = nib.load(str(path))
        _check_declared_size(image.header, path, path.stat().st_size, what="the file holds")
        return image
    compressed = path.read_bytes()
    # the header from the start of the stream: given all of it, zlib would copy the rest as its unconsumed tail
    prefix = zlib.decompressobj(wbits=31).decompress(compressed[:HEADER_INPUT_BYTES], HEADER_BYTES)
    _check_pixdim(prefix, path)
    header_class = _header_class(prefix)
    header = header_class.from_fileobj(io.BytesIO(prefix))
    _check_declared_size(header, path, len(compressed) * MAX_DEFLATE_RATIO, what="a gzip file of this size can hold")
    image_class = nib.Nifti2Image if header_class is nib.Nifti2Header else nib.Nifti1Image
    return image_class.from_stream(gz.reader(compressed))


def _header_class(data: bytes) -> type[nib.Nifti1Header]:
    two = nib.Nifti2Header.may_contain_header(data[:nib.Nifti2Header.template_dtype.itemsize])
    return nib.Nifti2Header if two else nib.Nifti1Header


def _raw_pixdim(prefix: bytes) -> tuple[np.ndarray | None, int]:
    """pixdim[1:4] and sform_code as the file holds them (NIfTI-1 or NIfTI-2, either byte order)."""
    layouts = {348: (76, "f4", 254, "i2"), 540: (104, "f8", 348, "i4")}
    for order in ("<", ">"):
        if len(prefix) >= 4:
            size = int(np.frombuffer(prefix[:4], dtype=f"{order}i4")[0])
            if size in layouts and len(prefix) >= size:
                offset, kind, code_offset, code_kind = layouts[size]
                pixdim = np.frombuffer(prefix, dtype=f"{order}{kind}", count=4, offset=offset)[1:4].astype(float)
                code = int(np.frombuffer(prefix, dtype=f"{order}{code_kind}", count=1, offset=code_offset)[0])
                return pixdim, code
    return None, 0


def _check_declared_size(header: Any, path: Path, available: int, *, what: str) -> None:
    """Refuse a header whose image is larger than the file (truncated, or lying) or than the memory ceiling."""
    shape = tuple(int(n) for n in header.get_data_shape())
    check_image_size(shape, str(path))
    needed = int(header.get_data_offset()) + int(np.prod(shape, dtype=np.float64)) * header.get_data_dtype().itemsize
    if needed > available:
        raise ImageFormatError(f"{path}: the header declares {' x '.join(map(str, shape))} voxels ({needed} bytes), "
                               f"more than {what} ({available} bytes); the file is truncated or damaged")


def _check_pixdim(prefix: bytes, path: Path) -> None:
    """Refuse a zero, negative or missing voxel size when the grid comes from pixdim (no sform), read from the
    raw header: nibabel quietly reads a zero pixdim as 1 mm."""
    pixdim, sform_code = _raw_pixdim(prefix)
    if pixdim is not None and sform_code <= 0 and not np.all(np.isfinite(pixdim) & (pixdim > 0)):
        raise ImageFormatError(f"{path}: the header's voxel size pixdim {pixdim.tolist()} is zero, negative or "
                               "missing, and no sform or qform gives the grid")


def _text(value: Any) -> str:
    if value is None:
        return ""
    raw = np.asarray(value).item()
    return raw.decode("latin-1", "replace").strip("\x00 ") if isinstance(raw, bytes) else str(raw)


def write_nifti(source_array: np.ndarray, affine: np.ndarray, path: str | Path, *, description: str = "") -> Path:
    """Write an array in file order with a RAS+ affine, atomically (a crash leaves no half file);
    ``description`` goes into the header's ``descrip`` field (at most 79 ASCII characters).

    The voxels are written (and compressed) a slice at a time as nibabel walks the array, never whole:
    ``source_array`` may be any view, and one laid out x fastest is written without reordering."""
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

    def write(handle: BinaryIO) -> None:
        if not compressed:
            image.to_stream(cast(io.IOBase, handle))
            return
        with gz.writer(handle) as stream:
            image.to_stream(stream)

    return write_atomically(path, write)
