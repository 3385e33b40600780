"""``legseg segment --export``: every format beside the labels, equal to them; a NIfTI scan's DICOM SEG needs its series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from legseg_core.cli import main
from legseg_core.io import load_volume, save_image
from legseg_core.models import ModelCard, build_model, save_checkpoint
from legseg_core.phantom import make_case
from tests.dicom_factory import write_series


@pytest.fixture(scope="module")
def scan_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny phantom scan as a DICOM series and as the NIfTI made from it."""
    folder = tmp_path_factory.mktemp("scan")
    volume = make_case(seed=1, size="tiny").images["dixon_water"]
    pixels = np.clip(volume.data / max(float(volume.data.max()), 1e-6) * 1000, 0, 1000).astype(np.uint16)
    sz, sy, sx = volume.spacing
    write_series(folder / "dicom", pixels, pixel_spacing=(sy, sx), slice_step=sz)
    dicom = load_volume(folder / "dicom")
    nifti = save_image(dicom.data, dicom, folder / "calf.nii.gz")
    return folder / "dicom", nifti


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    network = build_model("unet", "lite", channels=(4, 8, 8), strides=[(1, 2, 2), (2, 2, 2)])
    return save_checkpoint(network, ModelCard.for_network(network), tmp_path_factory.mktemp("m") / "tiny.pt")


def segment(*arguments: str) -> int:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(["segment", *arguments, "--no-progress", "--device", "cpu", "--json"])
    finally:
        torch.set_num_threads(threads)


def test_segment_exports_every_format_and_each_equals_the_labels(scan_pair, model_file, tmp_path, capsys) -> None:
    import highdicom as hd
    import nrrd

    dicom, nifti = scan_pair
    assert segment(str(nifti), "-o", str(tmp_path / "out"), "--model", str(model_file), "--export", "dicom-seg",
                   "itksnap", "slicer", "bids", "--reference-dicom", str(dicom)) == 0
    item = json.loads(capsys.readouterr().out)["scans"][0]
    labels = load_volume(item["labels"]).data
    assert set(item["exports"]) == {"dicom-seg", "itksnap", "slicer", "bids"}
    [seg_path] = item["exports"]["dicom-seg"]
    seg = hd.seg.segread(seg_path)
    volume = seg.get_volume(combine_segments=True)  # the SEG's own geometry, resampled nowhere
    assert volume.array.max() == labels.max() and np.count_nonzero(volume.array) == np.count_nonzero(labels)
    [slicer] = item["exports"]["slicer"]
    data, _ = nrrd.read(slicer)
    np.testing.assert_array_equal(data.transpose(2, 1, 0), labels)
    assert Path(slicer).parent == tmp_path / "out" and Path(slicer).name == "calf.seg.nrrd"
    bids_image = next(p for p in item["exports"]["bids"] if p.endswith("_dseg.nii.gz"))
    assert Path(bids_image).relative_to(tmp_path / "out" / "bids").parts[0] == "sub-calf"
    np.testing.assert_array_equal(load_volume(bids_image).data, labels)
    assert any(p.endswith("calf_itksnap.txt") for p in item["exports"]["itksnap"])


def test_dicom_seg_of_a_nifti_scan_without_its_series_is_one_line_naming_the_option(scan_pair, model_file, tmp_path,
                                                                                     capsys) -> None:
    _, nifti = scan_pair
    assert main(["segment", str(nifti), "-o", str(tmp_path / "out"), "--model", str(model_file),
                 "--export", "dicom-seg"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Traceback" not in error
    assert "calf.nii.gz: --export dicom-seg needs the DICOM series of a NIfTI scan; name it with --reference-dicom" \
        in error
    assert not (tmp_path / "out").exists()  # refused before any work


def test_dicom_seg_of_a_dicom_scan_needs_nothing_more(scan_pair, model_file, tmp_path, capsys) -> None:
    import highdicom as hd

    dicom, _ = scan_pair
    assert segment(str(dicom), "-o", str(tmp_path / "out"), "--model", str(model_file), "--export", "dicom-seg") == 0
    item = json.loads(capsys.readouterr().out)["scans"][0]
    seg = hd.seg.segread(item["exports"]["dicom-seg"][0])
    assert [s.segment_label for s in seg.SegmentSequence][:2] == ["GL gastrocnemius lateralis",
                                                                  "GM gastrocnemius medialis"]
