"""The training loop: patches in memory -> a trained network, as a progress generator.

:func:`train_network` yields a :class:`~legseg_core.progress.Progress` event after every
optimiser step (``details["event"] == "step"``: epoch, step, loss, learning rate, ETA in
seconds) and after every epoch (``"epoch"``: mean training loss, per-muscle validation Dice on
the validation patches, ETA), and returns a :class:`TrainingOutcome`. Every event is a place
where the run may be cancelled (the consumer stops iterating); the checkpoint of the last
finished epoch stays in the run folder and the run resumes from it when started again with the
same run folder and settings.

The run stops with a :class:`~legseg_core.errors.TrainingError` when the loss is not finite or
exceeds ``recipe.divergence_factor`` times ``max(first loss, ln 8)`` (the loss of an untrained
network), or when the gradient norm is not finite. Nothing is registered here: callers register
a model only after the generator has returned.

Batches hold ``recipe.batch_size`` patches per process. Each epoch shuffles its patch indices
with a :class:`torch.utils.data.DistributedSampler` seeded by the run's seed and the epoch, and
draws augmentation from a generator seeded by (seed, epoch, rank): a resumed run continues
exactly as an uninterrupted one would. Under torchrun each rank takes its shard of the epoch,
gradients are averaged by DistributedDataParallel, and only rank 0 writes checkpoints.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.errors import TrainingError
from legseg_core.labels import NUM_CLASSES
from legseg_core.progress import Progress, ProgressWork
from legseg_core.training.checkpoints import RunFolder, load_torch, save_torch, set_aside
from legseg_core.training.patches import LabelledPatches
from legseg_core.training.recipes import Recipe
from legseg_core.training.runtime import Runtime
from legseg_core.training.steps import StepRunner, epoch_seed

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class TrainingData:
    """What one run trains on: the training patches, optional validation patches, and (fine-tuning)
    a pool of patches of cases the model has seen, sampled anew each epoch."""

    train: LabelledPatches
    validation: LabelledPatches | None = None
    replay: LabelledPatches | None = None


@dataclass
class TrainingOutcome:
    """The result of a run: the network with the kept weights and what happened on the way."""

    network: Any
    history: list[dict[str, Any]]
    epochs: int
    steps: int
    best_epoch: int | None
    validation_dice: dict[str, float]
    validation_mean_dice: float
    seconds: float
    resumed_from_epoch: int = 0
    run_dir: Path | None = None
    patches_seen: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochPlan:
    """Sizes of a run: patches per epoch (new and replayed), steps per epoch, steps in all."""

    new_patches: int
    replay_patches: int
    steps_per_epoch: int
    epochs: int

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @classmethod
    def create(cls, data: TrainingData, recipe: Recipe, world_size: int) -> "EpochPlan":
        """Every new patch once per epoch, plus ``replay_fraction`` of the epoch from the replay pool;
        at least ``min_epoch_steps`` steps (the patches cycled); ``max_steps`` trims the steps of each
        epoch so that the whole run stays within it."""
        new = len(data.train)
        replay = 0
        if data.replay is not None and len(data.replay) and recipe.replay_fraction > 0:
            wanted = int(round(new * recipe.replay_fraction / (1.0 - recipe.replay_fraction)))
            replay = min(len(data.replay), max(1, wanted))
        per_rank = math.ceil((new + replay) / world_size)
        steps = max(math.ceil(per_rank / recipe.batch_size), recipe.min_epoch_steps)
        if recipe.max_steps is not None:
            steps = max(1, min(steps, math.ceil(recipe.max_steps / recipe.epochs)))
        return cls(new, replay, steps, recipe.epochs)


def train_network(network: Any, data: TrainingData, recipe: Recipe, *, run_dir: str | Path | None = None,
                  device: str | None = "auto", seed: int = 0, settings: dict[str, Any] | None = None,
                  stop_after_epochs: int | None = None) -> ProgressWork[TrainingOutcome]:
    """Train ``network`` (a :mod:`legseg_core.models` net with ``logits``) on ``data`` with ``recipe``.

    ``run_dir`` holds the checkpoints; a folder with a checkpoint of the same settings (``settings``
    plus the recipe, seed and data sizes) resumes where it stopped. ``stop_after_epochs`` ends the run
    after that epoch of the recipe's schedule (its learning rate as planned for all the epochs, the
    steps exactly those of the whole run so far); run again without it, the run resumes to its end.
    Yields progress, returns the outcome.
    """
    if len(data.train) == 0:
        raise TrainingError("no training patches: the selection holds no labelled case")
    check_stop_after_epochs(stop_after_epochs)
    runtime = Runtime.create(device, recipe.precision)
    plan = EpochPlan.create(data, recipe, runtime.world_size)
    trainer = StepRunner(network, recipe, runtime, plan.total_steps)
    folder = None if run_dir is None else RunFolder(Path(run_dir))
    state = _start(trainer, folder, recipe, plan, seed, data, settings or {})
    last = plan.epochs if stop_after_epochs is None else min(plan.epochs, stop_after_epochs)
    return (yield from _run(trainer, data, recipe, plan, seed, folder, state, last))


def check_stop_after_epochs(value: int | None) -> None:
    """Refuse an epoch to stop after that is not a whole number >= 1 (None: run every epoch)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise TrainingError(f"stop_after_epochs={value!r} must be a whole number >= 1")


