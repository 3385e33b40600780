"""The napari plugin is registered and its reader opens scans and label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


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


def test_writer_saves_a_labels_layer_on_the_source_grid(real_case, tmp_path: Path) -> None:
    import nibabel as nib

    from legseg_napari._writer import write_labels

    image, labels, _ = real_case
    [written] = write_labels(str(tmp_path / "out.nii.gz"), labels.data, {"metadata": {"legseg_volume": image}})
    saved = nib.load(written)
    np.testing.assert_allclose(saved.affine, image.geometry.affine, atol=1e-4)
    np.testing.assert_array_equal(image.geometry.to_canonical_array(np.asanyarray(saved.dataobj)), labels.data)


def test_writer_without_a_source_uses_the_layer_scale(tmp_path: Path) -> None:
    from legseg_core.io import load_volume
    from legseg_napari._writer import write_labels

    data = np.zeros((4, 6, 8), np.uint8)
    data[1, 2, 3] = 5
    [written] = write_labels(str(tmp_path / "drawn.nii"), data, {"scale": (5.0, 0.8, 0.8)})
    volume = load_volume(written)
    np.testing.assert_array_equal(volume.data, data)
    assert volume.spacing == pytest.approx((5.0, 0.8, 0.8))


def test_npe2_validate_passes() -> None:
    import subprocess
    import sys
    from pathlib import Path as _Path

    npe2 = _Path(sys.executable).with_name("npe2")
    result = subprocess.run([str(npe2), "validate", "legseg"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout
