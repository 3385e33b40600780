"""Training and fine-tuning: from the store's accepted cases to registered, gated models.

- :mod:`.recipes`: the ``paper``, ``default`` and ``finetune`` recipes (frozen dataclasses) and
  learning-rate schedules; :mod:`.augment`: intensity and geometry augmentation on the fly;
  :mod:`.losses`: cross-entropy and Dice plus cross-entropy.
- :mod:`.patches`: labelled patches in memory and their cache on disk; :mod:`.data`: store
  cases -> patches and data snapshots (case id, label-version id).
- :mod:`.loop` and :mod:`.steps`: the training loop, a progress generator with checkpoints
  every epoch (:mod:`.checkpoints`), resume, cancellation and divergence stops;
  :mod:`.runtime` and :mod:`.distributed`: device, precision, DistributedDataParallel.
- :mod:`.session`: ``legseg train``; :mod:`.finetune`: ``legseg finetune`` with the gate of
  :mod:`.gate`, scoring whole cases with :mod:`.scoring`; :mod:`.registry`: model versions,
  lineage, promotion and rollback; :mod:`.experiment`: the paper's het-vs-hom experiment.

Long work is a progress generator (:mod:`legseg_core.progress`). Importing this package does
not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.training.augment import AugmentConfig, augment_batch
    from legseg_core.training.loop import EpochPlan, TrainingData, TrainingOutcome, train_network
    from legseg_core.training.patches import LabelledPatches, PatchCache, cache_key, split_cases
    from legseg_core.training.recipes import RECIPES, Recipe, get_recipe, learning_rate_at

__all__ = ["RECIPES", "AugmentConfig", "EpochPlan", "LabelledPatches", "PatchCache", "Recipe", "TrainingData",
           "TrainingOutcome", "augment_batch", "cache_key", "get_recipe", "learning_rate_at", "split_cases",
           "train_network"]

#: Where each name is defined: imported on first use (:mod:`legseg_core.lazy`), so that the model registry,
#: which a cold ``legseg segment`` with a store reads, comes without the training loop and its imports.
_EXPORTS = {
    "AugmentConfig": "augment", "augment_batch": "augment",
    "EpochPlan": "loop", "TrainingData": "loop", "TrainingOutcome": "loop", "train_network": "loop",
    "LabelledPatches": "patches", "PatchCache": "patches", "cache_key": "patches", "split_cases": "patches",
    "RECIPES": "recipes", "Recipe": "recipes", "get_recipe": "recipes", "learning_rate_at": "recipes",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
