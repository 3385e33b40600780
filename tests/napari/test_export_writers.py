"""napari's save dialog offers LegSeg's exports; each writer's file reads back equal to the layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legseg_core.io import Volume, load_volume
from legseg_core.labels import MUSCLES
from tests.core.test_export import SHAPE, muscle_labels
from tests.dicom_factory import write_series


def test_the_manifest_offers_each_export_by_its_extension() -> None:
    from npe2 import PluginManifest

    writers = PluginManifest.from_distribution("legseg").contributions.writers
    names = {writer.display_name: writer.filename_extensions for writer in writers}
    assert names["LegSeg labels (DICOM SEG)"] == [".dcm"]
    assert ".seg.nrrd" in names["LegSeg labels (3D Slicer .seg.nrrd)"]
    assert "LegSeg labels (ITK-SNAP, with label description)" in names
    assert "LegSeg labels (BIDS derivatives dseg)" in names


def test_slicer_itksnap_and_bids_writers_round_trip_a_layer(tmp_path: Path) -> None:
    import nrrd

    from legseg_napari._writer import write_bids, write_itksnap, write_slicer

    like = Volume.from_array(np.zeros(SHAPE, np.float32), spacing=(4.0, 0.8, 0.7))
    labels = muscle_labels()
    meta = {"metadata": {"legseg_volume": like, "legseg_model": "unet-lite-starter"}}
    [slicer] = write_slicer(str(tmp_path / "calf.seg.nrrd"), labels, meta)
    data, header = nrrd.read(slicer)
    np.testing.assert_array_equal(data.transpose(2, 1, 0), labels)
    assert header["Segment3_Name"] == f"{MUSCLES[3].abbr} {MUSCLES[3].name}"
    image, table = write_itksnap(str(tmp_path / "calf.nii.gz"), labels, meta)
    np.testing.assert_array_equal(load_volume(image).data, labels)
    assert Path(table).name == "calf_itksnap.txt"
    files = write_bids(str(tmp_path / "bids" / "sub-02_T2w.nii.gz"), labels, meta)
    assert any(f.endswith("bids/sub-02/anat/sub-02_desc-muscles_dseg.tsv") for f in files)


def test_the_dicom_seg_writer_needs_a_layer_drawn_on_a_dicom_scan(tmp_path: Path) -> None:
    import highdicom as hd

    from legseg_core.export import ExportError
    from legseg_napari._writer import write_dicom_seg

    write_series(tmp_path / "dicom", np.ones(SHAPE, np.uint16))
    scan = load_volume(tmp_path / "dicom")
    labels = muscle_labels()
    [path] = write_dicom_seg(str(tmp_path / "out" / "calf.dcm"), labels, {"metadata": {"legseg_volume": scan}})
    assert path.endswith("calf.dcm") and len(hd.seg.segread(path).SegmentSequence) == len(MUSCLES)
    with pytest.raises(ExportError, match="DICOM SEG needs the DICOM series"):
        write_dicom_seg(str(tmp_path / "x.dcm"), labels, {"scale": (4.0, 1.0, 1.0)})
