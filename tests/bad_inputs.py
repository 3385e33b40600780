"""A generator of bad input files, small and fast to write, for the tests that every command refuses them.

Each maker writes one file (or folder) that a hostile or careless user could hand to LegSeg and
returns its path; :func:`bad_scans`, :func:`bad_labels`, :func:`bad_models` and
:func:`bad_tables` write a whole family into a folder and name each kind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE = (12, 10, 6)  # file order (x, y, z)
AFFINE = np.diag([-1.5, -1.5, 4.0, 1.0])


def good_scan(path: Path, seed: int = 0, dtype: type = np.int16) -> Path:
    """A small valid scan: a bright block in a darker field."""
    data = np.random.default_rng(seed).integers(50, 100, SHAPE).astype(dtype)
    data[3:9, 2:8, 1:5] += 400
    return _save(path, data)


def good_labels(path: Path) -> Path:
    """Valid labels on :func:`good_scan`'s grid."""
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[3:6, 2:8, 1:5], labels[6:9, 2:8, 1:5] = 1, 3
    return _save(path, labels)


def _save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    image = nib.Nifti1Image(data, affine, dtype=data.dtype if data.dtype.kind in "iu" else None)
    image.header.set_xyzt_units("mm")
    payload = image.to_bytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if path.name.endswith(".gz") else payload)
    return path


def _raw_header(shape: tuple[int, ...], dtype_code: int = 4, bitpix: int = 16, pixdim=(1.0, 1.0, 1.0)) -> bytes:
    """A NIfTI-1 header of 352 bytes declaring ``shape`` (no data after it)."""
    header = nib.Nifti1Header()
    header.set_data_shape((1, 1, 1))
    raw = bytearray(header.binaryblock) + b"\0" * 4
    struct.pack_into("<8h", raw, 40, len(shape), *shape, *([1] * (7 - len(shape))))
    struct.pack_into("<hh", raw, 70, dtype_code, bitpix)
    struct.pack_into("<4f", raw, 76, 1.0, *pixdim)
    struct.pack_into("<f", raw, 108, 352.0)
    return bytes(raw)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


SCAN_MAKERS: dict[str, Callable[[Path], Path]] = {
    "empty": lambda f: _write(f / "empty.nii.gz", b""),
    "garbage": lambda f: _write(f / "garbage.nii.gz", np.random.default_rng(1).bytes(3000)),
    "text named nifti": lambda f: _write(f / "text.nii", b"patient: nobody\n" * 40),
    "truncated data": lambda f: _write(f / "truncated.nii", _save(f / "whole.nii", np.ones(SHAPE, np.int16))
                                       .read_bytes()[:800]),
    "truncated gzip": lambda f: _write(f / "truncated.nii.gz", good_scan(f / "whole.nii.gz").read_bytes()[:300]),
    "huge header": lambda f: _write(f / "huge.nii", _raw_header((32767, 32767, 1000)) + b"\0" * 3700),
    "huge header gz": lambda f: _write(f / "huge.nii.gz", gzip.compress(_raw_header((32767, 32767, 1000)) +
                                                                         b"\0" * 3700)),
    "complex voxels": lambda f: _save(f / "complex.nii.gz", (np.ones(SHAPE) + 1j).astype(np.complex64)),
    "rgb voxels": lambda f: _save(f / "rgb.nii.gz", np.zeros(SHAPE, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])),
    "pixdim zero": lambda f: _write(f / "pixdim0.nii", _raw_header(SHAPE, pixdim=(0.0, 0.0, 0.0)) +
                                    b"\0" * (int(np.prod(SHAPE)) * 2)),
    "spacing 0.006 mm": lambda f: _save(f / "tiny.nii.gz", np.ones(SHAPE, np.int16), np.diag([0.006] * 3 + [1.0])),
    "two-dimensional": lambda f: _save(f / "flat.nii.gz", np.ones(SHAPE[:2], np.int16)),
    "five-dimensional": lambda f: _save(f / "five.nii.gz", np.ones((*SHAPE, 2, 2), np.int16)),
    "nan voxels": lambda f: _save(f / "nan.nii.gz", np.full(SHAPE, np.nan, np.float32)),
    "fifo": lambda f: _fifo(f / "x.nii.gz"),
    "folder named nifti": lambda f: _folder(f / "folder.nii.gz"),
    "not a scan": lambda f: _write(f / "notes.txt", b"hello\n"),
}

