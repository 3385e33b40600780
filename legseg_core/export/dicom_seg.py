"""DICOM SEG: the seven muscles as a DICOM Segmentation object that references the source series.

The segmentation is written with highdicom as a BINARY segmentation with one segment per muscle:
segment number = LegSeg label value (1..7), segment label ``"<abbr> <name>"``, category Tissue,
type Skeletal muscle, anatomic region Muscle of lower limb, and the muscle's colour as the
recommended display colour (CIELab). Frames follow the source images: for each image of the
series (the first image of each slice position in a multi-echo series; each frame of an enhanced
multi-frame file) the frame holds the labels of that image's plane. Empty frames are left out.

The SEG copies the patient and study modules of the source images, as the standard requires for
it to sit beside them in a PACS; nothing else of the source is copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from legseg_core import __version__
from legseg_core.errors import LegsegError
from legseg_core.export import ExportError
from legseg_core.io import Volume, load_volume
from legseg_core.io.dicom import series_headers
from legseg_core.labels import MUSCLES

#: The option (command line) that names the DICOM series of a NIfTI scan.
REFERENCE_OPTION = "--reference-dicom"
SEG_SERIES_NUMBER = 901
#: Type 2 attributes (present, may be empty) of the patient and study modules a SEG copies from its source.
TYPE2_ATTRIBUTES = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "StudyDate",
                    "StudyTime", "ReferringPhysicianName", "AccessionNumber")


def reference_series(like: Volume, reference_dicom: str | Path | None, series: str | None) -> tuple[Path, Volume]:
    """The DICOM series the SEG references and that series read as a Volume on ``like``'s grid."""
    from legseg_core.io import check_same_grid

    if reference_dicom is None:
        if like.geometry.format != "dicom" or like.geometry.path is None:
            source = like.geometry.path or like.name
            raise ExportError(f"{source}: DICOM SEG needs the DICOM series this {like.geometry.format} scan was made "
                              f"from; name it with {REFERENCE_OPTION} DICOM_FOLDER")
        path = Path(like.geometry.path)
        reference = like
    else:
        path = Path(reference_dicom).expanduser()
        reference = load_volume(path, series=series)
        if reference.geometry.format != "dicom":
            raise ExportError(f"{REFERENCE_OPTION} {path}: not a DICOM series")
        check_same_grid(like, reference, what=f"the DICOM series {path} ({REFERENCE_OPTION})")
    return path, reference


def _complete(images: list[Any]) -> list[Any]:
    """Copies of the source headers with the type 2 attributes a SEG copies set (empty) where the files lack
    them, and one frame of reference for a series that names none."""
    import copy

    from pydicom.uid import generate_uid

    frame_of_reference = generate_uid()
    completed = []
    for dataset in images:
        dataset = copy.deepcopy(dataset)
        for name in TYPE2_ATTRIBUTES:
            if name not in dataset:
                setattr(dataset, name, "")
        if "FrameOfReferenceUID" not in dataset:
            dataset.FrameOfReferenceUID = frame_of_reference
        completed.append(dataset)
    return completed


