"""DICOM in: a folder with one series (or a chosen one), classic or enhanced multi-frame.

The geometry comes from ImagePositionPatient, ImageOrientationPatient and PixelSpacing (DICOM
LPS, mm). The source array is built in ``(column, row, slice)`` order with the matching RAS+
affine, so the same canonical rules as NIfTI apply and labels can be written back as a NIfTI
that overlays the series. Only technical attributes are kept: nothing that identifies a patient.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.errors import DicomGeometryError, DicomSeriesError, ImageFormatError
from legseg_core.io.canonical import build_volume, check_image_size
from legseg_core.io.volume import Volume

log = logging.getLogger(__name__)

#: Technical attributes copied into Volume.metadata (no patient or study identifiers).
KEPT_ATTRIBUTES = ("Modality", "SeriesDescription", "ProtocolName", "SequenceName", "Manufacturer",
                   "ManufacturerModelName", "MagneticFieldStrength", "RepetitionTime", "EchoTime",
                   "InversionTime", "FlipAngle", "SliceThickness", "ScanningSequence", "ImageType")
#: Free-text attributes kept only with their words scrubbed to MR vocabulary (a name typed there is dropped).
SCRUBBED_ATTRIBUTES = ("SeriesDescription", "ProtocolName")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: Slice positions may stray this far (mm) from an evenly spaced grid: scanners write positions
#: rounded to a few micrometres, and some jitter by that much from slice to slice.
POSITION_TOLERANCE_MM = 0.02
#: ... or this share of the slice gap, whichever is larger.
POSITION_TOLERANCE_SHARE = 0.01


@dataclass(frozen=True)
class _Slice:
    path: Path
    dataset: Any  # header only, pixels read later


def is_dicom_file(path: Path) -> bool:
    """True when the file has the DICOM preamble ('DICM' at byte 128) or a .dcm suffix."""
    if path.suffix.lower() in (".dcm", ".ima"):
        return True
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def load_dicom(path: Path, *, series: str | None = None, **options: Any) -> Volume:
    """Read one DICOM series (from a folder or a single file) into a canonical Volume.

    ``series`` picks a series in a folder holding several, by SeriesInstanceUID, SeriesNumber
    or SeriesDescription; without it such a folder is refused with the list of series.
    """
    slices = _read_headers(path)
    chosen = _choose_series(slices, series, path)
    if len(chosen) == 1 and _frame_count(chosen[0].dataset) > 1:
        first = chosen[0].dataset
        check_image_size((int(getattr(first, "Rows", 0) or 0), int(getattr(first, "Columns", 0) or 0),
                          _frame_count(first)), str(chosen[0].path))
        source, affine = _enhanced_multiframe(chosen[0])
    else:
        source, affine = _classic_series(chosen, path)
    metadata = _technical_metadata(chosen[0].dataset)
    metadata["files"] = len(chosen)
    return build_volume(source, LPS_TO_RAS @ affine, path=str(path), format="dicom", metadata=metadata, **options)


def _frame_count(dataset: Any) -> int:
    try:
        return int(getattr(dataset, "NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        raise DicomGeometryError(f"NumberOfFrames {getattr(dataset, 'NumberOfFrames', None)!r} is not a number") \
            from None


def list_series(path: Path) -> list[dict[str, Any]]:
    """The series in a DICOM folder: uid, number, description and file count."""
    groups = _group_by_series(_read_headers(path))
    return [_describe(uid, members) for uid, members in groups.items()]


def series_headers(path: Path, *, series: str | None = None) -> list[tuple[Path, Any]]:
    """The headers (no pixels) of the images of one DICOM series, as (file, pydicom dataset) pairs.

    The series is chosen as :func:`load_dicom` chooses it; derived objects such as a DICOM SEG
    reference these images."""
    return [(item.path, item.dataset) for item in _choose_series(_read_headers(Path(path)), series, Path(path))]


def _read_headers(path: Path) -> list[_Slice]:
    from pydicom.errors import InvalidDicomError  # imported here: DICOM is read far less often than the program starts

    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    slices = []
    for file in files:
        try:
            dataset = _read_file(str(file), stop_before_pixels=True, force=file == path)
        except (InvalidDicomError, OSError, EOFError, ValueError, TypeError) as error:
            if file == path:
                raise ImageFormatError(f"{path}: not a readable DICOM file ({error})") from None
            log.debug("skipping non-DICOM file %s", file)
            continue
        if "PixelData" in dataset or hasattr(dataset, "Rows"):
            slices.append(_Slice(file, dataset))
    if not slices:
        raise DicomSeriesError(f"{path}: no DICOM images found")
    return slices


def _read_file(path: str, **options: Any) -> Any:
    import pydicom

    return pydicom.dcmread(path, **options)


def _group_by_series(slices: list[_Slice]) -> dict[str, list[_Slice]]:
    groups: dict[str, list[_Slice]] = defaultdict(list)
    for item in slices:
        groups[str(getattr(item.dataset, "SeriesInstanceUID", "unknown"))].append(item)
    return dict(groups)


def _describe(uid: str, members: list[_Slice]) -> dict[str, Any]:
    first = members[0].dataset
    return {"uid": uid, "number": str(getattr(first, "SeriesNumber", "")),
            "description": str(getattr(first, "SeriesDescription", "")), "files": len(members)}


def _choose_series(slices: list[_Slice], series: str | None, path: Path) -> list[_Slice]:
    groups = _group_by_series(slices)
    if series is None and len(groups) == 1:
        return next(iter(groups.values()))
    listing = "\n".join("  uid={uid} number={number} description={description!r} files={files}".format(
        **_describe(uid, members)) for uid, members in groups.items())
    if series is None:
        raise DicomSeriesError(f"{path}: the folder holds {len(groups)} DICOM series; choose one by uid, "
                               f"number or description (--series):\n{listing}")
    matches = [members for uid, members in groups.items()
               if series in (uid, _describe(uid, members)["number"], _describe(uid, members)["description"])]
    if len(matches) != 1:
        found = "no series" if not matches else f"{len(matches)} series"
        raise DicomSeriesError(f"{path}: {found} match {series!r}; the series are:\n{listing}")
    return matches[0]


def _required(dataset: Any, name: str, path: Path) -> Any:
    value = getattr(dataset, name, None)
    if value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0):
        raise DicomGeometryError(f"{path}: the DICOM header has no {name}; LegSeg cannot place the image in space")
    return value


def _frame_geometry(dataset: Any, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Row and column direction cosines, position (LPS mm), pixel spacing (row, col) and thickness."""
    orientation = np.asarray(_required(dataset, "ImageOrientationPatient", path), dtype=float)
    position = np.asarray(_required(dataset, "ImagePositionPatient", path), dtype=float)
    spacing = np.asarray(_required(dataset, "PixelSpacing", path), dtype=float)
    if orientation.shape != (6,) or position.shape != (3,) or spacing.shape != (2,) or np.any(spacing <= 0):
        raise DicomGeometryError(f"{path}: malformed orientation {orientation}, position {position} "
                                 f"or pixel spacing {spacing}")
    thickness = getattr(dataset, "SpacingBetweenSlices", None) or getattr(dataset, "SliceThickness", None)
    return orientation, position, spacing, float(thickness) if thickness not in (None, "") else None


