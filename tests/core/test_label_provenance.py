"""Label files tell where they came from: `legseg segment` stamps its output, a foreign file is imported."""

from __future__ import annotations

import pytest

from legseg_core.cli import main
from legseg_core.io import load_labels, save_image, save_labels
from legseg_core.store import Provenance
from legseg_core.store.errors import StoreError
from legseg_core.store.provenance import label_file_provenance, prediction_description
from tests.gui.app_helpers import tiny_model_file, tiny_phantom


def test_a_file_written_with_a_prediction_description_reads_back_as_predicted(tmp_path) -> None:
    phantom = tiny_phantom(seed=2)
    image = phantom.images["t1w"]
    stamped = save_labels(phantom.labels.data, image, tmp_path / "pred.nii.gz",
                          description=prediction_description("unet-lite-starter"))
    plain = save_labels(phantom.labels.data, image, tmp_path / "drawn by hand.nii.gz")
    assert label_file_provenance(load_labels(stamped), stamped) == "predicted:unet-lite-starter"
    assert label_file_provenance(load_labels(plain), plain) == "imported:drawn-by-hand.nii.gz"
    assert str(Provenance.parse("imported:drawn-by-hand.nii.gz")) == "imported:drawn-by-hand.nii.gz"
    assert Provenance.parse("imported").kind == "imported"
    with pytest.raises(StoreError, match=r"imported\[:<file name>\]"):
        Provenance.parse("foreign:x")


def test_legseg_segment_stamps_the_model_into_its_labels(tmp_path, capsys) -> None:
    phantom = tiny_phantom(seed=2)
    scan = save_image(phantom.images["t1w"].data, phantom.images["t1w"], tmp_path / "calf.nii.gz")
    model = tiny_model_file(tmp_path / "tiny.pt")
    assert main(["segment", str(scan), "-o", str(tmp_path / "out"), "--model", str(model), "--device", "cpu",
                 "--no-progress"]) == 0
    [written] = (tmp_path / "out").glob("*_labels.nii.gz")
    labels = load_labels(written)
    assert labels.metadata["description"] == "legseg predicted:tiny-test-unet"
    assert label_file_provenance(labels, written) == "predicted:tiny-test-unet"