def _sorted_images(headers: list[tuple[Path, Any]]) -> list[Any]:
    """One header per slice position, ordered along the slice normal as the reader orders them."""
    orientation = np.asarray(headers[0][1].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    distances = [round(float(np.asarray(h.ImagePositionPatient, dtype=float) @ normal), 3) for _, h in headers]
    chosen: dict[float, Any] = {}
    for index in np.argsort(distances, kind="stable"):
        header = headers[int(index)][1]
        key = distances[int(index)]
        best = chosen.get(key)
        if best is None or _echo_order(header) < _echo_order(best):
            chosen[key] = header
    return [chosen[key] for key in sorted(chosen)]


def _echo_order(header: Any) -> tuple[int, int]:
    return int(getattr(header, "EchoNumbers", 0) or 0), int(getattr(header, "InstanceNumber", 0) or 0)


def _frame_planes(dataset: Any) -> np.ndarray:
    """For an enhanced multi-frame image: each frame's slice rank along the normal (0 = first plane)."""
    frames = list(dataset.PerFrameFunctionalGroupsSequence)
    shared = dataset.SharedFunctionalGroupsSequence[0]
    orientation_item = getattr(frames[0], "PlaneOrientationSequence", None) or shared.PlaneOrientationSequence
    orientation = np.asarray(orientation_item[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    distances = np.round([np.asarray(f.PlanePositionSequence[0].ImagePositionPatient, dtype=float) @ normal
                          for f in frames], 3)
    return np.unique(distances, return_inverse=True)[1].ravel()


def source_frames(labels: np.ndarray, reference: Volume, headers: list[tuple[Path, Any]]) -> tuple[list[Any], np.ndarray]:
    """The source images the SEG references and the label frames ``[frame, row, column]`` that go with them."""
    planes = reference.geometry.to_source_array(labels)  # (column, row, slice) in the series' slice order
    frames = np.ascontiguousarray(planes.transpose(2, 1, 0))  # (slice, row, column)
    if len(headers) == 1 and int(getattr(headers[0][1], "NumberOfFrames", 1) or 1) > 1:
        import pydicom

        dataset = pydicom.dcmread(str(headers[0][0]), stop_before_pixels=True)
        return [dataset], frames[_frame_planes(dataset)]
    images = _sorted_images(headers)
    if len(images) != frames.shape[0]:
        raise ExportError(f"{reference.name}: {len(images)} slice positions in the DICOM series but "
                          f"{frames.shape[0]} slices in the labels")
    return images, frames


def segment_descriptions(*, algorithm: str, model: str) -> list[Any]:
    """One highdicom segment description per muscle, numbered by label value, in the muscle's colour."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    identification = hd.AlgorithmIdentificationSequence(
        name=(model or "LegSeg")[:64], version=__version__, family=codes.cid7162.ArtificialIntelligence)
    descriptions = []
    for muscle in MUSCLES:
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=muscle.id, segment_label=f"{muscle.abbr} {muscle.name}"[:64],
            segmented_property_category=codes.SCT.Tissue, segmented_property_type=codes.SCT.SkeletalMuscle,
            algorithm_type=algorithm, algorithm_identification=identification if algorithm != "MANUAL" else None,
            tracking_id=muscle.abbr, tracking_uid=hd.UID(), anatomic_regions=[codes.SCT.MuscleOfLowerLimb],
            display_color=hd.color.CIELabColor.from_rgb(*muscle.color)))
    return descriptions


def write_dicom_seg(labels: np.ndarray, like: Volume, path: str | Path, *, reference_dicom: str | Path | None = None,
                    series: str | None = None, model: str = "", algorithm: str = "AUTOMATIC") -> Path:
    """Write the ``[z, y, x]`` labels of ``like`` as a DICOM SEG file referencing its DICOM series.

    ``reference_dicom`` names that series when ``like`` was read from NIfTI; its grid must be
    ``like``'s. ``algorithm`` is AUTOMATIC (a model's labels), SEMIAUTOMATIC (corrected) or MANUAL.
    """
    import highdicom as hd

    folder, reference = reference_series(like, reference_dicom, series)
    try:
        headers = series_headers(folder, series=series)
    except LegsegError as error:
        raise ExportError(f"DICOM SEG: {error}") from None
    images, frames = source_frames(labels, reference, headers)
    images = _complete(images)
    try:
        seg = hd.seg.Segmentation(
            source_images=images, pixel_array=frames, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=segment_descriptions(algorithm=algorithm, model=model),
            series_instance_uid=hd.UID(), series_number=SEG_SERIES_NUMBER, sop_instance_uid=hd.UID(),
            instance_number=1, manufacturer="LegSeg", manufacturer_model_name=(model or "LegSeg")[:64],
            software_versions=__version__, device_serial_number="none",
            series_description="LegSeg lower-leg muscles", content_label="MUSCLES",
            content_description="seven lower-leg muscles")
    except (ValueError, AttributeError, TypeError) as error:
        raise ExportError(f"{folder}: cannot build a DICOM SEG on this series ({error})") from None
    path = Path(path)
    try:
        seg.save_as(str(path))
    except OSError as error:
        raise ExportError(f"{path}: cannot write the DICOM SEG ({error.strerror})") from None
    return path