def _affine(orientation: np.ndarray, spacing: np.ndarray, first: np.ndarray, step: np.ndarray) -> np.ndarray:
    """LPS affine of an array indexed (column, row, slice)."""
    affine = np.eye(4)
    affine[:3, 0] = orientation[:3] * spacing[1]
    affine[:3, 1] = orientation[3:] * spacing[0]
    affine[:3, 2] = step
    affine[:3, 3] = first
    return affine


def _pixels(dataset: Any, path: Path) -> np.ndarray:
    try:
        pixels = dataset.pixel_array.astype(np.float32)
    except Exception as error:  # noqa: BLE001 -- pydicom raises many types for missing codecs or bad data
        raise ImageFormatError(f"{path}: cannot decode the DICOM pixel data ({type(error).__name__}: {error})") from None
    slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
    intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
    return pixels * slope + intercept


def _classic_series(slices: list[_Slice], path: Path) -> tuple[np.ndarray, np.ndarray]:
    geometry = [_frame_geometry(s.dataset, s.path) for s in slices]
    orientation, _, spacing, thickness = geometry[0]
    if any(not np.allclose(g[0], orientation, atol=1e-4) for g in geometry):
        raise DicomSeriesError(f"{path}: the series mixes slice orientations; it is not one volume")
    _check_matrix_sizes(slices, path)
    first = slices[0].dataset
    check_image_size((int(getattr(first, "Rows", 0) or 0), int(getattr(first, "Columns", 0) or 0), len(slices)),
                     str(path))
    normal = np.cross(orientation[:3], orientation[3:])
    order = np.argsort([float(g[1] @ normal) for g in geometry], kind="stable")
    positions = np.array([geometry[i][1] for i in order])
    distances = positions @ normal
    unique = _distinct_positions(distances[...])
    if len(unique) != len(slices):
        return _multi_frame_positions(slices, order, unique, distances, orientation, spacing, path)
    step = _slice_step(positions, normal, thickness, path)
    source = np.stack([_pixels(_read_pixels(slices[i].path), slices[i].path).T for i in order], axis=2)
    return source, _affine(orientation, spacing, positions[0], step)


