"""The napari plugin is registered and its reader opens scans and label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_manifest_is_registered_and_valid() -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("legseg")
    assert manifest.name == "legseg"
    assert manifest.contributions.readers


def test_reader_opens_a_scan_as_an_image_layer(real_data: Path) -> None:
    from legseg_napari._reader import get_reader

    reader = get_reader(str(real_data / "dwi_mean.nii.gz"))
    [(data, meta, kind)] = reader(str(real_data / "dwi_mean.nii.gz"))
    assert kind == "image" and data.shape == (25, 160, 160)
    assert tuple(meta["scale"]) == (6.0, 3.0, 3.0)


def test_reader_opens_legseg_labels_as_a_labels_layer(real_case, tmp_path: Path) -> None:
    from legseg_core.io import save_labels
    from legseg_napari._reader import get_reader

    _, labels, _ = real_case
    path = save_labels(labels.data, labels, tmp_path / "muscles.nii.gz")
    [(data, meta, kind)] = get_reader(str(path))(str(path))
    assert kind == "labels" and data.dtype == np.uint8
    assert set(np.unique(data)) == set(range(8))


def test_reader_declines_other_files() -> None:
    from legseg_napari._reader import get_reader

    assert get_reader("notes.txt") is None
