"""Training and fine-tuning: recipes, augmentation, the patch cache, the training loop, checkpoints.

Long work is a progress generator (:mod:`legseg_core.progress`): :func:`train_network` trains a
network on patches in memory and yields a progress event per step and per epoch.
"""

from __future__ import annotations

from legseg_core.training.augment import AugmentConfig, augment_batch
from legseg_core.training.loop import EpochPlan, TrainingData, TrainingOutcome, train_network
from legseg_core.training.patches import LabelledPatches, PatchCache, cache_key, split_cases
from legseg_core.training.recipes import RECIPES, Recipe, get_recipe, learning_rate_at

__all__ = ["RECIPES", "AugmentConfig", "EpochPlan", "LabelledPatches", "PatchCache", "Recipe", "TrainingData",
           "TrainingOutcome", "augment_batch", "cache_key", "get_recipe", "learning_rate_at", "split_cases",
           "train_network"]
