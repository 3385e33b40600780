"""Volume I/O: the canonical axis contract on real and written scans, and every bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from legseg_core.errors import (DicomGeometryError, DicomSeriesError, GridMismatchError, ImageFormatError,
                                ImageShapeError, ImageValueError, InputPathError, LegsegError, OrientationError)
from legseg_core.io import list_series, load_labels, load_volume, save_image, save_labels
from legseg_core.io.volume import Volume
from tests.dicom_factory import write_enhanced, write_series

# ---- the real scans ------------------------------------------------------------------------


def test_real_labels_load_on_the_canonical_grid(real_data: Path) -> None:
    volume = load_volume(real_data / "labels.nii.gz")
    assert volume.shape == (25, 160, 160)
    assert volume.spacing == pytest.approx((6.0, 3.0, 3.0))
    assert volume.metadata["source_orientation"] == "RAS"


@pytest.mark.parametrize("name, shape", [("dwi_mean.nii.gz", (25, 160, 160)), ("dixon_water.nii.gz", (23, 320, 320)),
                                         ("dixon_fat.nii.gz", (23, 320, 320)), ("t2_mese.nii.gz", (13, 160, 160))])
def test_every_real_scan_loads(real_data: Path, name: str, shape: tuple[int, int, int]) -> None:
    volume = load_volume(real_data / name)
    assert volume.shape == shape
    assert np.isfinite(volume.data).all()


def test_four_dimensional_scan_uses_a_documented_frame(real_data: Path) -> None:
    first = load_volume(real_data / "t2_mese.nii.gz")
    assert first.metadata["frame"] == "0 of 18 (default: first)"
    last = load_volume(real_data / "t2_mese.nii.gz", frame=17)
    mean = load_volume(real_data / "t2_mese.nii.gz", frame="mean")
    raw = np.asanyarray(nib.load(real_data / "t2_mese.nii.gz").dataobj)
    assert first.data.sum() == pytest.approx(raw[..., 0].sum(), rel=1e-6)
    assert last.data.sum() == pytest.approx(raw[..., 17].sum(), rel=1e-6)
    assert mean.metadata["frame"] == "mean of 18 frames"
    with pytest.raises(ImageShapeError, match="frame 18 asked for, but the image has 18 frames"):
        load_volume(real_data / "t2_mese.nii.gz", frame=18)


def test_saved_labels_reload_exactly_with_the_source_affine(real_data: Path, tmp_path: Path) -> None:
    source = nib.load(real_data / "labels.nii.gz")
    volume = load_volume(real_data / "labels.nii.gz")
    written = save_labels(volume.data, volume, tmp_path / "copy.nii.gz")
    again = nib.load(written)
    assert again.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(again.dataobj), np.asanyarray(source.dataobj))
    np.testing.assert_allclose(again.affine, source.affine, atol=1e-4)


def test_right_leg_lies_at_smaller_x_in_canonical_orientation(real_data: Path) -> None:
    data = load_volume(real_data / "labels.nii.gz").data
    x = np.arange(data.shape[2])
    right = np.isin(data, np.arange(13, 27, 2))
    left = np.isin(data, np.arange(14, 27, 2))
    assert (right.sum(axis=(0, 1)) * x).sum() / right.sum() < (left.sum(axis=(0, 1)) * x).sum() / left.sum()


def test_label_mapping_of_the_real_case(real_case) -> None:
    _, labels, right = real_case
    assert set(np.unique(labels.data)) == set(range(8))
    assert right.any() and (labels.data[right] > 0).all()


# ---- bundled DICOM files -------------------------------------------------------------------

def _nibabel_dicom_files() -> list[Path]:
    folder = Path(nib.__file__).parent / "nicom" / "tests" / "data"
    return [folder / name for name in ("0.dcm", "1.dcm", "decimal_rescale.dcm")]


@pytest.mark.parametrize("path", _nibabel_dicom_files(), ids=lambda p: p.name)
def test_nibabel_dicom_files_load(path: Path) -> None:
    volume = load_volume(path)
    assert volume.shape[0] == 1 and min(volume.shape[1:]) > 32
    assert all(s > 0 for s in volume.spacing)


def test_pydicom_mr_small_loads() -> None:
    from pydicom.data import get_testdata_file

    volume = load_volume(get_testdata_file("MR_small.dcm"))
    assert volume.shape == (1, 64, 64)
    assert volume.spacing[1:] == pytest.approx((0.3125, 0.3125))


# ---- DICOM series written by the tests -----------------------------------------------------

def _ramp(shape: tuple[int, int, int]) -> np.ndarray:
    return (np.arange(np.prod(shape)).reshape(shape) % 4000).astype(np.uint16)


def test_written_axial_series_keeps_spacing_orientation_and_position(tmp_path: Path) -> None:
    pixels = _ramp((6, 12, 10))
    write_series(tmp_path, pixels, pixel_spacing=(0.8, 0.7), slice_step=3.0, origin=(10.0, -20.0, 30.0))
    volume = load_volume(tmp_path)
    expected = Volume.from_array(pixels, spacing=(3.0, 0.8, 0.7), origin=(10.0, -20.0, 30.0))
    np.testing.assert_array_equal(volume.data, pixels)
    np.testing.assert_allclose(volume.spacing, (3.0, 0.8, 0.7), atol=1e-4)
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-4)


def test_written_series_in_another_orientation_lands_on_the_canonical_axes(tmp_path: Path) -> None:
    canonical = _ramp((5, 9, 7))  # [z, y, x]
    pixels = np.stack([canonical[len(canonical) - 1 - k].T for k in range(len(canonical))])
    write_series(tmp_path, pixels, row_direction=(0.0, 1.0, 0.0), column_direction=(1.0, 0.0, 0.0),
                 pixel_spacing=(0.5, 0.9), slice_step=4.0, origin=(0.0, 0.0, 0.0))
    volume = load_volume(tmp_path)
    np.testing.assert_array_equal(volume.data, canonical)
    np.testing.assert_allclose(volume.spacing, (4.0, 0.9, 0.5), atol=1e-4)
    assert volume.metadata["source_orientation"] == "PLI"
    # the lowest slice lies 16 mm below the first file's position
    np.testing.assert_allclose(volume.affine[:3, 3], (0.0, 0.0, -16.0), atol=1e-4)


def test_labels_saved_for_a_dicom_source_overlay_it(tmp_path: Path) -> None:
    pixels = _ramp((6, 12, 10))
    write_series(tmp_path / "dicom", pixels, slice_step=2.5)
    volume = load_volume(tmp_path / "dicom")
    labels = (volume.data % 8).astype(np.uint8)
    written = nib.load(save_labels(labels, volume, tmp_path / "labels.nii.gz"))
    np.testing.assert_allclose(written.affine, volume.geometry.affine, atol=1e-4)
    reloaded = load_volume(tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(reloaded.data, labels)
    np.testing.assert_allclose(reloaded.affine, volume.affine, atol=1e-4)


def test_enhanced_multiframe_file_loads(tmp_path: Path) -> None:
    pixels = _ramp((5, 8, 11))
    volume = load_volume(write_enhanced(tmp_path / "enhanced.dcm", pixels, slice_step=3.0))
    np.testing.assert_array_equal(volume.data, pixels)
    np.testing.assert_allclose(volume.spacing, (3.0, 0.8, 0.7), atol=1e-4)


def test_dicom_metadata_keeps_no_patient_identifiers(tmp_path: Path) -> None:
    write_series(tmp_path, _ramp((3, 8, 8)))
    text = repr(load_volume(tmp_path).metadata)
    assert "Doe" not in text and "PID-12345" not in text and "19700101" not in text


# ---- bad inputs ----------------------------------------------------------------------------

def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="nothing-here.nii.gz: no such file"):
        load_volume(tmp_path / "nothing-here.nii.gz")


def test_file_that_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    with pytest.raises(ImageFormatError, match="notes.txt: not a NIfTI"):
        load_volume(path)


def test_text_file_named_like_nifti(tmp_path: Path) -> None:
    path = tmp_path / "fake.nii"
    path.write_text("hello")
    with pytest.raises(ImageFormatError, match="fake.nii: not a readable NIfTI"):
        load_volume(path)


def test_truncated_nifti(real_data: Path, tmp_path: Path) -> None:
    raw = (real_data / "dwi_mean.nii.gz").read_bytes()
    path = tmp_path / "truncated.nii.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ImageFormatError, match="truncated.nii.gz"):
        load_volume(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.nii.gz"
    payload = bytearray(gzip.compress(b"\x00" * 4000))
    payload[20:40] = b"\xff" * 20
    path.write_bytes(bytes(payload))
    with pytest.raises(ImageFormatError, match="corrupt.nii.gz"):
        load_volume(path)


def test_gzip_holding_too_few_bytes_for_a_header(tmp_path: Path) -> None:
    path = tmp_path / "short.nii.gz"
    path.write_bytes(gzip.compress(b"abc"))
    with pytest.raises(ImageFormatError, match="short.nii.gz: not a readable NIfTI image"):
        load_volume(path)


def _write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), path)
    return path


def test_two_dimensional_image(tmp_path: Path) -> None:
    path = _write_nifti(tmp_path / "slice.nii.gz", np.zeros((20, 30), np.float32))
    with pytest.raises(ImageShapeError, match=r"slice.nii.gz: a 2D image of shape \(20, 30\)"):
        load_volume(path)


def test_zero_size_array(tmp_path: Path) -> None:
    path = _write_nifti(tmp_path / "empty.nii.gz", np.zeros((20, 0, 5), np.float32))
    with pytest.raises(ImageShapeError, match="empty.nii.gz: the image has a zero-size axis"):
        load_volume(path)


def test_nan_and_inf_voxels_are_refused_or_cleaned(tmp_path: Path) -> None:
    data = np.ones((4, 5, 6), np.float32)
    data[1, 2, 3] = np.nan
    data[2, 2, 2] = np.inf
    path = _write_nifti(tmp_path / "nan.nii.gz", data)
    with pytest.raises(ImageValueError, match="nan.nii.gz: 2 voxels are NaN or Inf"):
        load_volume(path)
    cleaned = load_volume(path, nonfinite="zero")
    assert np.isfinite(cleaned.data).all() and cleaned.metadata["nonfinite_voxels"] == 2


def test_oblique_affine_is_refused_unless_allowed(tmp_path: Path) -> None:
    angle = np.radians(30)
    affine = np.eye(4)
    affine[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    path = _write_nifti(tmp_path / "oblique.nii.gz", np.zeros((8, 8, 8), np.float32), affine)
    with pytest.raises(OrientationError, match="oblique.nii.gz: the slices are oblique by 30.0 degrees"):
        load_volume(path)
    assert load_volume(path, allow_oblique=True).shape == (8, 8, 8)


def test_degenerate_affine(tmp_path: Path) -> None:
    affine = np.eye(4)
    affine[2, 2] = 0.0
    header = nib.Nifti1Header()
    header.set_sform(affine, code=1)
    header.set_qform(None, code=0)
    path = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), None, header), path)
    with pytest.raises(OrientationError, match="flat.nii.gz: the image's affine is missing or degenerate"):
        load_volume(path)


def test_dicom_folder_with_mixed_series(tmp_path: Path) -> None:
    write_series(tmp_path, _ramp((3, 8, 8)), description="t1w axial")
    write_series(tmp_path, _ramp((4, 8, 8)), description="dixon water")
    with pytest.raises(DicomSeriesError, match="(?s)holds 2 DICOM series.*(t1w axial.*dixon water|dixon water.*t1w axial)"):
        load_volume(tmp_path)
    assert {s["description"] for s in list_series(tmp_path)} == {"t1w axial", "dixon water"}
    assert load_volume(tmp_path, series="dixon water").shape == (4, 8, 8)
    with pytest.raises(DicomSeriesError, match="no series match 'flair'"):
        load_volume(tmp_path, series="flair")


@pytest.mark.parametrize("missing", ["PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient"])
def test_dicom_without_geometry(tmp_path: Path, missing: str) -> None:
    write_series(tmp_path, _ramp((3, 8, 8)), omit=(missing,))
    with pytest.raises(DicomGeometryError, match=f"has no {missing}"):
        load_volume(tmp_path)


def test_bundled_dicom_without_slice_thickness() -> None:
    path = Path(nib.__file__).parent / "nicom" / "tests" / "data" / "slicethickness_empty_string.dcm"
    with pytest.raises(DicomGeometryError, match="slicethickness_empty_string.dcm: a single slice without"):
        load_volume(path)


def test_folder_without_dicom(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DicomSeriesError, match="no DICOM images found"):
        load_volume(tmp_path)


def test_unevenly_spaced_dicom_slices(tmp_path: Path) -> None:
    write_series(tmp_path / "a" / "one", _ramp((2, 8, 8)), slice_step=3.0, origin=(0, 0, 0), series_uid="1.2.9")
    write_series(tmp_path / "a" / "two", _ramp((1, 8, 8)), slice_step=3.0, origin=(0, 0, 10), series_uid="1.2.9")
    with pytest.raises(DicomGeometryError, match="not evenly spaced"):
        load_volume(tmp_path / "a")


def test_labels_on_another_grid_are_refused(real_data: Path, real_case, tmp_path: Path) -> None:
    _, labels, _ = real_case
    path = save_labels(labels.data, labels, tmp_path / "labels.nii.gz")
    assert load_labels(path, like=real_case[0]).shape == (25, 160, 160)
    image = load_volume(real_data / "dixon_water.nii.gz")
    with pytest.raises(GridMismatchError, match=r"(?s)do not share the grid of dixon_water.*\(25, 160, 160\)"):
        load_labels(path, like=image)
    with pytest.raises(GridMismatchError, match=r"labels of shape \(2, 2, 2\) do not fit"):
        save_labels(np.zeros((2, 2, 2), np.uint8), image, tmp_path / "x.nii.gz")


def test_label_values_out_of_range_are_refused(real_data: Path) -> None:
    with pytest.raises(ImageValueError, match=r"label values must lie in 0..7, found 0..26"):
        load_labels(real_data / "labels.nii.gz")


def test_save_image_refuses_a_bad_suffix(real_data: Path, tmp_path: Path) -> None:
    volume = load_volume(real_data / "labels.nii.gz")
    with pytest.raises(InputPathError, match=r"out.png: output must end in .nii or .nii.gz"):
        save_image(volume.data, volume, tmp_path / "out.png")


def test_every_error_is_a_legseg_error() -> None:
    for error in (InputPathError, ImageFormatError, ImageShapeError, ImageValueError, OrientationError,
                  DicomSeriesError, DicomGeometryError, GridMismatchError):
        assert issubclass(error, LegsegError)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("image_class", [nib.Nifti1Image, nib.Nifti2Image])
def test_nifti1_and_nifti2_load_compressed_or_not(tmp_path: Path, suffix: str, image_class) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    path = tmp_path / f"scan{suffix}"
    nib.save(image_class(data, np.diag([2.0, 3.0, 4.0, 1.0])), str(path))
    volume = load_volume(path)
    assert volume.shape == (6, 5, 4) and volume.spacing == (4.0, 3.0, 2.0)
    assert sorted(np.unique(volume.data).tolist()) == list(range(120))


@pytest.mark.parametrize("engine", ["installed", "standard library"])
def test_written_nifti_gz_is_plain_gzip_with_either_engine(tmp_path: Path, monkeypatch, engine: str) -> None:
    from legseg_core.io import gz

    if engine == "standard library":
        monkeypatch.setattr(gz, "_engine", gzip)
    data = np.arange(6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
    source = Volume.from_array(data, (3.0, 1.0, 1.5), name="ramp")
    path = save_image(data, source, tmp_path / "ramp.nii.gz")
    assert gzip.decompress(path.read_bytes())[344:348] == b"n+1\x00"  # plain gzip around a single-file NIfTI-1
    np.testing.assert_array_equal(np.asanyarray(nib.load(path).dataobj).shape, (8, 7, 6))
    np.testing.assert_array_equal(load_volume(path).data, data)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
