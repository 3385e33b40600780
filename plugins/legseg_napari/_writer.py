"""napari writers: a labels layer to NIfTI on its scan's grid, or to DICOM SEG, 3D Slicer, ITK-SNAP or BIDS.

The file name chooses the format (napari's save dialog lists each writer by name):
``.nii``/``.nii.gz`` NIfTI; ``.dcm`` DICOM SEG referencing the scan's DICOM series; ``.seg.nrrd``
3D Slicer segmentation; the ITK-SNAP writer saves ``NAME.nii.gz`` with ``NAME_itksnap.txt``;
the BIDS writer makes the folder of ``NAME.nii.gz`` a derivatives dataset for the scan ``NAME``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _like(data: Any, meta: dict[str, Any]) -> Any:
    """The Volume the layer was drawn on (LegSeg's layers carry it), else a canonical grid with the layer's scale."""
    from legseg_core.io import Volume

    like = (meta.get("metadata") or {}).get("legseg_volume")
    if like is None:
        scale = tuple(meta.get("scale") or (1.0, 1.0, 1.0))[-3:]
        like = Volume.from_array(np.zeros(np.shape(data), np.uint8), spacing=scale)
    return like


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".seg.nrrd", ".nrrd", ".nii.gz", ".nii", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write a labels layer as uint8 NIfTI.

    When the layer carries the source scan (``metadata['legseg_volume']``, set by LegSeg's
    reader and widgets) the file gets that scan's exact grid and affine; otherwise a canonical
    grid with the layer's scale as spacing (mm).
    """
    from legseg_core.io import save_labels

    return [str(save_labels(np.asarray(data), _like(data, meta), path))]


def _export(fmt: str, path: str, data: Any, meta: dict[str, Any], folder: Path | None = None) -> list[str]:
    from legseg_core.export import export_labels

    target = Path(path).expanduser()
    model = str((meta.get("metadata") or {}).get("legseg_model") or "")
    files = export_labels(fmt, np.asarray(data), _like(data, meta), folder or target.parent, _stem(target),
                          model=model)
    return [str(p) for p in files]


def write_dicom_seg(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """A labels layer of a DICOM scan as a DICOM SEG file (``path``, ``.dcm``) referencing that series."""
    from legseg_core.export import check_labels, output_folder
    from legseg_core.export.dicom_seg import write_dicom_seg as write

    target = Path(path).expanduser()
    output_folder(target.parent)
    like = _like(data, meta)
    model = str((meta.get("metadata") or {}).get("legseg_model") or "")
    return [str(write(check_labels(np.asarray(data), like), like, target, model=model))]


def write_slicer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """A labels layer as a 3D Slicer segmentation (``NAME.seg.nrrd``) with the muscles' names and colours."""
    return _export("slicer", path, data, meta)


def write_itksnap(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """A labels layer as ``NAME_labels.nii.gz`` and the ITK-SNAP label description ``NAME_itksnap.txt``."""
    return _export("itksnap", path, data, meta)


def write_bids(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """A labels layer as BIDS derivatives: the folder of ``path`` is the dataset, its name the scan's."""
    return _export("bids", path, data, meta)
