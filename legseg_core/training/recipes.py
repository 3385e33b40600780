"""Training recipes: optimiser, learning-rate schedule, loss, batch, epochs, augmentation, precision.

Three named recipes:

* ``paper`` -- section 2.6: Adam (Keras' epsilon 1e-7), learning rate 1e-5 with Keras' time-based
  decay ``lr_t = lr / (1 + 1.99e-6 * step)``, categorical cross-entropy, batch 6, 200 epochs, an
  80/20 train/validation split of the training cases, no augmentation, the last weights kept.
* ``default`` -- converges far faster on small data: Dice plus cross-entropy, AdamW at 2e-3
  with a linear warm-up and a cosine decay, intensity and geometry augmentation, the weights of
  the best validation epoch kept.
* ``finetune`` -- starts from a trained model and learns a few corrected cases: AdamW at 1e-3
  with a warm-up and a cosine decay, 4 epochs of at least 100 steps (``min_epoch_steps``: one or
  two new cases are cycled, each pass with fresh augmentation), one whole patch a step (the whole
  leg, as the network sees it when it segments), half of them replayed from cases the model has
  seen so that it does not forget, and strong augmentation (``FINETUNE_AUGMENT``: elastic
  deformation and a brightness per label). Whole patches rather than batches of two 20 x 64 x 64
  windows: on the real calf case (right leg corrected, left leg scored, seeds 5 to 9) the left leg
  went from a mean of 0.845 to 0.866, its EDL from 0.56-0.71 to 0.75-0.77.
  One corrected leg is learnt in 400 steps: about 3 to 4 minutes on one thread of a 2-core CPU
  with native bf16 (185 s measured with the earlier windows, which held 0.76 times the voxels of
  a whole patch), 20 to 25 minutes in float32 on one without it (measured beside other work; a
  GPU takes seconds); more new cases make longer epochs (one pass over their patches, one patch
  a step).

A recipe is a frozen dataclass; :func:`get_recipe` returns one by name with overrides (such as
``epochs``) checked and applied. Learning rates are per optimiser step; epochs are passes over
the training patches.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from legseg_core.errors import TrainingError
from legseg_core.training.augment import AugmentConfig

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("keras_decay", "warmup_cosine", "poly", "constant")
LOSSES = ("cross_entropy", "dice_cross_entropy")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
KEEP = ("best", "last")


@dataclass(frozen=True)
class Recipe:
    """How to train: every number that the training loop reads.

    ``validation_fraction`` > 0 holds out that share of the training cases for validation (whole
    cases, never patches of one case on both sides), as the paper's 80/20 split does; 0 validates
    on the store's validation split instead. ``max_steps``
    caps the optimiser steps of the whole run (``None``: epochs x batches per epoch).
    ``divergence_factor``: the run stops when the loss is not finite or exceeds this many times
    the first step's loss. ``replay_fraction`` (fine-tuning): the share of each epoch's patches
    drawn from cases the model has seen. ``precision`` ``auto`` means bf16 autocast on CPU and
    fp16 mixed precision with loss scaling on CUDA. ``crop_shape`` ``(z, y, x)``: train on a random
    crop of this size from each patch (a fresh position every time the patch is drawn) instead of
    the whole patch, so that a network meant for full-size patches trains several times faster per
    step; validation and inference still see whole patches. ``min_epoch_steps`` (0: none): an epoch
    takes at least this many steps, cycling through its patches again (new windows and augmentation
    each time), so that a run on one or two cases still trains, with one validation per epoch.
    """

    name: str
    optimizer: str = "adamw"
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    epsilon: float = 1e-8
    schedule: str = "warmup_cosine"
    decay: float = 0.0
    warmup_fraction: float = 0.05
    loss: str = "dice_cross_entropy"
    batch_size: int = 6
    epochs: int = 50
    max_steps: int | None = None
    validation_fraction: float = 0.0
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    precision: str = "auto"
    gradient_clip: float | None = 12.0
    divergence_factor: float = 10.0
    replay_fraction: float = 0.0
    keep: str = "best"
    crop_shape: tuple[int, int, int] | None = None
    min_epoch_steps: int = 0

    def __post_init__(self) -> None:
        if self.crop_shape is not None:
            object.__setattr__(self, "crop_shape", _crop_shape(self.name, self.crop_shape))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("loss", self.loss, LOSSES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("keep", self.keep, KEEP)
        _positive("learning_rate", self.learning_rate)
        _positive("epsilon", self.epsilon)
        _whole("batch_size", self.batch_size)
        _whole("epochs", self.epochs)
        if self.max_steps is not None:
            _whole("max_steps", self.max_steps)
        if isinstance(self.min_epoch_steps, bool) or not isinstance(self.min_epoch_steps, int) \
                or self.min_epoch_steps < 0:
            raise TrainingError(f"recipe {self.name}: min_epoch_steps={self.min_epoch_steps!r} must be a whole "
                                "number >= 0 (0: no minimum)")
        for name in ("weight_decay", "decay"):
            if not _finite(getattr(self, name)) or getattr(self, name) < 0:
                raise TrainingError(f"recipe {self.name}: {name}={getattr(self, name)!r} must be a number >= 0")
        for name in ("warmup_fraction", "validation_fraction", "replay_fraction"):
            value = getattr(self, name)
            if not _finite(value) or not 0.0 <= value < 1.0:
                raise TrainingError(f"recipe {self.name}: {name}={value!r} must be a number in [0, 1)")
        if not _finite(self.divergence_factor) or self.divergence_factor <= 1.0:
            raise TrainingError(f"recipe {self.name}: divergence_factor={self.divergence_factor!r} must be > 1")
        if self.gradient_clip is not None:
            _positive("gradient_clip", self.gradient_clip)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the augmentation as a nested dict or None)."""
        data = asdict(self)
        data["augment"] = None if self.augment is None else self.augment.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown recipe settings {unknown}; known: {sorted(known)}")
        values = dict(data)
        if values.get("augment") is not None:
            values["augment"] = AugmentConfig.from_dict(values["augment"])
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> "Recipe":
        """A copy with some settings changed (``None`` values are ignored); unknown names refused."""
        known = {f.name for f in fields(self)}
        changes = {key: value for key, value in overrides.items() if value is not None}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TrainingError(f"recipe {self.name}: unknown settings {unknown}; known: {sorted(known)}")
        if "augment" in changes:
            changes["augment"] = self._augment_override(changes["augment"])
        return replace(self, **changes)

    def _augment_override(self, value: Any) -> AugmentConfig | None:
        """``augment`` given as an override: a config, ``False`` (off), or a dict of settings that
        change the recipe's own augmentation (the default ranges where the recipe has none)."""
        if value is False:
            return None
        if isinstance(value, AugmentConfig):
            return value
        if isinstance(value, dict):
            base = (self.augment or AugmentConfig()).to_dict()
            unknown = sorted(set(value) - set(base))
            if unknown:
                raise TrainingError(f"recipe {self.name}: unknown augmentation settings {unknown}; "
                                    f"known: {sorted(base)}")
            return AugmentConfig.from_dict({**base, **value})
        raise TrainingError(f"recipe {self.name}: augment={value!r} must be false (no augmentation) or a JSON "
                            f"object of augmentation settings, such as {{\"rotation_degrees\": 20}}")