def _check_matrix_sizes(slices: list[_Slice], path: Path) -> None:
    """Refuse a series whose images differ in rows x columns (it is not one volume)."""
    sizes: dict[tuple[int, int], Path] = {}
    for item in slices:
        size = (int(getattr(item.dataset, "Rows", 0) or 0), int(getattr(item.dataset, "Columns", 0) or 0))
        sizes.setdefault(size, item.path)
    if len(sizes) > 1:
        listing = ", ".join(f"{rows} x {columns} (e.g. {file.name})" for (rows, columns), file in sizes.items())
        raise DicomSeriesError(f"{path}: the series mixes image sizes {listing}; it is not one volume "
                               "(choose one series with --series, or separate the files)")


def _read_pixels(path: Path) -> Any:
    """The whole dataset of one file (header and pixels), refused with the file's own name when damaged."""
    from pydicom.errors import InvalidDicomError

    try:
        return _read_file(str(path))
    except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ImageFormatError(f"{path}: the DICOM file is damaged or truncated ({type(error).__name__}: "
                               f"{error})") from None


def _distinct_positions(distances: np.ndarray) -> np.ndarray:
    """The distinct slice positions (mm along the normal), positions closer than the tolerance counting as one."""
    ordered = np.sort(np.asarray(distances, dtype=float))
    if ordered.size == 0:
        return ordered
    starts = np.concatenate([[True], np.diff(ordered) > POSITION_TOLERANCE_MM])
    groups = np.cumsum(starts) - 1
    return np.array([ordered[groups == g].mean() for g in range(int(groups[-1]) + 1)])


def _nearest_position(value: float, unique: np.ndarray) -> int:
    return int(np.argmin(np.abs(unique - value)))


def _slice_step(positions: np.ndarray, normal: np.ndarray, thickness: float | None, path: Path) -> np.ndarray:
    if len(positions) == 1:
        if thickness is None:
            raise DicomGeometryError(f"{path}: a single slice without SliceThickness or SpacingBetweenSlices")
        return normal * thickness
    step = (positions[-1] - positions[0]) / (len(positions) - 1)
    grid = positions[0] + np.arange(len(positions))[:, None] * step
    tolerance = max(POSITION_TOLERANCE_MM, POSITION_TOLERANCE_SHARE * float(np.linalg.norm(step)))
    if float(np.abs(positions - grid).max()) > tolerance:
        gaps = np.round(np.linalg.norm(np.diff(positions, axis=0), axis=1), 3)
        raise DicomGeometryError(f"{path}: slices are not evenly spaced (gaps {sorted(set(gaps.tolist()))} mm, "
                                 f"more than {tolerance:.3g} mm off an even grid)")
    return step


def _multi_frame_positions(slices, order, unique, distances, orientation, spacing, path):
    """Several images per position (multi-echo or diffusion in one series): a 4D source."""
    frames = len(slices) // len(unique)
    if frames * len(unique) != len(slices):
        raise DicomSeriesError(f"{path}: {len(slices)} images on {len(unique)} positions do not form a 4D series")
    by_position: dict[int, list[_Slice]] = defaultdict(list)
    for i in order:
        by_position[_nearest_position(float(distances[i]), unique)].append(slices[i])
    if any(len(members) != frames for members in by_position.values()):
        raise DicomSeriesError(f"{path}: {len(slices)} images on {len(unique)} positions do not form a 4D series "
                               "(positions hold different numbers of images)")
    stacks = []
    for key in range(len(unique)):
        members = sorted(by_position[key], key=lambda s: (int(getattr(s.dataset, "EchoNumbers", 0) or 0),
                                                          int(getattr(s.dataset, "InstanceNumber", 0) or 0)))
        stacks.append([_pixels(_read_pixels(s.path), s.path).T for s in members])
    source = np.stack([np.stack(frame_list, axis=-1) for frame_list in stacks], axis=2)
    first = [_frame_geometry(by_position[k][0].dataset, path)[1] for k in range(len(unique))]
    step = _slice_step(np.array(first), np.cross(orientation[:3], orientation[3:]), None, path)
    return source, _affine(orientation, spacing, first[0], step)


