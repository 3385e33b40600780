"""Exports read back by the tools' own readers (highdicom, pydicom, pynrrd, nibabel) match the labels exactly."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from legseg_core.export import ExportError, export_labels
from legseg_core.export.slicer import read_slicer_segments
from legseg_core.io import Volume, load_volume, save_image
from legseg_core.labels import MUSCLES, read_itksnap_label_file
from tests.dicom_factory import write_enhanced, write_series

SHAPE = (6, 20, 24)  # [z, y, x]


def muscle_labels(shape: tuple[int, int, int] = SHAPE, seed: int = 0) -> np.ndarray:
    """Blocks of all seven muscles and background, different on every slice (no symmetry hides a flip)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint8)
    for muscle in MUSCLES:
        z, y, x = (int(rng.integers(0, s - 3)) for s in shape)
        labels[z:z + 3, y:y + 5, x:x + 4] = muscle.id
    labels[0, 0, 1] = 7  # one corner voxel: orientation errors move it
    return labels


def dicom_scan(tmp_path, **geometry) -> Volume:
    """A DICOM series (files shuffled) with a non-trivial orientation, read as LegSeg reads it."""
    pixels = np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) % 900
    write_series(tmp_path / "dicom", pixels, **geometry)
    return load_volume(tmp_path / "dicom")


def seg_labels_by_image(seg, folder) -> dict[str, np.ndarray]:
    """The SEG's label frame for each source image (combined segments: pixel value = segment number)."""
    import pydicom

    uids = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in sorted(folder.iterdir())]
    frames = seg.get_pixels_by_source_instance(uids, combine_segments=True, skip_overlap_checks=True,
                                            assert_missing_frames_are_empty=True)
    return dict(zip(uids, frames))


def expected_frames(labels: np.ndarray, folder) -> dict[str, np.ndarray]:
    """Each source image's labels, found through its own ImagePositionPatient against the scan's geometry."""
    import pydicom

    volume = load_volume(folder)
    planes = volume.geometry.to_source_array(labels)  # (column, row, slice)
    datasets = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(folder.iterdir())]
    normal = np.cross(*np.reshape(np.asarray(datasets[0].ImageOrientationPatient, float), (2, 3)))
    distances = [float(np.asarray(d.ImagePositionPatient, float) @ normal) for d in datasets]
    ranks = np.argsort(np.argsort(distances))
    return {d.SOPInstanceUID: planes[:, :, r].T for d, r in zip(datasets, ranks)}


@pytest.mark.parametrize("geometry", [{}, {"row_direction": (-1.0, 0.0, 0.0), "column_direction": (0.0, 0.0, -1.0)}],
                         ids=["axial", "coronal-flipped"])
def test_dicom_seg_of_a_dicom_scan_holds_each_muscle_on_its_source_image(tmp_path, geometry) -> None:
    import highdicom as hd
    import pydicom

    scan = dicom_scan(tmp_path, **geometry)
    labels = muscle_labels(scan.shape)
    [path] = export_labels("dicom-seg", labels, scan, tmp_path / "out", "calf", model="unet-test")
    seg = hd.seg.segread(path)
    expected = expected_frames(labels, tmp_path / "dicom")
    found = seg_labels_by_image(seg, tmp_path / "dicom")
    assert found.keys() == expected.keys()
    for uid, frame in expected.items():
        np.testing.assert_array_equal(found[uid], frame)
    dataset = pydicom.dcmread(path)
    assert dataset.Modality == "SEG" and dataset.SegmentationType == "BINARY"
    for item, muscle in zip(dataset.SegmentSequence, MUSCLES):
        assert item.SegmentNumber == muscle.id and item.SegmentLabel == f"{muscle.abbr} {muscle.name}"
        rgb = hd.color.CIELabColor.from_dicom_value(tuple(item.RecommendedDisplayCIELabValue)).to_rgb()
        assert np.max(np.abs(np.subtract(rgb, muscle.color))) <= 1, muscle.abbr


def test_dicom_seg_of_an_enhanced_multiframe_scan_follows_its_frames(tmp_path) -> None:
    import highdicom as hd
    import pydicom

    pixels = (np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) % 700)
    path = write_enhanced(tmp_path / "enhanced.dcm", pixels)
    scan = load_volume(path)
    labels = muscle_labels(scan.shape, seed=3)
    [out] = export_labels("dicom-seg", labels, scan, tmp_path / "out", "calf")
    seg = hd.seg.segread(out)
    source = pydicom.dcmread(path)
    frames = seg.get_pixels_by_source_frame(source.SOPInstanceUID, list(range(1, SHAPE[0] + 1)),
                                            combine_segments=True, skip_overlap_checks=True,
                                            assert_missing_frames_are_empty=True)
    planes = scan.geometry.to_source_array(labels).transpose(2, 1, 0)
    np.testing.assert_array_equal(frames, planes)