def get_recipe(name: str, **overrides: Any) -> Recipe:
    """A named recipe with overrides applied; unknown names raise a TrainingError listing the known ones."""
    if name not in RECIPES:
        raise TrainingError(f"recipe {name!r} is unknown; choose one of {', '.join(RECIPES)}")
    return RECIPES[name].with_overrides(**overrides)


def requested_recipe(name: str, epochs: int | None, options: dict[str, Any]) -> Recipe:
    """The recipe a command asked for: ``name`` with its ``--epochs`` and ``--recipe-option`` settings.

    ``epochs`` may come either way; given both ways with different values it is refused by name."""
    if epochs is not None and options.get("epochs") not in (None, epochs):
        raise TrainingError(f"--epochs {epochs} and --recipe-option epochs={options['epochs']} disagree; give one")
    return get_recipe(name, **{**options, "epochs": epochs if epochs is not None else options.get("epochs")})


def learning_rate_at(recipe: Recipe, step: int, total_steps: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) in a run of ``total_steps`` steps."""
    base = recipe.learning_rate
    if recipe.schedule == "keras_decay":
        return base / (1.0 + recipe.decay * step)
    if recipe.schedule == "constant":
        return base
    warmup = int(round(recipe.warmup_fraction * total_steps))
    if step < warmup:
        return base * (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    if recipe.schedule == "poly":
        return base * (1.0 - progress) ** 0.9
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def _crop_shape(recipe: str, value: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(value)
    except TypeError:
        shape = ()
    if len(shape) != 3 or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
        raise TrainingError(f"recipe {recipe}: crop_shape={value!r} must be three whole numbers >= 1 (z, y, x)")
    return shape


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TrainingError(f"recipe setting {name}={value!r} is unknown; choose one of {', '.join(choices)}")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(name: str, value: Any) -> None:
    if not _finite(value) or value <= 0:
        raise TrainingError(f"recipe setting {name}={value!r} must be a number > 0")


def _whole(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TrainingError(f"recipe setting {name}={value!r} must be a whole number >= 1")


PAPER = Recipe(name="paper", optimizer="adam", learning_rate=1e-5, weight_decay=0.0, epsilon=1e-7,
               schedule="keras_decay", decay=1.99e-6, warmup_fraction=0.0, loss="cross_entropy", batch_size=6,
               epochs=200, validation_fraction=0.2, augment=None, gradient_clip=None, keep="last")
DEFAULT = Recipe(name="default")
# Fine-tuning learns from a few corrected real cases: wide pose and shape changes and a brightness of its
# own for each label, so that it learns the muscles and not one scan's shading (on the real calf case,
# one leg corrected, the other leg went from 0.78 to 0.83 mean Dice with these ranges).
FINETUNE_AUGMENT = AugmentConfig(probability=0.8, rotation_degrees=25.0, scale=(0.85, 1.2), bias_amplitude=0.3,
                                 label_intensity=0.3, elastic=2.0)
FINETUNE = Recipe(name="finetune", learning_rate=1e-3, warmup_fraction=0.1, batch_size=1, epochs=4,
                  min_epoch_steps=100, replay_fraction=0.5, augment=FINETUNE_AUGMENT)

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (PAPER, DEFAULT, FINETUNE)}
