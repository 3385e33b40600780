"""Case adaptation: a model learns from a few corrected slices of the scan being corrected.

:func:`adapt_case` is a progress generator (cancel it by no longer iterating):

1. It cuts the scan into the model's patches and, for labels, keeps only the corrected voxels:
   every other voxel is :data:`~legseg_core.training.losses.UNLABELLED`, which the losses do not
   count (unknown, not background). Where the patch grid has fewer slices than the scan, the
   nearest-neighbour choice of a label slice prefers a corrected neighbour (one that weighs at
   least :data:`MIN_SLICE_WEIGHT` in the image slice), so no corrected slice is lost on the way.
2. It fine-tunes a copy of the model on those patches with the training loop and the
   ``finetune`` recipe's augmentation (elastic deformation, a brightness per label) for
   ``steps`` steps of random windows (:data:`ADAPT_RECIPE`): no replay, no validation, the last
   weights kept. The model file itself is never written. Unless told otherwise, the steps grow
   with what there is to learn from: :data:`BASE_STEPS` plus :data:`STEPS_PER_LEG_SLICE` per
   corrected leg slice, at most :data:`MAX_STEPS` (:meth:`AdaptSettings.steps_for`).
3. It segments the scan with the adapted network and replaces the labels of every voxel that
   was not corrected; corrected voxels keep their labels exactly.
4. Between two corrected leg slices of one leg, within 24 mm of one of them, the muscles both of
   them show are drawn from their shape-based interpolation over the adapted labels
   (:func:`~legseg_core.adapt.between.interpolate_between_corrected`; ``interpolate=False`` keeps
   the network's labels alone).

The result holds the new labels, the adapted network and its card (a case's own model: it is
saved beside the case's draft with :func:`save_adapted`, never registered as a model).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.adapt.between import interpolate_between_corrected
from legseg_core.adapt.recipe import ADAPT_RECIPE, BASE_STEPS, MAX_STEPS, STEPS_PER_LEG_SLICE
from legseg_core.adapt.corrected import AdaptError, LegColumns, LegSlice, check_corrected
from legseg_core.errors import GridMismatchError
from legseg_core.io import Volume
from legseg_core.preprocess.extract import checked_labels
from legseg_core.progress import Progress, ProgressWork
from legseg_core.training.losses import UNLABELLED
from legseg_core.training.patches import LabelledPatches

log = logging.getLogger(__name__)

#: A corrected slice labels a patch slice when it weighs at least this much in its interpolation.
MIN_SLICE_WEIGHT = 0.25


@dataclass(frozen=True)
class AdaptSettings:
    """How long and where to adapt: optimiser ``steps`` (None: by the number of corrected leg slices,
    :meth:`steps_for`), ``learning_rate``, ``seed``, torch ``device``, and whether the slices between
    corrected ones take the interpolation of the muscles both show (``interpolate``)."""

    steps: int | None = None
    learning_rate: float = ADAPT_RECIPE.learning_rate
    seed: int = 0
    device: str = "auto"
    interpolate: bool = True

    def __post_init__(self) -> None:
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int)
                                       or self.steps < 1):
            raise AdaptError(f"steps={self.steps!r} must be a whole number >= 1")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise AdaptError(f"learning_rate={self.learning_rate!r} must be a number in (0, 1)")

    def steps_for(self, leg_slices: int) -> int:
        """The optimiser steps of an adaptation from ``leg_slices`` corrected leg slices."""
        if self.steps is not None:
            return self.steps
        return min(BASE_STEPS + STEPS_PER_LEG_SLICE * max(int(leg_slices), 0), MAX_STEPS)

    def recipe(self, leg_slices: int) -> Any:
        """The training recipe of an adaptation from ``leg_slices`` corrected leg slices."""
        steps = self.steps_for(leg_slices)
        return ADAPT_RECIPE.with_overrides(min_epoch_steps=steps, max_steps=steps,
                                           learning_rate=float(self.learning_rate))


@dataclass
class AdaptResult:
    """New labels ``[z, y, x]`` uint8 (corrected voxels unchanged), the adapted network and card, and
    what happened: corrected leg slices, voxels replaced, optimiser steps, seconds for training and
    segmentation. ``network_labels``: the adapted network's labels alone (corrected voxels unchanged,
    no interpolation between corrected slices), for comparison."""

    labels: np.ndarray
    network: Any
    card: Any
    leg_slices: list[LegSlice]
    replaced_voxels: int
    steps: int
    network_labels: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"corrected": [str(s) for s in self.leg_slices], "replaced_voxels": self.replaced_voxels,
                "steps": self.steps, "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "model": self.card.model_id}


def check_grid(volume: Volume, labels: Volume | np.ndarray) -> np.ndarray:
    """The labels as uint8 ``[z, y, x]`` on the scan's grid; a one-line GridMismatchError otherwise."""
    if isinstance(labels, Volume):
        if labels.shape != volume.shape or not np.allclose(labels.affine, volume.affine, atol=1e-3):
            raise GridMismatchError(f"labels {labels.name} (shape {labels.shape}) are not on the grid of the scan "
                                    f"{volume.name} (shape {volume.shape}, or another affine)")
        return checked_labels(volume, labels.data)
    if np.shape(labels) != volume.shape:
        raise GridMismatchError(f"labels of shape {np.shape(labels)} are not on the grid {volume.shape} of the scan "
                                f"{volume.name}")
    return checked_labels(volume, labels)


def adapt_case(volume: Volume, labels: Volume | np.ndarray, corrected: list[LegSlice], model: Any,
               settings: AdaptSettings = AdaptSettings(), legs: LegColumns | None = None) -> ProgressWork[AdaptResult]:
    """Adapt ``model`` (a model file, name or ``(network, card)`` pair) to ``volume`` from the
    ``corrected`` leg slices of ``labels``; yields progress, returns an :class:`AdaptResult`."""
    from legseg_core.inference import Segmenter

    started = time.perf_counter()
    label_data = check_grid(volume, labels)
    network, card = load_model(model)
    config = _card_config(card)
    legs = legs or LegColumns.of(volume, config)
    corrected = legs.expand(corrected)
    mask = legs.mask(corrected, volume.shape)
    check_corrected(label_data, mask, corrected, volume.name)
    steps = settings.steps_for(len(corrected))
    yield Progress(0, steps + 2, f"{volume.name}: learning from {len(corrected)} corrected leg slice(s)",
                   {"event": "start", "corrected": [str(s) for s in corrected], "steps": steps})
    patches = adaptation_patches(volume, label_data, mask, config)
    network = yield from _train(network, patches, settings.recipe(len(corrected)), settings)
    trained = time.perf_counter()
    adapted_card = adapted_card_for(card, volume, corrected, settings)
    segmenter = Segmenter((network, adapted_card), settings.device)
    segmentation = yield from _relay(segmenter.segment_steps(volume), steps + 1, steps + 2)
    network_labels = np.where(mask, label_data, segmentation.labels).astype(np.uint8)
    new = network_labels
    if settings.interpolate:
        filled = interpolate_between_corrected(network_labels, label_data, corrected, legs, volume.spacing)
        new = np.where(mask, label_data, filled).astype(np.uint8)
    replaced = int(np.count_nonzero(new != label_data))
    seconds = {"train": trained - started, "segment": time.perf_counter() - trained,
               "total": time.perf_counter() - started}
    yield Progress(steps + 2, steps + 2, f"{volume.name}: {replaced} voxels relabelled",
                   {"event": "segmented", "replaced_voxels": replaced})
    return AdaptResult(new, network.cpu(), adapted_card, corrected, replaced, steps, network_labels, seconds)


def load_model(model: Any) -> tuple[Any, Any]:
    """A fresh ``(network, card)`` of a model file or name, or a copy of a ``(network, card)`` pair
    (the caller's network is never trained in place)."""
    import copy

    if isinstance(model, tuple):
        network, card = model
        return copy.deepcopy(network).float(), card
    from legseg_core.model_lookup import resolve_model
    from legseg_core.models import load_checkpoint

    network, card = load_checkpoint(resolve_model(model))
    return network.float(), card