LABEL_MAKERS: dict[str, Callable[[Path], Path]] = {
    "fractional labels": lambda f: _save(f / "fraction_labels.nii.gz", np.full(SHAPE, 0.5, np.float32)),
    "labels out of range": lambda f: _save(f / "range_labels.nii.gz", np.full(SHAPE, 9, np.int16)),
    "complex labels": lambda f: _save(f / "complex_labels.nii.gz", np.ones(SHAPE, np.complex64)),
    "four-dimensional labels": lambda f: _save(f / "four_labels.nii.gz", np.ones((*SHAPE, 3), np.uint8)),
    "labels on another grid": lambda f: _save(f / "grid_labels.nii.gz", np.ones((6, 6, 6), np.uint8)),
}


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def bad_scans(folder: Path) -> dict[str, Path]:
    """Every kind of bad scan, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind: make(folder) for kind, make in SCAN_MAKERS.items()}


def bad_labels(folder: Path) -> dict[str, Path]:
    """Every kind of bad label file (for :func:`good_scan`'s grid), written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind: make(folder) for kind, make in LABEL_MAKERS.items()}


def bad_dicom(folder: Path) -> dict[str, Path]:
    """DICOM series that are not one volume: mixed matrix sizes, a truncated slice, uneven gaps."""
    from tests.dicom_factory import write_series

    pixels = np.random.default_rng(2).integers(0, 900, (4, 6, 5)).astype(np.uint16)
    mixed, truncated, uneven = folder / "dicom-mixed", folder / "dicom-truncated", folder / "dicom-uneven"
    uid = write_series(mixed, pixels)
    write_series(mixed / "other", pixels[:, :4, :4], series_uid=uid, origin=(10.0, -20.0, 42.0))
    write_series(truncated, pixels)
    damaged = sorted(truncated.glob("*.dcm"))[1]
    damaged.write_bytes(damaged.read_bytes()[:-25])
    write_series(uneven, pixels[:2])
    write_series(uneven / "more", pixels[2:], series_uid=_uid_of(uneven), origin=(10.0, -20.0, 40.0))
    return {"dicom mixed sizes": mixed, "dicom truncated slice": truncated, "dicom uneven gaps": uneven}


def _uid_of(folder: Path) -> str:
    import pydicom

    return str(pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True).SeriesInstanceUID)


def bad_models(folder: Path, good: Path) -> dict[str, Path]:
    """Model files that must be refused, made from the good model file ``good``."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    payload = torch.load(good, weights_only=True)
    card = json.loads(payload["card"])

    def variant(name: str, **changes) -> Path:
        torch.save({**payload, **changes}, folder / name)
        return folder / name

    huge = {**card, "arguments": {**card["arguments"], "channels": [100000, 100000, 100000]}}
    nan_weights = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                   for k, v in payload["weights"].items()}
    code = io.BytesIO()
    torch.save({"format": "legseg-model", "x": _Runs()}, code)
    return {
        "model garbage": _write(folder / "garbage.pt", np.random.default_rng(3).bytes(5000)),
        "model truncated": _write(folder / "truncated.pt", good.read_bytes()[:2000]),
        "model huge channels": variant("huge.pt", card=json.dumps(huge)),
        "model weights not tensors": variant("numbers.pt", weights={"a": 1}),
        "model nan weights": variant("nan.pt", weights=nan_weights),
        "model card not json": variant("card.pt", card="{not json"),
        "model card wrong types": variant("types.pt", card=json.dumps({**card, "arguments": "lots"})),
        "model runs code": _write(folder / "code.pt", code.getvalue()),
        "model fifo": _fifo(folder / "fifo.pt"),
    }


class _Runs:
    """An object whose unpickling would run code (``os.system``), which a model file must never do."""

    def __reduce__(self):
        return (os.system, ("echo ran",))


def bad_tables(folder: Path) -> dict[str, Path]:
    """CSV tables for ``store import`` that cannot be read."""
    folder.mkdir(parents=True, exist_ok=True)
    return {"table not utf-8": _write(folder / "latin1.csv", "case_id,notes\nA,caf\xe9 \xff\n".encode("latin-1")),
            "table binary": _write(folder / "binary.csv", bytes(range(256)) * 4),
            "table empty": _write(folder / "empty.csv", b"")}
