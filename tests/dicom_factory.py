"""Write small DICOM series with pydicom, for the reader's tests (classic and enhanced multi-frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"


def _base(sop_class: str, series_uid: str, description: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesDescription = description
    ds.SeriesNumber = 7
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-12345"
    ds.PatientBirthDate = "19700101"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    return ds


def write_series(folder: Path, pixels: np.ndarray, *, row_direction=(1.0, 0.0, 0.0), column_direction=(0.0, 1.0, 0.0),
                 pixel_spacing=(0.8, 0.7), slice_step=3.0, origin=(10.0, -20.0, 30.0), description="t1w axial",
                 series_uid: str | None = None, omit: tuple[str, ...] = (), shuffle: bool = True) -> str:
    """Write ``pixels`` [slice, row, column] (uint16) as one file per slice; return the series UID.

    Slice k lies at ``origin + k * slice_step * normal`` (LPS mm), normal = row x column direction.
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    normal = np.cross(row_direction, column_direction)
    order = np.random.default_rng(0).permutation(len(pixels)) if shuffle else np.arange(len(pixels))
    for k in order:
        ds = _base(MR_IMAGE_STORAGE, series_uid, description)
        ds.InstanceNumber = int(k) + 1
        ds.Rows, ds.Columns = pixels.shape[1:]
        ds.ImageOrientationPatient = [float(v) for v in (*row_direction, *column_direction)]
        ds.ImagePositionPatient = [float(v) for v in np.asarray(origin) + k * slice_step * normal]
        ds.PixelSpacing = [float(v) for v in pixel_spacing]
        ds.SliceThickness = float(slice_step)
        for name in omit:
            if name in ds:
                delattr(ds, name)
        ds.PixelData = np.ascontiguousarray(pixels[k], dtype=np.uint16).tobytes()
        ds.save_as(folder / f"img{k:03d}_{series_uid[-6:]}.dcm", enforce_file_format=True)
    return series_uid


def write_enhanced(path: Path, pixels: np.ndarray, *, pixel_spacing=(0.8, 0.7), slice_step=3.0,
                   origin=(10.0, -20.0, 30.0)) -> Path:
    """Write ``pixels`` [slice, row, column] as one enhanced multi-frame MR file, axial LPS."""
    ds = _base(ENHANCED_MR_IMAGE_STORAGE, generate_uid(), "enhanced axial")
    ds.NumberOfFrames = len(pixels)
    ds.Rows, ds.Columns = pixels.shape[1:]
    shared = Dataset()
    orientation, measures = Dataset(), Dataset()
    orientation.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    measures.PixelSpacing = [float(v) for v in pixel_spacing]
    measures.SliceThickness = float(slice_step)
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for k in range(len(pixels)):
        position, frame = Dataset(), Dataset()
        position.ImagePositionPatient = [float(origin[0]), float(origin[1]), float(origin[2] + k * slice_step)]
        frame.PlanePositionSequence = Sequence([position])
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