@dataclass
class _RunState:
    epoch: int = 0
    step: int = 0
    first_loss: float | None = None
    best_epoch: int | None = None
    best_dice: float = -math.inf
    best_weights: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int = 0


def _start(trainer: StepRunner, folder: RunFolder | None, recipe: Recipe, plan: EpochPlan, seed: int,
           data: TrainingData, settings: dict[str, Any]) -> _RunState:
    """A fresh state, or the state of the folder's last checkpoint when the run resumes."""
    if folder is None:
        return _RunState()
    described = {**settings, "recipe": recipe.to_dict(), "seed": seed, "world_size": trainer.runtime.world_size,
                 "patches": [plan.new_patches, plan.replay_patches, len(data.validation or ())]}
    if not _resumes(trainer.runtime, folder, described):
        return _RunState()
    try:
        return _resumed_state(trainer, folder)
    except (TrainingError, KeyError, TypeError, ValueError, RuntimeError) as error:
        # A damaged checkpoint must not block these settings for good: set it aside and start afresh.
        if trainer.runtime.is_main:
            for path in (folder.last_path, folder.best_path):
                if path.is_file():
                    log.warning("%s: set aside as %s", path, set_aside(path))
        log.warning("%s: the run's checkpoint is damaged (%s); the run starts afresh",
                    folder.path, str(error).splitlines()[0] if str(error) else type(error).__name__)
        return _RunState()


def _resumed_state(trainer: StepRunner, folder: RunFolder) -> _RunState:
    """The state of the folder's last checkpoint, loaded into ``trainer``."""
    checkpoint = load_torch(folder.last_path)
    state = _RunState(epoch=int(checkpoint["epoch"]), step=int(checkpoint["step"]),
                      first_loss=_optional_float(checkpoint["first_loss"]),
                      best_epoch=None if checkpoint["best_epoch"] < 0 else int(checkpoint["best_epoch"]),
                      best_dice=float(checkpoint["best_dice"]), history=list(checkpoint["history"]))
    best = load_torch(folder.best_path)["model"] if state.best_epoch is not None and folder.best_path.is_file() \
        else None
    trainer.load_state(checkpoint)
    state.resumed_from = state.epoch
    state.best_weights = best
    return state


def _resumes(runtime: Runtime, folder: RunFolder, described: dict[str, Any]) -> bool:
    """Rank 0 claims the folder (or finds it was started with other settings); every rank learns the answer."""
    code, refusal = 0, None
    if runtime.is_main:
        try:
            code = 1 if folder.claim(described) else 0
        except TrainingError as error:
            code, refusal = 2, error
    code = runtime.broadcast_int(code)
    if code == 2:
        raise refusal or TrainingError(f"{folder.path}: rank 0 refused this run folder")
    return code == 1