def test_dicom_seg_for_a_nifti_scan_takes_the_dicom_series_it_came_from(tmp_path) -> None:
    import highdicom as hd

    scan = dicom_scan(tmp_path)
    nifti = load_volume(save_image(scan.data, scan, tmp_path / "scan.nii.gz"))
    labels = muscle_labels(scan.shape, seed=5)
    with pytest.raises(ExportError, match=r"scan\.nii\.gz: DICOM SEG needs the DICOM series this nifti scan was made "
                       r"from; name it with --reference-dicom DICOM_FOLDER"):
        export_labels("dicom-seg", labels, nifti, tmp_path / "out", "calf")
    [path] = export_labels("dicom-seg", labels, nifti, tmp_path / "out", "calf", reference_dicom=tmp_path / "dicom")
    found = seg_labels_by_image(hd.seg.segread(path), tmp_path / "dicom")
    for uid, frame in expected_frames(labels, tmp_path / "dicom").items():
        np.testing.assert_array_equal(found[uid], frame)


def test_a_reference_dicom_on_another_grid_is_refused(tmp_path) -> None:
    from legseg_core.errors import GridMismatchError

    scan = dicom_scan(tmp_path)
    other = Volume.from_array(np.zeros(SHAPE, np.float32), spacing=(2.0, 1.0, 1.0))
    with pytest.raises(GridMismatchError, match="--reference-dicom"):
        export_labels("dicom-seg", muscle_labels(), other, tmp_path / "out", "calf", reference_dicom=tmp_path / "dicom")
    assert scan.shape == SHAPE


def test_slicer_segmentation_holds_names_colours_values_and_the_grid(tmp_path) -> None:
    import nrrd

    scan = Volume.from_array(np.zeros(SHAPE, np.float32), spacing=(4.0, 0.8, 0.7), origin=(5.0, -3.0, 12.0))
    labels = muscle_labels()
    [path] = export_labels("slicer", labels, scan, tmp_path, "calf")
    assert path.name == "calf.seg.nrrd"
    data, header = nrrd.read(str(path))
    np.testing.assert_array_equal(data.transpose(2, 1, 0), labels)
    assert header["space"] == "left-posterior-superior"
    lps = np.diag([-1.0, -1.0, 1.0]) @ scan.affine[:3, :]
    np.testing.assert_allclose(np.asarray(header["space directions"]).T, lps[:, :3])
    np.testing.assert_allclose(header["space origin"], lps[:, 3])
    segments = read_slicer_segments(header)
    assert sorted(segments) == [m.id for m in MUSCLES]
    for muscle in MUSCLES:
        identifier, name, color = segments[muscle.id]
        assert (identifier, name) == (muscle.abbr, f"{muscle.abbr} {muscle.name}")
        assert np.allclose(np.multiply(color, 255), muscle.color, atol=0.01)


def test_itksnap_export_is_the_labels_and_their_label_description(tmp_path) -> None:
    scan = Volume.from_array(np.zeros(SHAPE, np.float32), spacing=(4.0, 0.8, 0.7))
    labels = muscle_labels()
    image, table = export_labels("itksnap", labels, scan, tmp_path, "calf")
    np.testing.assert_array_equal(load_volume(image).data, labels)
    entries = read_itksnap_label_file(table)
    for muscle in MUSCLES:
        assert entries[muscle.id] == (f"{muscle.abbr} {muscle.name}", muscle.color)


def test_bids_derivatives_keep_the_entities_and_carry_the_lookup_table(tmp_path) -> None:
    import nibabel as nib

    scan = Volume.from_array(np.zeros(SHAPE, np.float32), spacing=(4.0, 0.8, 0.7))
    labels = muscle_labels()
    description, image, table = export_labels("bids", labels, scan, tmp_path / "derivatives", "sub-03_ses-2_T1w",
                                              model="unet-lite-starter")
    assert image.relative_to(tmp_path / "derivatives").as_posix() == \
        "sub-03/ses-2/anat/sub-03_ses-2_desc-muscles_dseg.nii.gz"
    assert table.name == "sub-03_ses-2_desc-muscles_dseg.tsv"
    assert json.loads(description.read_text())["DatasetType"] == "derivative"
    np.testing.assert_array_equal(load_volume(image).data, labels)
    assert nib.load(str(image)).get_data_dtype() == np.uint8
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(int(r["index"]), r["name"], r["abbreviation"]) for r in rows] == [(m.id, m.name, m.abbr) for m in MUSCLES]
    assert [r["color"] for r in rows] == ["#{:02x}{:02x}{:02x}".format(*m.color) for m in MUSCLES]


def test_a_scan_without_bids_entities_becomes_a_subject(tmp_path) -> None:
    scan = Volume.from_array(np.zeros(SHAPE, np.float32))
    _, image, _ = export_labels("bids", muscle_labels(), scan, tmp_path, "calf_left.v2")
    assert image.name == "sub-calfleftv2_desc-muscles_dseg.nii.gz"


def test_labels_outside_the_muscle_ids_or_the_grid_are_refused(tmp_path) -> None:
    from legseg_core.errors import GridMismatchError, ImageValueError

    scan = Volume.from_array(np.zeros(SHAPE, np.float32))
    with pytest.raises(ImageValueError, match="0..7"):
        export_labels("slicer", np.full(SHAPE, 9, np.uint8), scan, tmp_path, "calf")
    with pytest.raises(GridMismatchError, match=r"shape \(6, 20, 23\)"):
        export_labels("bids", np.zeros((6, 20, 23), np.uint8), scan, tmp_path, "calf")
    with pytest.raises(ExportError, match="unknown export format 'vtk'"):
        export_labels("vtk", muscle_labels(), scan, tmp_path, "calf")
