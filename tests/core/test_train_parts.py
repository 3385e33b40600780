"""Recipes, learning-rate schedules, losses, augmentation and the patch cache."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from legseg_core.errors import TrainingError
from legseg_core.training.augment import AugmentConfig, augment_batch
from legseg_core.training.losses import cross_entropy, dice_cross_entropy, soft_dice_loss
from legseg_core.training.patches import LabelledPatches, PatchCache, cache_key, split_cases
from legseg_core.training.recipes import (FINETUNE_AUGMENT, RECIPES, Recipe, get_recipe, learning_rate_at,
                                         requested_recipe)


def test_paper_recipe_is_section_2_6():
    paper = get_recipe("paper")
    assert (paper.optimizer, paper.learning_rate, paper.decay, paper.loss) == ("adam", 1e-5, 1.99e-6, "cross_entropy")
    assert (paper.batch_size, paper.epochs, paper.validation_fraction, paper.augment) == (6, 200, 0.2, None)
    # Keras: lr_t = lr / (1 + decay * iterations)
    assert learning_rate_at(paper, 0, 1000) == pytest.approx(1e-5)
    assert learning_rate_at(paper, 100_000, 1000) == pytest.approx(1e-5 / (1 + 0.199))


def test_default_schedule_warms_up_then_decays_to_zero():
    default = get_recipe("default", warmup_fraction=0.1)
    rates = [learning_rate_at(default, step, 100) for step in range(100)]
    assert rates[0] < rates[9] <= default.learning_rate
    assert max(rates) == pytest.approx(default.learning_rate)
    assert rates[-1] < 0.01 * default.learning_rate
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))


def test_recipe_round_trips_and_overrides():
    for recipe in RECIPES.values():
        assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert get_recipe("default", epochs=3, batch_size=None).epochs == 3


def test_finetune_learns_whole_legs_and_windows_fit_a_model_with_smaller_patches():
    from legseg_core.adapt.adapt import ADAPT_RECIPE
    from legseg_core.training.finetune import fit_crop

    finetune = get_recipe("finetune")
    assert (finetune.crop_shape, finetune.batch_size) == (None, 1)  # one whole leg a step, as inference sees it
    assert fit_crop(finetune, (20, 104, 104)).crop_shape is None
    windows = get_recipe("finetune", crop_shape=[20, 64, 64])
    assert fit_crop(windows, (20, 104, 104)).crop_shape == (20, 64, 64)
    assert fit_crop(windows, (12, 48, 48)).crop_shape == (12, 48, 48)
    assert fit_crop(get_recipe("default"), (12, 48, 48)).crop_shape is None
    # the case adaptation keeps its small windows: its steps are budgeted in seconds
    assert (ADAPT_RECIPE.crop_shape, ADAPT_RECIPE.batch_size) == ((20, 64, 64), 2)


def test_augmentation_overrides_change_only_the_settings_given():
    # as --recipe-option augment='{"rotation_degrees": 25}' gives them: a dict over the recipe's own ranges
    finetune = get_recipe("finetune", augment={"rotation_degrees": 5, "elastic": 1.5})
    assert finetune.augment == replace(FINETUNE_AUGMENT, rotation_degrees=5, elastic=1.5)
    assert get_recipe("paper", augment={"noise_std": 1.0}).augment == AugmentConfig(noise_std=1.0)
    assert get_recipe("default", augment=False).augment is None


@pytest.mark.parametrize("overrides, message", [
    (dict(epochs=0), "epochs=0 must be a whole number >= 1"),
    (dict(learning_rate=-1.0), "learning_rate=-1.0 must be a number > 0"),
    (dict(optimizer="sgd"), "optimizer='sgd' is unknown"),
    (dict(replay_fraction=1.0), "replay_fraction=1.0 must be a number in"),
    (dict(divergence_factor=1.0), "divergence_factor=1.0 must be > 1"),
    (dict(colour="red"), "unknown settings \\['colour'\\]"),
    (dict(augment={"spin": 3}), "unknown augmentation settings \\['spin'\\]"),
    (dict(augment="yes"), "augment='yes' must be false"),
    (dict(min_epoch_steps=-1), "min_epoch_steps=-1 must be a whole number >= 0"),
])
def test_bad_recipe_settings_are_refused(overrides, message):
    with pytest.raises(TrainingError, match=message):
        get_recipe("default", **overrides)


def test_unknown_recipe_is_refused():
    with pytest.raises(TrainingError, match="recipe 'fast' is unknown; choose one of paper, default, finetune"):
        get_recipe("fast")


def test_epochs_come_from_the_flag_or_a_recipe_option_and_disagreement_is_refused():
    finetune = RECIPES["finetune"]
    assert requested_recipe("finetune", None, {}).epochs == finetune.epochs
    assert requested_recipe("finetune", None, {"epochs": 2, "learning_rate": 5e-4}).epochs == 2
    assert requested_recipe("finetune", 3, {}).epochs == 3
    assert requested_recipe("finetune", 2, {"epochs": 2}).epochs == 2
    with pytest.raises(TrainingError, match="--epochs 3 and --recipe-option epochs=2 disagree; give one"):
        requested_recipe("finetune", 3, {"epochs": 2})


def test_losses_reward_the_right_answer():
    labels = torch.zeros(2, 4, 8, 8, dtype=torch.long)
    labels[:, :, :4] = 2
    perfect = torch.nn.functional.one_hot(labels, 8).permute(0, 4, 1, 2, 3).float() * 20.0
    wrong = torch.roll(perfect, shifts=1, dims=1)
    assert cross_entropy(perfect, labels) < 1e-6 < cross_entropy(wrong, labels)
    assert soft_dice_loss(perfect, labels) < 1e-4
    assert soft_dice_loss(wrong, labels) > 0.99
    assert dice_cross_entropy(perfect, labels) < dice_cross_entropy(wrong, labels)


def test_augmentation_keeps_shapes_labels_and_is_reproducible():
    images = torch.rand(3, 1, 4, 16, 16) * 100
    labels = torch.zeros(3, 4, 16, 16, dtype=torch.long)
    labels[:, :, 4:12, 4:12] = 5
    config = AugmentConfig(probability=1.0)
    first = augment_batch(images, labels, config, torch.Generator().manual_seed(4))
    again = augment_batch(images, labels, config, torch.Generator().manual_seed(4))
    assert first[0].shape == images.shape and first[1].shape == labels.shape
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert set(first[1].unique().tolist()) <= {0, 5}
    assert not torch.equal(first[0], images)
    unchanged = augment_batch(images, labels, AugmentConfig(probability=0.0), torch.Generator().manual_seed(4))
    assert torch.allclose(unchanged[0], images, atol=1e-4) and torch.equal(unchanged[1], labels)


def test_elastic_deformation_reshapes_the_muscles_and_only_when_asked():
    images = torch.rand(2, 1, 4, 24, 24) * 100
    labels = torch.zeros(2, 4, 24, 24, dtype=torch.long)
    labels[:, :, 6:18, 6:18] = 3
    still = AugmentConfig(probability=1.0, rotation_degrees=0.0, scale=(1.0, 1.0))
    bent = AugmentConfig(probability=1.0, rotation_degrees=0.0, scale=(1.0, 1.0), elastic=2.0)
    plain = augment_batch(images, labels, still, torch.Generator().manual_seed(9))
    moved = augment_batch(images, labels, bent, torch.Generator().manual_seed(9))
    assert torch.equal(plain[1], labels)  # no geometry asked for: the labels stay where they were
    assert not torch.equal(moved[1], labels) and set(moved[1].unique().tolist()) == {0, 3}
    # the deformation is in-plane and smooth: every slice of the square moves, none disappears
    area = (moved[1] == 3).sum(dim=(2, 3)).float()
    assert bool(((area > 0.6 * 144) & (area < 1.4 * 144)).all())


def test_label_intensity_changes_each_label_by_one_factor():
    images = torch.full((2, 1, 2, 8, 8), 50.0)
    labels = torch.zeros(2, 2, 8, 8, dtype=torch.long)
    labels[:, :, :4] = 4
    labels[:, :, 4:, :4] = 7
    only = AugmentConfig(probability=1.0, label_intensity=0.3, rotation_degrees=0.0, scale=(1.0, 1.0), contrast=(1, 1),
                         gamma_log=(0, 0), bias_amplitude=0.0, noise_std=0.0)
    out, same_labels = augment_batch(images, labels, only, torch.Generator().manual_seed(3))
    assert torch.equal(same_labels, labels)
    for patch in range(2):
        values = [out[patch, 0][labels[patch] == label] for label in (0, 4, 7)]
        assert all(torch.allclose(v, v[0]) for v in values)  # one factor per label
        assert len({round(float(v[0]), 3) for v in values}) == 3  # and a different one for each


def test_label_split_gives_the_two_sides_of_a_line_through_a_muscle_two_brightnesses():
    images = torch.full((3, 1, 2, 16, 16), 50.0)
    labels = torch.zeros(3, 2, 16, 16, dtype=torch.long)
    labels[:, :, 2:14, 2:14] = 4
    only = AugmentConfig(probability=1.0, label_split=0.4, rotation_degrees=0.0, scale=(1.0, 1.0), contrast=(1, 1),
                         gamma_log=(0, 0), bias_amplitude=0.0, noise_std=0.0)
    out, same_labels = augment_batch(images, labels, only, torch.Generator().manual_seed(5))
    assert torch.equal(same_labels, labels)
    split = 0
    for patch in range(3):
        assert torch.all(out[patch, 0][labels[patch] == 0] == 50.0)  # background untouched
        muscle = out[patch, 0][labels[patch] == 4]
        values = {round(float(v), 4) for v in muscle}
        assert 50.0 in values and len(values) <= 2  # one side as it was, the other by one factor
        split += len(values) == 2
    assert split >= 2
    off = AugmentConfig(probability=1.0, rotation_degrees=0.0, scale=(1.0, 1.0), contrast=(1, 1), gamma_log=(0, 0),
                        bias_amplitude=0.0, noise_std=0.0)
    assert torch.equal(augment_batch(images, labels, off, torch.Generator().manual_seed(5))[0], images)


def test_texture_gives_a_flat_patch_a_grain_of_the_asked_spread_and_scale_and_leaves_air_dark():
    images = torch.full((4, 1, 6, 32, 32), 50.0)
    images[:, :, :, :, :4] = 0.0  # air
    labels = torch.zeros(4, 6, 32, 32, dtype=torch.long)
    plain = dict(probability=1.0, rotation_degrees=0.0, scale=(1.0, 1.0), contrast=(1, 1), gamma_log=(0, 0),
                 bias_amplitude=0.0, noise_std=0.0)
    out, same_labels = augment_batch(images, labels, AugmentConfig(texture=0.2, **plain), torch.Generator().manual_seed(2))
    assert torch.equal(same_labels, labels)
    assert torch.all(out[..., :4] == 0.0)  # multiplicative: air stays dark
    grain = out[..., 4:] / 50.0 - 1.0
    spreads = grain.flatten(1).std(dim=1)
    assert float(spreads.max()) <= 0.2 + 1e-4 and float(spreads.max()) > 0.02
    for patch in range(4):
        if float(spreads[patch]) < 0.01:
            continue
        g = grain[patch, 0]
        neighbours = torch.corrcoef(torch.stack([g[:, :, :-1].flatten(), g[:, :, 1:].flatten()]))[0, 1]
        assert float(neighbours) > 0.3  # a grain over voxels, not white noise
    fine = AugmentConfig(texture=0.2, texture_scale=(0.05, 0.1), **plain)
    g = augment_batch(images, labels, fine, torch.Generator().manual_seed(2))[0][0, 0, :, :, 4:] / 50.0 - 1.0
    assert abs(float(torch.corrcoef(torch.stack([g[:, :, :-1].flatten(), g[:, :, 1:].flatten()]))[0, 1])) < 0.1
    assert torch.equal(augment_batch(images, labels, AugmentConfig(**plain), torch.Generator().manual_seed(2))[0], images)


@pytest.mark.parametrize("settings, message", [
    (dict(probability=1.5), "probability=1.5 must lie in 0..1"),
    (dict(elastic=-1.0), "elastic=-1.0: .* must be >= 0"),
    (dict(label_intensity=-0.1), "label_intensity=-0.1: .* must be >= 0"),
    (dict(label_split=-0.2), "label_split=-0.2: .* must be >= 0"),
    (dict(texture=-0.1), "texture=-0.1: .* must be >= 0"),
    (dict(texture_scale=(0.0, 1.0)), "texture_scale=\\(0.0, 1.0\\) must be above 0"),
    (dict(texture_scale=(2.0, 1.0)), "texture_scale=\\(2.0, 1.0\\) must be \\(low, high\\)"),
    (dict(elastic_grid=(2, 0, 4)), "elastic_grid=\\(2, 0, 4\\) must be three whole numbers"),
    (dict(scale=(1.2, 0.8)), "scale=\\(1.2, 0.8\\) must be \\(low, high\\)"),
    (dict(noise_std=-1.0), "must be >= 0"),
])
def test_bad_augmentation_settings_are_refused(settings, message):
    with pytest.raises(TrainingError, match=message):
        AugmentConfig(**settings)


def _patches(case: str, n: int = 2) -> LabelledPatches:
    return LabelledPatches(np.full((n, 2, 4, 4), 7.0, np.float32), np.ones((n, 2, 4, 4), np.uint8), (case,) * n)


def test_patch_cache_makes_once_and_reads_back_from_disk(tmp_path):
    made = []

    def make():
        made.append(1)
        return _patches("case-a")

    key = cache_key("img", "lab", {"patch_shape": [2, 4, 4]})
    assert key != cache_key("img", "lab2", {"patch_shape": [2, 4, 4]})
    assert key != cache_key("img", "lab", {"patch_shape": [2, 8, 8]})
    first = PatchCache(tmp_path).get_or_make(key, make)
    fresh_process = PatchCache(tmp_path)
    second = fresh_process.get_or_make(key, make)
    assert len(made) == 1 and fresh_process.hits == 1
    assert np.array_equal(first.images, second.images) and second.case_ids == ("case-a", "case-a")
    fresh_process.path(key).write_bytes(b"damaged")
    PatchCache(tmp_path).get_or_make(key, make)
    assert len(made) == 2
    assert not list(tmp_path.glob(".tmp-*"))


def test_patches_split_by_whole_cases():
    patches = LabelledPatches.concatenate([_patches("a"), _patches("b", 3), _patches("c")])
    assert patches.cases == ("a", "b", "c") and len(patches.select_cases(["b"])) == 3
    train, validation = split_cases(["a", "b", "c", "d", "e"], 0.2, seed=1)
    assert len(validation) == 1 and sorted(train + validation) == ["a", "b", "c", "d", "e"]
    assert split_cases(["a", "b"], 0.2, seed=1)[1] != []  # at least one held out
    assert split_cases(["a"], 0.2, seed=1) == (["a"], [])
    with pytest.raises(TrainingError, match="must both be \\[n, z, y, x\\]"):
        LabelledPatches(np.zeros((1, 2, 4, 4), np.float32), np.zeros((1, 2, 4, 5), np.uint8), ("a",))
    with pytest.raises(TrainingError, match="no patches to train on"):
        LabelledPatches.concatenate([])
    assert math.isfinite(float(patches.images.mean()))
