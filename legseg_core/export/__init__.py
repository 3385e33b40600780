"""Labels out to the formats other tools open: DICOM SEG, ITK-SNAP, 3D Slicer and BIDS derivatives.

Every format takes a ``[z, y, x]`` uint8 label array on the grid of a scan (a
:class:`~legseg_core.io.Volume`) and names, colours and label values from
:mod:`legseg_core.labels`, the one table of the seven muscles:

- ``dicom-seg``: a DICOM Segmentation object (highdicom) referencing the source DICOM series,
  one segment per muscle with its name and colour; for a NIfTI scan the DICOM series it was
  converted from must be named (``reference_dicom``), and must share its grid;
- ``itksnap``: the labels as NIfTI and an ITK-SNAP label description file;
- ``slicer``: a 3D Slicer segmentation, ``.seg.nrrd`` with segment names, colours, label values;
- ``bids``: a BIDS derivatives dataset, ``*_dseg.nii.gz`` with its ``*_dseg.tsv`` lookup table.

:func:`export_labels` writes one format into a folder and returns the files written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from legseg_core.errors import GridMismatchError, ImageValueError, InputPathError, LegsegError

if TYPE_CHECKING:  # numpy and the image reader come with the first export, not with `legseg --help`
    import numpy as np

    from legseg_core.io import Volume

#: The export formats, as the command line, the app and napari name them.
EXPORT_FORMATS: tuple[str, ...] = ("dicom-seg", "itksnap", "slicer", "bids")
FORMAT_TITLES = {"dicom-seg": "DICOM SEG (PACS, OHIF, 3D Slicer)", "itksnap": "ITK-SNAP (NIfTI + label file)",
                 "slicer": "3D Slicer segmentation (.seg.nrrd)", "bids": "BIDS derivatives (dseg.nii.gz + dseg.tsv)"}


class ExportError(LegsegError):
    """Labels cannot be written in a format: a missing reference, a wrong grid, a folder that cannot be written."""


def check_labels(labels: np.ndarray, like: Volume) -> np.ndarray:
    """The labels as uint8 ``[z, y, x]`` on ``like``'s grid, with values 0..7, or a clear error."""
    import numpy as np

    labels = np.asarray(labels)
    if labels.shape != like.shape:
        raise GridMismatchError(f"labels of shape {labels.shape} do not fit the scan {like.name} of shape {like.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 7):
        raise ImageValueError(f"label values must lie in 0..7 to export, found {labels.min()}..{labels.max()}")
    return labels.astype(np.uint8, copy=False)


def output_folder(folder: str | Path) -> Path:
    """Create the export folder if needed; refuse a path that is a file."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputPathError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputPathError(f"{folder}: cannot create the export folder ({error.strerror})") from error
    return folder


def export_labels(fmt: str, labels: np.ndarray, like: Volume, folder: str | Path, stem: str, *,
                  reference_dicom: str | Path | None = None, series: str | None = None,
                  model: str = "") -> list[Path]:
    """Write ``labels`` (``[z, y, x]`` on ``like``'s grid) in format ``fmt`` into ``folder``; the files written.

    ``stem`` names the files (e.g. the scan's name). ``reference_dicom`` is the DICOM series of a
    NIfTI scan (DICOM SEG only); ``series`` picks one series of a folder holding several;
    ``model`` names what made the labels (recorded where the format has a place for it).
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    labels = check_labels(labels, like)
    folder = output_folder(folder)
    if fmt == "dicom-seg":
        from legseg_core.export.dicom_seg import write_dicom_seg

        return [write_dicom_seg(labels, like, folder / f"{stem}_seg.dcm", reference_dicom=reference_dicom,
                                series=series, model=model)]
    if fmt == "itksnap":
        from legseg_core.export.itksnap import write_itksnap

        return write_itksnap(labels, like, folder, stem)
    if fmt == "slicer":
        from legseg_core.export.slicer import write_slicer_segmentation

        return [write_slicer_segmentation(labels, like, folder / f"{stem}.seg.nrrd")]
    from legseg_core.export.bids import write_bids_dseg

    return write_bids_dseg(labels, like, folder, stem, model=model)


def needs_reference_dicom(fmt: str, like_format: str) -> bool:
    """True when ``fmt`` needs a reference DICOM series for a scan read from ``like_format`` ('nifti', 'dicom')."""
    return fmt == "dicom-seg" and like_format != "dicom"