def _enhanced_multiframe(item: _Slice) -> tuple[np.ndarray, np.ndarray]:
    dataset = _read_pixels(item.path)
    shared = _first(getattr(dataset, "SharedFunctionalGroupsSequence", None))
    per_frame = list(getattr(dataset, "PerFrameFunctionalGroupsSequence", []) or [])
    if not per_frame:
        raise DicomGeometryError(f"{item.path}: a multi-frame file without per-frame geometry")
    orientation = np.asarray(_functional(per_frame[0], shared, "PlaneOrientationSequence",
                                         "ImageOrientationPatient", item.path), dtype=float)
    spacing = np.asarray(_functional(per_frame[0], shared, "PixelMeasuresSequence", "PixelSpacing", item.path),
                         dtype=float)
    positions = np.array([_functional(f, None, "PlanePositionSequence", "ImagePositionPatient", item.path)
                          for f in per_frame], dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    order = np.argsort(positions @ normal, kind="stable")
    pixels = _pixels(dataset, item.path)
    unique = _distinct_positions(positions[order] @ normal)
    frames = len(order) // len(unique)
    if frames * len(unique) != len(order):
        raise DicomSeriesError(f"{item.path}: {len(order)} frames on {len(unique)} positions do not form a volume")
    stacked = pixels[order].reshape(len(unique), frames, *pixels.shape[1:])  # (slice, frame, row, col)
    source = stacked.transpose(3, 2, 0, 1)  # (col, row, slice, frame)
    source = source[..., 0] if frames == 1 else source
    thickness = _functional(per_frame[0], shared, "PixelMeasuresSequence", "SliceThickness", item.path, required=False)
    step = _slice_step(positions[order][::frames], normal, float(thickness) if thickness else None, item.path)
    return source, _affine(orientation, spacing, positions[order][0], step)


def _first(sequence: Any) -> Any:
    return sequence[0] if sequence else None


def _functional(frame: Any, shared: Any, sequence: str, name: str, path: Path, required: bool = True) -> Any:
    for group in (frame, shared):
        item = _first(getattr(group, sequence, None)) if group is not None else None
        value = getattr(item, name, None) if item is not None else None
        if value not in (None, ""):
            return value
    if required:
        raise DicomGeometryError(f"{path}: the multi-frame header has no {name} in {sequence}")
    return None


def _technical_metadata(dataset: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for name in KEPT_ATTRIBUTES:
        value = getattr(dataset, name, None)
        if value in (None, ""):
            continue
        text = value if isinstance(value, (int, float)) else str(value)
        metadata[name] = scrub_description(str(text)) if name in SCRUBBED_ATTRIBUTES else text
    return metadata


#: Words an MR series or protocol description is made of; any other word is replaced by '*'.
DESCRIPTION_WORDS = frozenset("""
t1 t2 t2s t1w t2w pd pdw dixon mdixon ideal water fat in opp out phase ip op w f wf fw tse fse se gre ge flash vibe
fl fl2d fl3d lava dwi dti adc epi ep2d diff trace fa md stir tirm space cube vista tra cor sag ax axial coronal
sagittal oblique calf calves leg legs lower upper thigh knee ankle left right lt rt bilat bilateral both fs fatsat
spair spir mese mse multi echo echoes me qmri map maps mapping localizer localiser loc scout survey iso hr high res
resolution nd norm dis2d dis3d post pre contrast gd muscle muscles b0 vol volume mpr mip recon sub sense asset grappa
ipat cs caipi fast turbo spin gradient inversion recovery ir flair haste ssfp trufi bssfp dynamic dyn tof proton
density weighted quant quantitative mag magnitude real imag imaginary pha ph t2map t1map mes fsat nofs wip rest
exercise thick thin slice slices slab whole body wb
""".split())


#: Short tokens of letters and digits that name parameters (t2, b800, te12, 3d, 2.5mm) are kept too.
TECHNICAL_TOKEN = r"[a-z]{0,2}\d+[a-z0-9]{0,3}|\d+(\.\d+)?[a-z]{0,3}"


def scrub_description(text: str) -> str:
    """A series or protocol description with every word that is not MR vocabulary replaced by '*'."""
    import re

    def keep(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        technical = lower in DESCRIPTION_WORDS or re.fullmatch(TECHNICAL_TOKEN, lower)
        return word if technical else "*"
    return re.sub(r"[A-Za-z0-9]+(?:\.[0-9]+)?", keep, text)[:100]
