"""The Segmenter on tiny networks and tiny phantoms, the real scan, devices, precision, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from legseg_core import inference
from legseg_core.errors import CancelledError, CheckpointError, LegsegError, ModelError
from legseg_core.inference import (
    DeviceError, Segmenter, normalised_entropy, pick_device, pick_precision, uncertainty_score,
)
from legseg_core.io import Volume, load_labels, save_labels
from legseg_core.labels_in_air import clean_up, drop_labels_in_air, drop_stray_pieces
from legseg_core.models import ModelCard, build_model, save_checkpoint
from legseg_core.phantom import make_case
from legseg_core.preprocess import from_patches, to_patches
from legseg_core.progress import CancelToken, drive


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def phantom() -> Volume:
    return make_case(seed=3, size="tiny").images["dixon_water"]


def tiny_model(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    network = build_model("unet", "lite", channels=(4, 8, 8), strides=[(1, 2, 2), (2, 2, 2)], **overrides)
    return network, ModelCard.for_network(network)


def test_segmentation_is_on_the_scan_grid_and_matches_the_preprocessing_inverse(phantom):
    network, card = tiny_model()
    segmenter = Segmenter((network, card), "cpu", batch_size=1, precision="fp32")  # the same arithmetic as below
    result = segmenter.segment(phantom, probabilities=True)
    assert result.labels.shape == phantom.shape and result.labels.dtype == np.uint8
    assert result.probabilities.shape == (8, *phantom.shape) and result.probabilities.dtype == np.float32
    np.testing.assert_allclose(result.probabilities.sum(axis=0), 1.0, atol=1e-4)
    patches = to_patches(phantom)
    with torch.no_grad():
        outputs = network(torch.from_numpy(patches.images)[:, None]).numpy()
    expected = from_patches(outputs, patches.plan)
    clean_up(expected, segmenter._body(phantom), phantom.spacing)  # the Segmenter's one step after the way back
    np.testing.assert_array_equal(result.labels, expected)
    assert result.patches == len(patches.images) and result.device == "cpu" and result.precision == "fp32"
    assert result.model_id == card.model_id and set(result.timings) == {"preprocess", "forward", "postprocess", "total"}


def test_uncertainty_is_normalised_entropy_and_the_score_averages_muscle_voxels(phantom):
    result = Segmenter(tiny_model(), "cpu").segment(phantom, probabilities=True)
    assert result.uncertainty.dtype == np.float32 and result.uncertainty.shape == phantom.shape
    assert 0.0 <= result.uncertainty.min() and result.uncertainty.max() <= 1.0
    p = np.clip(result.probabilities, 1e-12, 1.0)
    np.testing.assert_allclose(result.uncertainty, -(p * np.log(p)).sum(axis=0) / np.log(8), atol=1e-5)
    muscle = result.labels > 0
    assert muscle.any()
    assert result.uncertainty_score == pytest.approx(float(result.uncertainty[muscle].mean()), rel=1e-5)
    assert Segmenter(tiny_model(), "cpu").segment(phantom).probabilities is None


def test_entropy_and_score_by_hand():
    uniform = np.full((8, 2, 3, 4), 1 / 8, np.float32)
    certain = np.zeros((8, 2, 3, 4), np.float32)
    certain[3] = 1.0
    np.testing.assert_allclose(normalised_entropy(uniform), 1.0, atol=1e-6)
    np.testing.assert_allclose(normalised_entropy(certain), 0.0, atol=1e-6)
    assert uncertainty_score(np.full((2, 2, 2), 0.3, np.float32), np.zeros((2, 2, 2), np.uint8)) == 1.0


def test_progress_per_batch_and_cancellation(phantom):
    segmenter = Segmenter(tiny_model(), "cpu", batch_size=1)
    events = []
    result = drive(segmenter.segment_steps(phantom), events.append)
    assert [e.done for e in events] == list(range(1, result.patches + 3))
    assert all(e.total == result.patches + 2 for e in events) and events[-1].fraction == 1.0
    token = CancelToken()
    with pytest.raises(CancelledError, match=r"segmentation of .* was cancelled"):
        drive(segmenter.segment_steps(phantom, cancel=token), lambda event: token.cancel())
    token = CancelToken()
    with pytest.raises(CancelledError):
        drive(segmenter.segment_steps(phantom), lambda event: token.cancel(), cancel=token)


def test_a_model_file_is_loaded_and_labels_overlay_the_real_scan(tmp_path, real_case):
    image, _, _ = real_case
    network, card = tiny_model()
    path = save_checkpoint(network, card, tmp_path / "tiny.pt")
    segmenter = Segmenter(str(path), "cpu")
    assert segmenter.card == card and not segmenter.network.training
    result = segmenter.segment(image)
    written = save_labels(result.labels, image, tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(load_labels(written, like=image).data, result.labels)


def test_a_scan_without_legs_is_a_clear_error():
    empty = Volume.from_array(np.zeros((25, 64, 64), np.float32), (5.0, 3.0, 3.0), name="empty")
    with pytest.raises(LegsegError, match=r"empty"):
        Segmenter(tiny_model(), "cpu").segment(empty)


def test_device_choice(monkeypatch):
    assert pick_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(inference, "_mps_available", lambda: False)
    assert pick_device(None).type == "cpu" and pick_device("auto").type == "cpu"
    monkeypatch.setattr(inference, "_mps_available", lambda: True)
    assert pick_device(None).type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device(None).type == "cuda"


def test_unknown_or_unavailable_devices(monkeypatch):
    with pytest.raises(DeviceError, match=r"unknown device 'gpu0'; use auto, cpu, cuda, cuda:N or mps"):
        pick_device("gpu0")
    with pytest.raises(DeviceError, match=r"device 'meta' is not supported"):
        pick_device("meta")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(inference, "_mps_available", lambda: False)
    with pytest.raises(DeviceError, match=r"device 'cuda:1' is not available: this machine has no CUDA GPU"):
        pick_device("cuda:1")
    with pytest.raises(DeviceError, match=r"device 'mps' is not available"):
        Segmenter(tiny_model(), "mps")


def test_precision_choice(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert pick_precision("fp32", cuda) == "fp32" and pick_precision("bf16", cpu) == "bf16"
    assert pick_precision("auto", cuda) == inference.AUTO_PRECISION["cuda"]
    assert pick_precision("auto", torch.device("mps")) == "fp32"
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: False)
    assert pick_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: True)
    assert pick_precision("auto", cpu) == inference.AUTO_PRECISION["cpu"]
    with pytest.raises(ModelError, match=r"unknown precision 'fp8'; choose one of auto, fp32, bf16, fp16"):
        pick_precision("fp8", cpu)


def test_reduced_precision_runs_and_returns_float32(phantom):
    segmenter = Segmenter(tiny_model(), "cpu", precision="bf16")
    patches = to_patches(phantom).images[:1, :8, :24, :24]
    probabilities = segmenter.forward(patches)
    assert probabilities.dtype == np.float32 and probabilities.shape == (1, 8, 8, 24, 24)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=2e-2)


def test_bad_models_and_batch_sizes(tmp_path):
    with pytest.raises(ModelError, match=r"batch_size=0 must be a whole number >= 1"):
        Segmenter(tiny_model(), "cpu", batch_size=0)
    with pytest.raises(ModelError, match=r"takes a model file, a model name or a \(network, ModelCard\) pair, not dict"):
        Segmenter({"weights": 1}, "cpu")
    network, card = tiny_model()
    with pytest.raises(ModelError, match=r"the network has 5 output channels; a Segmenter needs 8"):
        Segmenter((tiny_model(out_channels=5)[0], card), "cpu")
    with pytest.raises(CheckpointError, match=r"label map \{1: 'GL'\} does not match"):
        Segmenter((network, card.with_updates(label_map={1: "GL"})), "cpu")
    corrupt = tmp_path / "broken.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match=r"broken.pt: not a readable model file"):
        Segmenter(corrupt, "cpu")


def test_classify_matches_argmax_and_entropy_by_hand():
    from legseg_core.inference import classify
    from legseg_core.preprocess.inverse import argmax_classes

    rng = np.random.default_rng(4)
    p = rng.random((8, 3, 5, 7)).astype(np.float32) ** 4
    p[:, 0, 0, 0] = 0.0
    p[2:4, 0, 0, 0] = 0.5  # a tie goes to the first class
    p /= p.sum(axis=0)
    labels, entropy = classify(p)
    np.testing.assert_array_equal(labels, np.argmax(p, axis=0))
    np.testing.assert_array_equal(labels, argmax_classes(p))
    assert labels[0, 0, 0] == 2 and labels.dtype == np.uint8 and entropy.dtype == np.float32
    q = np.clip(p, 1e-12, 1.0)
    np.testing.assert_allclose(entropy, -(q * np.log(q)).sum(axis=0) / np.log(8), atol=1e-6)


def test_labels_in_the_air_are_dropped_and_every_muscle_inside_the_body_kept():
    labels = np.zeros((6, 30, 60), dtype=np.uint8)
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 3:27, 3:27] = body[:, 4:26, 33:55] = True
    labels[:, 5:25, 5:25] = 3  # right leg
    labels[:, 6:24, 35:52] = 3  # left leg
    labels[:, 12:14, 40:42] = 0
    labels[:, 12:14, 40:42] = 7  # TP: its own small group, inside the body
    labels[:, 11:15, 39:43][labels[:, 11:15, 39:43] == 3] = 0
    labels[2:4, 27:29, 28:31] = 1  # a speck in the air between the legs
    labels[1:3, 25:29, 10:12] = 2  # a group mostly inside the body (its lower end in the air): kept
    kept = labels.copy()
    kept[2:4, 27:29, 28:31] = 0
    assert drop_labels_in_air(labels, body) == 12
    np.testing.assert_array_equal(labels, kept)
    assert (labels == 7).sum() == 24, "an isolated muscle inside the body stays"
    assert drop_labels_in_air(np.zeros((2, 3, 3), dtype=np.uint8), np.ones((2, 3, 3), dtype=bool)) == 0


def test_a_sheet_of_labels_grown_from_a_leg_into_the_air_is_dropped_and_the_leg_kept():
    labels = np.zeros((4, 40, 40), dtype=np.uint8)
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 5:25, 5:25] = True
    labels[:, 6:24, 6:24] = 3  # the leg's muscle
    labels[1:3, 6:10, 24:39] = 2  # a sheet touching the leg, reaching far into the air
    leg = labels.copy()
    leg[1:3, 6:10, 24:39] = 0
    leg[1:3, 6:10, 24:27] = 2  # within AIR_MARGIN_VOXELS of the body's edge: kept
    assert drop_labels_in_air(labels, body) == 2 * 4 * 12
    np.testing.assert_array_equal(labels, leg)


def test_a_body_mask_that_missed_most_of_the_labels_drops_nothing_far_outside():
    labels = np.zeros((2, 30, 30), dtype=np.uint8)
    labels[:, 5:25, 5:25] = 3
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 5:9, 5:9] = True  # a mask that found a corner of the leg only
    assert drop_labels_in_air(labels, body) == 0
    assert (labels == 3).sum() == 2 * 20 * 20


def test_a_small_piece_of_a_muscle_far_from_the_rest_of_it_is_dropped_and_a_near_one_kept():
    spacing = (10.0, 2.0, 2.0)
    labels = np.zeros((24, 40, 70), dtype=np.uint8)
    labels[8:15, 5:25, 5:25] = 2  # GM of the right leg: 2,800 voxels
    labels[8:15, 6:24, 40:60] = 2  # GM of the left leg: 2,520 voxels
    labels[0:1, 10:15, 10:15] = 2  # a blob of "GM" in the heel, 70 mm below the muscle: dropped
    labels[2:3, 10:14, 44:48] = 2  # a distal piece 50 mm below the left leg's GM: kept
    labels[16:17, 10:14, 44:48] = 2  # the muscle's tip, one uncertain slice away (10 mm): kept
    labels[8:15, 30:38, 62:68] = 2  # far in-plane (12 mm) but over a fifth of the largest piece: kept
    labels[9:14, 30:40, 30:35] = 7  # TP, a small muscle on its own: its only piece stays
    labels[23, 0, 0] = 7  # a one-voxel speck of TP 90 mm above it: dropped
    expected = labels.copy()
    expected[0:1, 10:15, 10:15] = 0
    expected[23, 0, 0] = 0
    assert drop_stray_pieces(labels, spacing) == 25 + 1
    np.testing.assert_array_equal(labels, expected)
    assert drop_stray_pieces(labels, spacing) == 0, "a second pass finds nothing"
    assert drop_stray_pieces(np.zeros((2, 3, 3), dtype=np.uint8), spacing) == 0


def test_pieces_of_a_muscle_a_fifth_of_the_largest_or_more_all_stay():
    labels = np.zeros((6, 30, 60), dtype=np.uint8)
    labels[1:5, 5:25, 5:25] = 5  # 1,600 voxels
    labels[1:5, 5:15, 35:45] = 5  # 400 voxels, 10 mm away: a quarter, as a leg cut short by the field of view
    before = labels.copy()
    assert drop_stray_pieces(labels, (5.0, 1.0, 1.0)) == 0
    np.testing.assert_array_equal(labels, before)


def test_the_clean_up_searches_a_muscle_again_once_the_air_rule_has_cut_it():
    """The clean-up searches the air and each muscle at the same time; its result must still be the air
    rule's followed by the stray rule's. Here the air rule drops GL's largest piece, which makes a far,
    smaller piece the largest one left: searched before the air rule, that piece looked stray."""
    spacing = (10.0, 1.0, 1.0)
    labels = np.zeros((16, 40, 90), dtype=np.uint8)
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 2:38, 2:38] = True
    labels[1:5, 5:35, 5:35] = 3  # SOL, the largest group: it stays whatever lies under it
    labels[1:5, 10:25, 60:80] = 1  # a GL blob in the air, 1,200 voxels
    labels[14:16, 20:24, 10:14] = 1  # GL in the body, 32 voxels, about 100 mm from the blob
    serial = labels.copy()
    dropped = drop_labels_in_air(serial, body) + drop_stray_pieces(serial, spacing)
    assert clean_up(labels, body, spacing) == dropped == 4 * 15 * 20
    np.testing.assert_array_equal(labels, serial)
    assert (labels == 1).sum() == 32, "the piece in the body is all that is left of GL: it stays"


def test_the_clean_up_searches_a_muscle_again_when_the_air_rule_splits_one_of_its_pieces():
    """A muscle's pieces are 26-connected, the air rule's groups face-connected: the air can take part of a
    piece. Here GL's piece in the body touches its blob in the air only along an edge; once the blob is gone,
    the far piece below is no longer small beside what is left, and stays."""
    spacing = (10.0, 1.0, 1.0)
    labels = np.zeros((16, 40, 90), dtype=np.uint8)
    body = np.zeros(labels.shape, dtype=bool)
    body[:, :, :40] = True
    labels[1:5, 5:35, 5:35] = 3  # SOL, the largest group
    labels[1:5, 10:20, 36:40] = 1  # GL in the body, 160 voxels
    labels[1:5, 20:30, 40:60] = 1  # GL in the air, 800 voxels, touching the piece above only along an edge
    labels[14:16, 20:25, 10:14] = 1  # GL in the body, 40 voxels, 90 mm below: a fifth of 160, under a fifth of 960
    serial = labels.copy()
    dropped = drop_labels_in_air(serial, body) + drop_stray_pieces(serial, spacing)
    assert clean_up(labels, body, spacing) == dropped == 800
    np.testing.assert_array_equal(labels, serial)
    assert (labels == 1).sum() == 160 + 40


def test_the_clean_up_drops_labels_in_the_air_and_stray_pieces_together():
    labels = np.zeros((16, 30, 60), dtype=np.uint8)
    body = np.zeros(labels.shape, dtype=bool)
    body[:, 2:28, 2:28] = True
    labels[1:5, 5:25, 5:25] = 3
    labels[2:4, 10:12, 40:43] = 1  # in the air
    labels[15, 20, 5:7] = 3  # a stray piece of SOL inside the body, 100 mm below the muscle
    assert clean_up(labels, body, (10.0, 1.0, 1.0)) == 12 + 2
    assert set(np.unique(labels)) == {0, 3} and (labels == 3).sum() == 4 * 20 * 20