def _run(trainer: StepRunner, data: TrainingData, recipe: Recipe, plan: EpochPlan, seed: int,
         folder: RunFolder | None, state: _RunState, last: int) -> Iterator[Progress]:
    """The epochs from the state's to ``last`` (the plan's last, or an earlier one to stop after)."""
    pool = data.train if plan.replay_patches == 0 else LabelledPatches.concatenate([data.train, data.replay])
    _check_crop(recipe, pool)
    clock = _Clock(plan.total_steps, state.step)
    for epoch in range(state.epoch, last):
        losses = []
        for images, labels in _batches(pool, plan, recipe, trainer.runtime, seed, epoch):
            loss = trainer.step(images, labels, state.step)
            state.first_loss = _check_loss(loss, state.first_loss, recipe, epoch, state.step)
            state.step += 1
            losses.append(loss)
            yield _step_event(state, plan, loss, trainer.learning_rate, clock)
        dice = trainer.validate(data.validation) if data.validation is not None and len(data.validation) else {}
        _record_epoch(state, trainer, epoch + 1, float(np.mean(losses)), dice, folder)
        yield _epoch_event(state, plan, clock)
    return _finish(trainer, recipe, plan, state, folder, clock)


def _batches(pool: LabelledPatches, plan: EpochPlan, recipe: Recipe, runtime: Runtime, seed: int,
             epoch: int) -> Iterator[tuple[Any, Any]]:
    """The epoch's batches for this rank: new patches, a replay draw, shuffled and sharded."""
    import torch
    from torch.utils.data import DistributedSampler

    from legseg_core.training.augment import augment_batch

    rng = np.random.default_rng([seed, epoch, 7])
    replay = rng.choice(len(pool) - plan.new_patches, plan.replay_patches, replace=False) + plan.new_patches
    members = np.concatenate([np.arange(plan.new_patches), replay]).astype(np.int64)
    sampler = DistributedSampler(range(len(members)), num_replicas=runtime.world_size, rank=runtime.rank,
                                 shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    order = members[np.fromiter(iter(sampler), dtype=np.int64)]
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch, runtime.rank))
    for step in range(plan.steps_per_epoch):
        index = order[(step * recipe.batch_size) % len(order):][: recipe.batch_size]
        images, labels = _crops(pool, index, recipe.crop_shape, rng)
        images = torch.from_numpy(images).unsqueeze(1)
        labels = torch.from_numpy(labels.astype(np.int64))
        if recipe.augment is not None:
            images, labels = augment_batch(images, labels, recipe.augment, generator)
        yield images, labels


def _check_crop(recipe: Recipe, pool: LabelledPatches) -> None:
    if recipe.crop_shape is not None and any(c > p for c, p in zip(recipe.crop_shape, pool.patch_shape)):
        raise TrainingError(f"recipe {recipe.name}: crop_shape={list(recipe.crop_shape)} is larger than the "
                            f"training patches {list(pool.patch_shape)} (z, y, x); choose a smaller crop")