def _card_config(card: Any) -> Any:
    from legseg_core.preprocess import PreprocessConfig

    return PreprocessConfig.from_dict(dict(card.preprocessing)) if card.preprocessing else PreprocessConfig()


def adaptation_patches(volume: Volume, labels: np.ndarray, corrected: np.ndarray, config: Any) -> LabelledPatches:
    """The scan's patches with labels only where ``corrected`` (bool ``[z, y, x]``), UNLABELLED elsewhere;
    patches without a corrected voxel are left out."""
    from legseg_core.preprocess import extract_image_patches, plan_patches
    from legseg_core.preprocess.extract import _crop, _mirror
    from legseg_core.preprocess.resample import resize_nearest, source_positions

    plan = plan_patches(volume, config)
    images = extract_image_patches(volume.data, plan)
    target = np.where(corrected, labels, UNLABELLED).astype(np.uint8)
    keep, label_patches = [], []
    for index, record in enumerate(plan.records):
        box = _crop(target, record, plan, fill=0, dtype=np.uint8)
        (y0, y1), (x0, x1) = record.inside(plan.scan_shape)
        known = np.asarray(corrected[record.z[0]: record.z[1], y0:y1, x0:x1].any(axis=(1, 2)), dtype=bool)
        if not known.any():
            continue
        rows = prefer_known_slices(source_positions(len(known), plan.patch_shape[0]), known)
        patch = resize_nearest(box[rows], plan.patch_shape[1:], (1, 2))
        keep.append(index)
        label_patches.append(_mirror(patch, record))
    if not keep:
        raise AdaptError(f"{volume.name}: no corrected voxel lies inside the legs the preprocessing found")
    return LabelledPatches(images[keep], np.stack(label_patches), (volume.name,) * len(keep))


def prefer_known_slices(positions: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The source slice of each patch slice: the nearest, unless the other neighbour of its (linear)
    position is a corrected slice that weighs at least MIN_SLICE_WEIGHT and the nearest is not."""
    lower = np.floor(positions).astype(np.intp)
    upper = np.minimum(lower + 1, len(known) - 1)
    weight_upper = positions - lower
    nearest = np.where(weight_upper >= 0.5, upper, lower)
    other = np.where(weight_upper >= 0.5, lower, upper)
    other_weight = np.where(weight_upper >= 0.5, 1.0 - weight_upper, weight_upper)
    swap = ~known[nearest] & known[other] & (other_weight >= MIN_SLICE_WEIGHT)
    return np.where(swap, other, nearest)


def _train(network: Any, patches: LabelledPatches, recipe: Any, settings: AdaptSettings) -> ProgressWork[Any]:
    from legseg_core.training.finetune import fit_crop
    from legseg_core.training.loop import TrainingData, train_network

    recipe = fit_crop(recipe, patches.patch_shape)
    outcome = yield from train_network(network, TrainingData(patches), recipe, device=settings.device,
                                       seed=settings.seed)
    return outcome.network


def _relay(work: ProgressWork[Any], done: float, total: float) -> ProgressWork[Any]:
    """Run a segmentation generator, reporting its events as one step of the adaptation's progress."""
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            return stop.value
        yield Progress(done - 1 + event.fraction, total, f"segmenting: {event.message}", {"event": "segment"})


def adapted_card_for(card: Any, volume: Volume, corrected: list[LegSlice], settings: AdaptSettings) -> Any:
    """The card of an adapted model: the base model's, with what it learnt from in ``training``."""
    from datetime import datetime, timezone

    base = card.model_id or card.architecture
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    training = {"kind": "case adaptation", "parent": base, "scan": volume.name,
                "corrected_leg_slices": [str(s) for s in corrected],
                "recipe": settings.recipe(len(corrected)).to_dict(), "seed": settings.seed,
                "interpolate_between_corrected": settings.interpolate}
    return card.with_updates(model_id=f"{base}-adapted-{stamp}", training=training)


def save_adapted(result: AdaptResult, path: str | Path) -> Path:
    """Write the adapted model (weights and card) to ``path`` (a case's own file, never registered)."""
    from legseg_core.models import save_checkpoint

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(result.network, result.card, path)
    return path
