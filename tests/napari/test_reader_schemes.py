"""napari's reader opens other tools' label files as labels layers through the built-in label schemes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_the_real_qmritools_labels_open_as_muscle_labels(real_data: Path, real_case) -> None:
    from legseg_napari._reader import get_reader

    path = str(real_data / "labels.nii.gz")
    [(data, meta, kind)] = get_reader(path)(path)
    _, expected, _ = real_case
    assert kind == "labels" and data.dtype == np.uint8
    np.testing.assert_array_equal(data, expected.data)  # 13..26 mapped by qmritools-calf, both legs
    assert meta["metadata"]["legseg_relabel"] == "qmritools-calf" and "(qmritools-calf)" in meta["name"]
    assert np.array_equal(meta["metadata"]["legseg_volume"].data, data)


def test_the_real_qmritools_labels_open_in_a_viewer(make_napari_viewer, real_data: Path) -> None:
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(real_data / "labels.nii.gz"), plugin="legseg")
    assert layer._type_string == "labels" and set(np.unique(layer.data)) == set(range(8))
    assert tuple(layer.scale) == (6.0, 3.0, 3.0)


def test_labels_no_scheme_covers_are_refused_with_a_message(tmp_path: Path, real_case) -> None:
    from legseg_core.io import save_labels
    from legseg_core.io.relabel import LabelSchemeError
    from legseg_napari._reader import read_layers

    image, labels, _ = real_case
    foreign = np.where(labels.data > 0, labels.data + 40, 0).astype(np.uint8)  # values 41..47
    path = save_labels(foreign, image, tmp_path / "other-tool.nii.gz")
    with pytest.raises(LabelSchemeError, match=r"other-tool.nii.gz: label values 0, 41, 42.*no built-in label scheme "
                                               r"\(qmritools-calf, legseg\).*Load labels from another tool"):
        read_layers(str(path))


def test_a_scan_still_opens_as_an_image(tmp_path: Path) -> None:
    from legseg_core.io import Volume, save_image
    from legseg_napari._reader import read_layers

    rng = np.random.default_rng(0)
    scan = Volume.from_array(rng.integers(0, 2000, (4, 16, 16)).astype(np.int16), spacing=(5.0, 1.0, 1.0))
    path = save_image(scan.data, scan, tmp_path / "scan.nii.gz")
    [(_, _, kind)] = read_layers(str(path))
    assert kind == "image"