def _crops(pool: LabelledPatches, index: np.ndarray, crop: tuple[int, int, int] | None,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The patches at ``index``, or a random ``crop`` (z, y, x) of each, image and labels alike."""
    if crop is None:
        return pool.images[index], pool.labels[index]
    images = np.empty((len(index), *crop), dtype=pool.images.dtype)
    labels = np.empty((len(index), *crop), dtype=pool.labels.dtype)
    for row, patch in enumerate(index):
        start = [int(rng.integers(0, size - c + 1)) for size, c in zip(pool.patch_shape, crop)]
        window = tuple(slice(s, s + c) for s, c in zip(start, crop))
        images[row], labels[row] = pool.images[patch][window], pool.labels[patch][window]
    return images, labels


def _check_loss(loss: float, first: float | None, recipe: Recipe, epoch: int, step: int) -> float:
    """The reference loss for divergence, after refusing a NaN/Inf or exploding loss."""
    if not math.isfinite(loss):
        raise TrainingError(f"the loss became {loss} at epoch {epoch + 1}, step {step + 1}; training stopped "
                            "(lower the learning rate or use precision fp32)")
    reference = loss if first is None else first
    limit = recipe.divergence_factor * max(reference, math.log(NUM_CLASSES))
    if loss > limit:
        raise TrainingError(f"the loss exploded to {loss:.4g} (limit {limit:.4g}) at epoch {epoch + 1}, "
                            f"step {step + 1}; training stopped (lower the learning rate)")
    return reference


def _record_epoch(state: _RunState, trainer: StepRunner, epoch: int, loss: float, dice: dict[str, float],
                  folder: RunFolder | None) -> None:
    """Append the epoch to the history, keep the best weights, write the checkpoint (rank 0)."""
    mean_dice = _mean(dice)
    state.epoch = epoch
    state.history.append({"epoch": epoch, "step": state.step, "loss": loss, "learning_rate": trainer.learning_rate,
                          "validation_dice": dict(dice), "validation_mean_dice": mean_dice})
    improved = math.isfinite(mean_dice) and mean_dice > state.best_dice
    if improved:
        state.best_epoch, state.best_dice = epoch, mean_dice
        state.best_weights = trainer.weights_copy()
    if not trainer.runtime.is_main:
        return
    log.info("epoch %d: loss %.4f, validation mean Dice %.3f", epoch, loss, mean_dice)
    if folder is None:
        return
    if improved:
        save_torch(folder.best_path, {"format": CHECKPOINT_FORMAT, "epoch": epoch, "model": state.best_weights})
    save_torch(folder.last_path, {"format": CHECKPOINT_FORMAT, "epoch": epoch, "step": state.step,
                                  "first_loss": math.nan if state.first_loss is None else state.first_loss,
                                  "best_epoch": -1 if state.best_epoch is None else state.best_epoch,
                                  "best_dice": state.best_dice, "history": state.history, **trainer.state()})


def _finish(trainer: StepRunner, recipe: Recipe, plan: EpochPlan, state: _RunState, folder: RunFolder | None,
            clock: "_Clock") -> TrainingOutcome:
    if recipe.keep == "best" and state.best_weights is not None:
        trainer.network.load_state_dict(state.best_weights)
        kept = next(h for h in state.history if h["epoch"] == state.best_epoch)
    else:
        kept = state.history[-1] if state.history else {"validation_dice": {}, "validation_mean_dice": math.nan}
    trainer.runtime.broadcast_state(trainer.network)
    return TrainingOutcome(network=trainer.network, history=state.history, epochs=state.epoch, steps=state.step,
                           best_epoch=state.best_epoch, validation_dice=dict(kept["validation_dice"]),
                           validation_mean_dice=float(kept["validation_mean_dice"]), seconds=clock.elapsed,
                           resumed_from_epoch=state.resumed_from, run_dir=None if folder is None else folder.path,
                           patches_seen=(state.step - clock.start_step) * recipe.batch_size)


class _Clock:
    """Elapsed time and ETA of the steps run in this session."""

    def __init__(self, total_steps: int, start_step: int) -> None:
        self.total_steps, self.start_step, self.started = total_steps, start_step, time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def eta(self, step: int) -> float | None:
        done = step - self.start_step
        return None if done <= 0 else self.elapsed / done * (self.total_steps - step)


def _step_event(state: _RunState, plan: EpochPlan, loss: float, learning_rate: float, clock: _Clock) -> Progress:
    epoch = state.epoch + 1
    return Progress(state.step, plan.total_steps, f"epoch {epoch}/{plan.epochs} loss {loss:.4f}",
                    {"event": "step", "epoch": epoch, "epochs": plan.epochs, "step": state.step,
                     "steps": plan.total_steps, "loss": loss, "learning_rate": learning_rate,
                     "eta_seconds": clock.eta(state.step)})


def _epoch_event(state: _RunState, plan: EpochPlan, clock: _Clock) -> Progress:
    last = state.history[-1]
    dice = last["validation_mean_dice"]
    text = f"epoch {last['epoch']}/{plan.epochs} loss {last['loss']:.4f}"
    text += f" val Dice {dice:.3f}" if math.isfinite(dice) else ""
    return Progress(state.step, plan.total_steps, text,
                    {"event": "epoch", "epoch": last["epoch"], "epochs": plan.epochs, "step": state.step,
                     "steps": plan.total_steps, "loss": last["loss"], "learning_rate": last["learning_rate"],
                     "validation_dice": last["validation_dice"], "validation_mean_dice": dice,
                     "best_epoch": state.best_epoch, "eta_seconds": clock.eta(state.step)})


def _mean(dice: dict[str, float]) -> float:
    values = [v for v in dice.values() if math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def _optional_float(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value

