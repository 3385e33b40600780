"""The adaptation's recipe and step counts: light constants that ``legseg adapt --help`` shows without
importing the adaptation itself (numpy, SciPy, the image reader)."""

from __future__ import annotations

from legseg_core.training.recipes import FINETUNE

#: The adaptation recipe: the fine-tuning recipe's augmentation, one short run on two 20 x 64 x 64 windows a
#: step (the fine-tune's whole-leg steps took 1.7 times as long here for the same Dice, bench correction).
ADAPT_RECIPE = FINETUNE.with_overrides(name="adapt", epochs=1, min_epoch_steps=40, replay_fraction=0.0,
                                       keep="last", learning_rate=2e-3, warmup_fraction=0.1, batch_size=2,
                                       crop_shape=(20, 64, 64))
#: Optimiser steps of one adaptation when none are given: BASE_STEPS plus STEPS_PER_LEG_SLICE per corrected
#: leg slice, at most MAX_STEPS (about 0.6 s of one CPU thread a step: at most about 100 s of CPU time).
BASE_STEPS, STEPS_PER_LEG_SLICE, MAX_STEPS = ADAPT_RECIPE.min_epoch_steps, 10, 160
