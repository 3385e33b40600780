"""The training loop on tiny synthetic patches: convergence, resume, divergence, cancellation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from legseg_core.errors import CancelledError, TrainingError
from legseg_core.models.unet import UNet
from legseg_core.progress import CancelToken, drive, run_quietly
from legseg_core.training import losses
from legseg_core.training.loop import EpochPlan, TrainingData, train_network
from legseg_core.training.patches import LabelledPatches
from legseg_core.training.recipes import get_recipe

SHAPE = (4, 16, 16)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_patches(cases: int = 4, per_case: int = 2, seed: int = 0) -> LabelledPatches:
    """Two bright squares (muscles 1 and 3) on a dark background, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((cases * per_case, *SHAPE), np.uint8)
    labels[:, :, 2:8, 2:8] = 1
    labels[:, :, 9:15, 9:15] = 3
    images = (labels * 30.0 + rng.normal(0.0, 4.0, labels.shape)).astype(np.float32)
    return LabelledPatches(images, labels, tuple(f"case-{i // per_case}" for i in range(len(labels))))


def tiny_network(seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    return UNet(channels=(4, 8), strides=[(1, 2, 2)], norm="instance")


def tiny_data() -> TrainingData:
    patches = tiny_patches()
    return TrainingData(patches.select_cases(["case-0", "case-1", "case-2"]), patches.select_cases(["case-3"]))


def recipe(**overrides):
    values = dict(epochs=2, batch_size=2, learning_rate=2e-2, precision="fp32", warmup_fraction=0.0)
    values.update(overrides)
    return get_recipe("default", **values)


def test_loss_decreases_and_progress_reports_dice_and_eta():
    events = []
    settings = recipe(epochs=8, augment=None, learning_rate=5e-2, schedule="constant")
    outcome = drive(train_network(tiny_network(), tiny_data(), settings, seed=1), events.append)
    step_losses = [e.details["loss"] for e in events if e.details["event"] == "step"]
    assert np.mean(step_losses[-3:]) < np.mean(step_losses[:3])
    epoch_events = [e for e in events if e.details["event"] == "epoch"]
    assert [e.details["epoch"] for e in epoch_events] == list(range(1, 9))
    assert set(epoch_events[-1].details["validation_dice"]) == {"GL", "GM", "SOL", "TA", "PER", "EDL", "TP"}
    assert epoch_events[-1].details["eta_seconds"] == pytest.approx(0.0)
    assert events[-1].done == events[-1].total == outcome.steps
    assert outcome.validation_dice["GL"] > 0.5
    assert math.isnan(outcome.validation_dice["TA"])  # absent from labels and prediction


def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path):
    data, settings = tiny_data(), recipe(epochs=3)
    full = run_quietly(train_network(tiny_network(), data, settings, seed=3, run_dir=tmp_path / "full"))
    work = train_network(tiny_network(), data, settings, seed=3, run_dir=tmp_path / "cut")
    for event in work:
        if event.details["event"] == "epoch" and event.details["epoch"] == 2:
            break
    work.close()  # the process was interrupted after epoch 2's checkpoint
    resumed = run_quietly(train_network(tiny_network(seed=9), data, settings, seed=3, run_dir=tmp_path / "cut"))
    assert resumed.resumed_from_epoch == 2
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.steps == full.steps
    for key, value in full.network.state_dict().items():
        assert torch.allclose(value.float(), resumed.network.state_dict()[key].float(), atol=1e-6), key


