"""The faster paths of segmentation give what the plain ones gave, voxel for voxel and byte for byte.

Each test computes the result the simple way (whole-grid masks, whole copies of arrays) beside the
path the pipeline takes, on small synthetic volumes.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from legseg_core.labels_in_air import drop_labels_in_air
from legseg_core.io import gz, load_volume, save_image
from legseg_core.preprocess.mask import BodyMask, on_scan_grid

#: Affines of a file in RAS, LPS-like and oblique-free but permuted axis orders (the canonical grid flips and
#: transposes each differently).
AFFINES = [np.diag([-1.5, 1.2, 3.0, 1.0]), np.diag([1.5, -1.2, 3.0, 1.0]),
           np.array([[0, 0, 3.0, 0], [1.2, 0, 0, 0], [0, -1.5, 0, 0], [0, 0, 0, 1]])]


def whole_grid_body(body: BodyMask, shape: tuple[int, int, int]) -> np.ndarray:
    """The body mask on the scan grid as it used to be made: blocks repeated, edges padded, then cropped."""
    mask = np.repeat(np.repeat(body.mask, body.block[0], axis=1), body.block[1], axis=2)
    pad = [(0, 0), (0, max(0, shape[1] - mask.shape[1])), (0, max(0, shape[2] - mask.shape[2]))]
    return np.pad(mask, pad, mode="edge")[:, :shape[1], :shape[2]]


@pytest.mark.parametrize("block", [(1, 1), (3, 2), (4, 4)])
def test_the_body_mask_on_a_box_of_the_grid_is_that_part_of_the_whole_grid_mask(block):
    rng = np.random.default_rng(sum(block))
    shape = (5, 23, 30)
    body = BodyMask(rng.random((5, shape[1] // block[0], shape[2] // block[1])) > 0.5, block, (3.0, 1.0, 1.0))
    whole = whole_grid_body(body, shape)
    np.testing.assert_array_equal(on_scan_grid(body, shape), whole)
    box = (slice(1, 4), slice(2, 23), slice(7, 30))
    np.testing.assert_array_equal(on_scan_grid(body, shape, box), whole[box])


def test_labels_in_air_are_dropped_alike_from_the_coarse_mask_and_from_the_whole_grid_mask():
    rng = np.random.default_rng(0)
    shape = (6, 24, 32)
    body = BodyMask(np.zeros((6, 12, 16), dtype=bool), (2, 2), (3.0, 1.0, 1.0))
    body.mask[:, 2:10, 2:7] = body.mask[:, 2:10, 9:14] = True
    labels = np.zeros(shape, dtype=np.uint8)
    labels[:, 5:19, 5:13] = 3
    labels[:, 5:19, 19:27] = 4
    specks = rng.random(shape) > 0.97
    labels[specks] = rng.integers(1, 8, size=int(specks.sum()))
    with_coarse, with_whole = labels.copy(), labels.copy()
    dropped = drop_labels_in_air(with_coarse, body)
    assert dropped > 0 and dropped == drop_labels_in_air(with_whole, whole_grid_body(body, shape))
    np.testing.assert_array_equal(with_coarse, with_whole)


@pytest.mark.parametrize("slices", [1, 7, 40])
def test_the_body_mask_made_on_threads_is_the_one_made_on_one(monkeypatch, slices):
    """The body mask's slice-by-slice steps run a few slices at a time on the thread pool; the runs must
    not change a voxel (a speck cut in two by a run's edge, a smoothing across slices)."""
    from scipy import ndimage

    from legseg_core.preprocess import PreprocessConfig
    from legseg_core.preprocess.mask import RUN_VOXELS, body_mask

    rng = np.random.default_rng(slices)
    data = ndimage.gaussian_filter(rng.random((slices, 96, 120)).astype(np.float32), (0, 6, 6))
    data = np.where(data > np.median(data), 400.0, 10.0).astype(np.float32) + rng.normal(0, 5, data.shape).astype(np.float32)
    config = PreprocessConfig()
    monkeypatch.setattr("legseg_core.preprocess.mask.RUN_VOXELS", 600)  # runs of a few slices
    threaded = body_mask(data, (4.0, 1.0, 1.0), config, "threaded")
    monkeypatch.setattr("legseg_core.preprocess.mask.RUN_VOXELS", RUN_VOXELS)
    monkeypatch.setenv("LEGSEG_THREADS", "1")
    single = body_mask(data, (4.0, 1.0, 1.0), config, "single")
    assert threaded.block == single.block and threaded.mask.any()
    np.testing.assert_array_equal(threaded.mask, single.mask)


def copied_then_written(data: np.ndarray, volume, description: str) -> bytes:
    """The NIfTI bytes as they were made before: the whole array copied into the source order (each channel,
    then stacked), then the image serialised whole."""
    geometry = volume.geometry
    source = geometry.to_source_array(data) if data.ndim == 3 else np.stack(
        [geometry.to_source_array(data[..., c]) for c in range(data.shape[3])], axis=-1)
    image = nib.Nifti1Image(source, np.asarray(geometry.affine, dtype=float))
    image.header.set_xyzt_units("mm")
    image.set_qform(geometry.affine, code=1)
    image.set_sform(geometry.affine, code=1)
    image.header["descrip"] = description.encode("ascii")
    return image.to_bytes()


@pytest.mark.parametrize("affine", AFFINES, ids=["ras", "lps", "permuted"])
def test_labels_and_probabilities_written_a_slice_at_a_time_are_the_bytes_of_a_whole_copy(affine, tmp_path):
    rng = np.random.default_rng(1)
    nib.save(nib.Nifti1Image(rng.random((13, 11, 7)).astype(np.float32), affine), tmp_path / "scan.nii.gz")
    volume = load_volume(tmp_path / "scan.nii.gz")
    labels = rng.integers(0, 8, size=volume.shape).astype(np.uint8)
    probabilities = np.moveaxis(rng.random((8, *volume.shape)).astype(np.float32), 0, -1)  # as segment writes them
    for name, data in (("labels", labels), ("probabilities", probabilities)):
        expected = copied_then_written(data, volume, "predicted")
        compressed = save_image(data, volume, tmp_path / f"{name}.nii.gz", description="predicted")
        assert gz.decompress(Path(compressed).read_bytes()) == expected
        plain = save_image(data, volume, tmp_path / f"{name}.nii", description="predicted")
        assert Path(plain).read_bytes() == expected
    first = (tmp_path / "labels.nii.gz").read_bytes()
    save_image(labels, volume, tmp_path / "again.nii.gz", description="predicted")
    assert (tmp_path / "again.nii.gz").read_bytes() == first, "the same labels give the same file"


def test_an_array_of_five_dimensions_is_refused_in_one_line(tmp_path):
    from legseg_core.errors import GridMismatchError
    from legseg_core.io import Volume

    volume = Volume.from_array(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(GridMismatchError, match=r"out.nii.gz: array of shape \(2, 3, 4, 1, 1\) does not fit"):
        save_image(np.zeros((2, 3, 4, 1, 1), dtype=np.float32), volume, tmp_path / "out.nii.gz")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("frame", [None, 2, -1, "mean"])
def test_a_frame_read_alone_is_that_frame_of_the_whole_4d_image(tmp_path, suffix, frame):
    from legseg_core.io.canonical import build_volume

    rng = np.random.default_rng(2)
    image = nib.Nifti1Image(rng.integers(-300, 3000, size=(9, 8, 5, 4)).astype(np.int16), AFFINES[1])
    image.header.set_slope_inter(0.5, 10.0)  # scaled voxels, as many multi-echo series store them
    path = tmp_path / f"echoes{suffix}"
    nib.save(image, path)
    whole = nib.load(path)
    expected = build_volume(np.asanyarray(whole.dataobj), whole.affine, path=str(path), format="nifti", frame=frame)
    volume = load_volume(path, frame=frame)
    np.testing.assert_array_equal(volume.data, expected.data)
    assert volume.data.dtype == expected.data.dtype and volume.data.flags.writeable
    assert volume.metadata["frame"] == expected.metadata["frame"]
    np.testing.assert_array_equal(volume.affine, expected.affine)


@pytest.mark.parametrize("arch", ["unet", "resnet", "densenet"])
def test_a_model_file_loads_into_the_network_that_the_plain_load_gives(arch, tmp_path):
    import torch

    from legseg_core.models import ModelCard, build_model, load_checkpoint, save_checkpoint
    from legseg_core.models.checkpoint import read_payload

    torch.manual_seed(0)
    network = build_model(arch, "lite")
    path = save_checkpoint(network, ModelCard.for_network(network), tmp_path / f"{arch}.pt")
    loaded, _ = load_checkpoint(path)
    tensors = list(loaded.parameters()) + list(loaded.buffers())
    assert not any(t.is_meta for t in tensors) and all(p.requires_grad for p in loaded.parameters())
    plain = build_model(arch, "lite")  # built with weights of its own, then the file's copied in
    plain.load_state_dict({name: t.float() if t.is_floating_point() else t
                           for name, t in read_payload(path)["weights"].items()})
    images = torch.rand(1, 1, 20, 48, 48)
    with torch.inference_mode():
        np.testing.assert_array_equal(loaded(images).numpy(), plain.eval()(images).numpy())


def test_dropping_labels_far_outside_the_body_grows_the_body_only_near_them_with_the_same_result():
    from scipy import ndimage

    from legseg_core.labels_in_air import AIR_MARGIN_VOXELS

    rng = np.random.default_rng(3)
    labels = np.zeros((5, 60, 80), dtype=np.uint8)
    labels[:, 10:50, 10:40] = 3
    labels[1:4, 20:24, 40:75] = 2  # a sheet into the air
    labels[2, 55:58, 5:9] = 5  # a speck below the body
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 8:52, 8:42] = True
    body[:, 30:34, 42:44] = rng.uniform(size=(5, 4, 2)) > 0.5  # a ragged edge
    plain = labels.copy()
    in_plane = np.zeros((1, 3, 3), dtype=bool)
    in_plane[0, 1, :] = in_plane[0, :, 1] = True
    near = ndimage.binary_dilation(body, structure=in_plane, iterations=AIR_MARGIN_VOXELS)
    plain[(plain > 0) & ~near] = 0
    drop_labels_in_air(labels, body)
    np.testing.assert_array_equal(labels, plain)