def test_a_run_stopped_after_an_epoch_keeps_the_whole_schedule_and_resumes_to_the_same_end(tmp_path):
    data, settings = tiny_data(), recipe(epochs=3, keep="last")
    network = tiny_network()
    at_epoch_1 = None
    full = train_network(network, data, settings, seed=3, run_dir=tmp_path / "full")
    for event in full:
        if event.details["event"] == "epoch" and event.details["epoch"] == 1:
            at_epoch_1 = {key: value.clone() for key, value in network.state_dict().items()}
    stopped = run_quietly(train_network(tiny_network(), data, settings, seed=3, run_dir=tmp_path / "cut",
                                        stop_after_epochs=1))
    assert stopped.epochs == 1 and [h["epoch"] for h in stopped.history] == [1]
    for key, value in at_epoch_1.items():  # the first epoch of the three-epoch run, not a one-epoch run
        assert torch.allclose(value.float(), stopped.network.state_dict()[key].float(), atol=1e-6), key
    one_epoch = run_quietly(train_network(tiny_network(), data, recipe(epochs=1, keep="last"), seed=3))
    assert stopped.history[0]["learning_rate"] > one_epoch.history[0]["learning_rate"]
    resumed = run_quietly(train_network(tiny_network(seed=9), data, settings, seed=3, run_dir=tmp_path / "cut"))
    assert resumed.resumed_from_epoch == 1 and [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for key, value in network.state_dict().items():
        assert torch.allclose(value.float(), resumed.network.state_dict()[key].float(), atol=1e-6), key
    with pytest.raises(TrainingError, match="stop_after_epochs=0 must be a whole number >= 1"):
        run_quietly(train_network(tiny_network(), data, settings, stop_after_epochs=0))


def test_a_damaged_checkpoint_is_set_aside_and_the_run_starts_afresh(tmp_path):
    data, settings = tiny_data(), recipe(epochs=2)
    work = train_network(tiny_network(), data, settings, seed=3, run_dir=tmp_path)
    for event in work:
        if event.details["event"] == "epoch":
            break
    work.close()
    (tmp_path / "last.pt").write_bytes(b"PK\x03\x04 damaged")
    outcome = run_quietly(train_network(tiny_network(), data, settings, seed=3, run_dir=tmp_path))
    assert outcome.resumed_from_epoch == 0 and [h["epoch"] for h in outcome.history] == [1, 2]
    assert (tmp_path / "last.pt.damaged-1").read_bytes() == b"PK\x03\x04 damaged"


def test_run_folder_with_other_settings_is_refused(tmp_path):
    run_quietly(train_network(tiny_network(), tiny_data(), recipe(epochs=1), run_dir=tmp_path))
    with pytest.raises(TrainingError, match="started with other settings.*recipe"):
        run_quietly(train_network(tiny_network(), tiny_data(), recipe(epochs=2), run_dir=tmp_path))


def test_nan_loss_stops_the_run(monkeypatch):
    monkeypatch.setitem(losses.LOSSES, "dice_cross_entropy", lambda logits, labels: logits.sum() * math.nan)
    with pytest.raises(TrainingError, match="loss became nan at epoch 1, step 1"):
        run_quietly(train_network(tiny_network(), tiny_data(), recipe()))


def test_exploding_loss_stops_the_run():
    huge = recipe(epochs=5, learning_rate=1e4, augment=None, gradient_clip=None, loss="cross_entropy")
    with pytest.raises(TrainingError, match="exploded|loss became|gradient norm"):
        run_quietly(train_network(tiny_network(), tiny_data(), huge))


def test_cancel_stops_at_the_next_progress_point():
    token = CancelToken()
    seen = []

    def cancel_after_two(event):
        seen.append(event)
        if len(seen) == 2:
            token.cancel()

    with pytest.raises(CancelledError, match="training was cancelled"):
        drive(train_network(tiny_network(), tiny_data(), recipe()), cancel_after_two, token, what="training")
    assert len(seen) == 2


def test_replay_draws_the_recipe_share_and_max_steps_trims_epochs():
    patches = tiny_patches(cases=6)
    data = TrainingData(patches.select_cases(["case-0", "case-1"]), None,
                        patches.select_cases(["case-2", "case-3", "case-4", "case-5"]))
    plan = EpochPlan.create(data, recipe(replay_fraction=0.5, epochs=4, max_steps=6), world_size=1)
    assert (plan.new_patches, plan.replay_patches) == (4, 4)
    assert (plan.steps_per_epoch, plan.total_steps) == (2, 8)  # 8 patches / batch 2 = 4, trimmed to ceil(6 / 4)
    outcome = run_quietly(train_network(tiny_network(), data, recipe(replay_fraction=0.5, epochs=1)))
    assert outcome.steps == 4 and outcome.validation_dice == {}


def test_min_epoch_steps_cycles_few_cases_and_one_leg_gets_400_finetune_steps():
    one_case = TrainingData(tiny_patches().select_cases(["case-0"]))  # two patches
    plan = EpochPlan.create(one_case, recipe(epochs=3, min_epoch_steps=5), world_size=1)
    assert (plan.steps_per_epoch, plan.total_steps) == (5, 15)
    assert EpochPlan.create(one_case, recipe(epochs=3, min_epoch_steps=5, max_steps=6), 1).total_steps == 6
    finetune = get_recipe("finetune")
    assert EpochPlan.create(one_case, finetune, world_size=1).total_steps == 400
    # many new cases: the epoch is one pass over them, not the minimum
    many = TrainingData(tiny_patches(cases=120).select_cases([f"case-{i}" for i in range(110)]))
    assert EpochPlan.create(many, finetune, world_size=1).steps_per_epoch == 220  # 220 patches, one a step
    outcome = run_quietly(train_network(tiny_network(), one_case, recipe(epochs=2, min_epoch_steps=3)))
    assert outcome.steps == 6 and outcome.epochs == 2


def test_no_training_patches_is_refused():
    empty = tiny_patches().select_cases([])
    with pytest.raises(TrainingError, match="no training patches"):
        run_quietly(train_network(tiny_network(), TrainingData(empty), recipe()))


def test_crop_shape_trains_on_aligned_random_windows_of_the_patches():
    from legseg_core.training.loop import _crops

    patches = tiny_patches()
    # Make every voxel's image value identify its position and label, so a misaligned crop shows.
    images = np.arange(patches.images.size, dtype=np.float32).reshape(patches.images.shape)
    labels = (np.arange(patches.labels.size) % 8).astype(np.uint8).reshape(patches.labels.shape)
    coded = LabelledPatches(images, labels, patches.case_ids)
    rng = np.random.default_rng(3)
    starts = set()
    for _ in range(20):
        crop_images, crop_labels = _crops(coded, np.array([0, 5]), (2, 8, 8), rng)
        assert crop_images.shape == crop_labels.shape == (2, 2, 8, 8)
        np.testing.assert_array_equal(crop_images.astype(np.int64) % 8, crop_labels)
        assert int(crop_images[1, 0, 0, 0]) // int(np.prod(SHAPE)) == 5
        starts.add(int(crop_images[0, 0, 0, 0]))
    assert len(starts) > 5  # fresh positions
    outcome = run_quietly(train_network(tiny_network(), tiny_data(), recipe(crop_shape=[4, 8, 8], epochs=1)))
    assert outcome.steps == 3 and set(outcome.validation_dice) == {"GL", "GM", "SOL", "TA", "PER", "EDL", "TP"}


def test_bad_crop_shapes_are_refused():
    with pytest.raises(TrainingError, match="crop_shape"):
        recipe(crop_shape=[4, 8])
    with pytest.raises(TrainingError, match="crop_shape"):
        recipe(crop_shape=[4, 0, 8])
    with pytest.raises(TrainingError, match=r"crop_shape=\[4, 32, 8\] is larger than the training patches \[4, 16, 16\]"):
        run_quietly(train_network(tiny_network(), tiny_data(), recipe(crop_shape=[4, 32, 8])))
