"""The paper's experiment (sections 2.3 and 2.7): heterogeneous against homogeneous training data.

Four sets, all defined by store filters on accepted cases:

* ``T_het`` -- every accepted train-split case (optionally filtered);
* ``T_hom`` -- the train-split cases matching the homogeneous filters; by default the healthy
  cases of protocol B in its most frequent contrast among them (the paper's 88 healthy Dixon
  scans of acquisition B);
* ``P_het`` -- the accepted cases of the prediction split (``test`` by default);
* ``P_hom`` -- the cases of ``P_het`` matching the homogeneous filters.

Each architecture is trained on ``T_het`` and on ``T_hom`` (validation on the matching
validation-split cases), predicts ``P_het`` (and so ``P_hom``), and is scored per case and
muscle (Dice, AHD in voxels and mm). :mod:`legseg_core.training.experiment_tables` writes
Table 1, Table A1 and the paired t-tests. Nothing is registered; the trained models are saved
under ``<out>/models/``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.errors import TrainingError
from legseg_core.progress import Progress, ProgressWork
from legseg_core.training import cards
from legseg_core.training.data import CaseEntry, collect_patches, snapshot, store_cache
from legseg_core.training.loop import TrainingData, train_network
from legseg_core.training.recipes import requested_recipe
from legseg_core.training.runtime import Runtime
from legseg_core.training.scoring import score_cases

log = logging.getLogger(__name__)

TRAINING_SETS = ("T_hom", "T_het")

if TYPE_CHECKING:
    from legseg_core.store import Store


@dataclass(frozen=True)
class ExperimentRequest:
    """Settings of one het-vs-hom experiment; ``max_train_cases`` and the epochs size a quick run."""

    out_dir: Path
    architectures: tuple[str, ...] = ("unet",)
    preset: str = "lite"
    recipe: str = "default"
    epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    het_filters: dict[str, Any] = field(default_factory=dict)
    hom_filters: dict[str, Any] | None = None
    predict_split: str = "test"
    max_train_cases: int | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    recipe_options: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentSets:
    """The snapshot entries of the four sets and the filters that made them."""

    train: dict[str, list[CaseEntry]]
    validation: dict[str, list[CaseEntry]]
    predict_het: list[CaseEntry]
    predict_hom_ids: tuple[str, ...]
    hom_filters: dict[str, Any]


@dataclass
class ExperimentResult:
    """Scores on P_het of each (training set, architecture), and the sets."""

    sets: ExperimentSets
    scores: dict[tuple[str, str], list[Any]]
    seconds: dict[tuple[str, str], float]
    files: list[Path] = field(default_factory=list)

    def predictions(self, training: str, architecture: str, predict: str) -> list[Any]:
        """The case scores of one model on ``P_het`` or ``P_hom``."""
        scores = self.scores[(training, architecture)]
        if predict == "P_het":
            return scores
        return [s for s in scores if s.case_id in set(self.sets.predict_hom_ids)]


def default_hom_filters(store: Store) -> dict[str, Any]:
    """Healthy protocol-B cases in the most frequent contrast among them (ties: alphabetical)."""
    cases = store.accepted_cases(split=None, health="healthy", protocol="B")
    if not cases:
        raise TrainingError(f"the store {store.root} has no accepted healthy protocol-B cases for the homogeneous "
                            "set; give its filters with --hom-where")
    counts = Counter(case.metadata.contrast for case in cases)
    contrast = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return {"health": "healthy", "protocol": "B", "contrast": contrast}


def select_sets(store: Store, request: ExperimentRequest) -> ExperimentSets:
    """The four sets (and validation sets) from the store's accepted cases."""
    hom = dict(request.hom_filters) if request.hom_filters is not None else default_hom_filters(store)
    het = dict(request.het_filters)
    train = {"T_het": _limited(snapshot(store.accepted_cases(split="train", **het)), request),
             "T_hom": _limited(snapshot(store.accepted_cases(split="train", **{**het, **hom})), request)}
    validation = {"T_het": snapshot(store.accepted_cases(split="validation", **het)),
                  "T_hom": snapshot(store.accepted_cases(split="validation", **{**het, **hom}))}
    predict = snapshot(store.accepted_cases(split=request.predict_split, **het))
    predict_hom = {c.id for c in store.accepted_cases(split=request.predict_split, **{**het, **hom})}
    for name, entries in (*train.items(), ("P_het", predict)):
        if not entries:
            raise TrainingError(f"the {name} set of the store {store.root} is empty (homogeneous filters {hom}, "
                                f"prediction split {request.predict_split!r}); add and accept cases for it")
    if not predict_hom:
        raise TrainingError(f"no {request.predict_split}-split case matches the homogeneous filters {hom} (P_hom)")
    return ExperimentSets(train, validation, predict, tuple(sorted(predict_hom)), hom)


def _limited(entries: list[CaseEntry], request: ExperimentRequest) -> list[CaseEntry]:
    if request.max_train_cases is None or len(entries) <= request.max_train_cases:
        return entries
    chosen = np.random.default_rng(request.seed).choice(len(entries), request.max_train_cases, replace=False)
    return [entries[i] for i in sorted(chosen)]


def run_het_vs_hom(store: Store, request: ExperimentRequest) -> ProgressWork[ExperimentResult]:
    """Train every architecture on T_hom and T_het, predict P_het, write the tables; yields progress."""
    import time

    from legseg_core.training.experiment_tables import write_tables

    sets = select_sets(store, request)
    config = cards.preprocess_config(request.preprocess)
    runtime = Runtime.create(request.device, "auto")
    scores, seconds = {}, {}
    for training in TRAINING_SETS:
        for architecture in request.architectures:
            started = time.perf_counter()
            yield Progress(0, 1, f"{architecture} on {training}", {"event": "model", "training": training,
                                                                   "architecture": architecture})
            network = yield from _train_one(store, request, sets, training, architecture, config)
            scores[(training, architecture)] = yield from score_cases(
                network, store, sets.predict_het, config, runtime, with_distances=True,
                what=f"{architecture} ({training}) predicting P_het")
            seconds[(training, architecture)] = time.perf_counter() - started
    result = ExperimentResult(sets, scores, seconds)
    result.files = write_tables(result, request)
    return result


def _train_one(store: Store, request: ExperimentRequest, sets: ExperimentSets, training: str, architecture: str,
               config: Any) -> ProgressWork[Any]:
    import torch

    cache = store_cache(store)
    train = yield from collect_patches(store, sets.train[training], cache, config, f"{training} patches")
    validation = yield from collect_patches(store, sets.validation[training], cache, config, "validation patches")
    recipe = requested_recipe(request.recipe, request.epochs, request.recipe_options)
    torch.manual_seed(request.seed)
    network = cards.build_network(architecture, request.preset, request.model_options)
    run_dir = Path(request.out_dir) / "runs" / f"{training}-{architecture}"
    settings = {"kind": "experiment", "training": training, "architecture": architecture, "preset": request.preset,
                "model_options": request.model_options, "data": [e.to_list() for e in sets.train[training]],
                "preprocess": config.to_dict()}
    outcome = yield from train_network(network, TrainingData(train, validation), recipe, run_dir=run_dir,
                                       device=request.device, seed=request.seed, settings=settings)
    card = cards.make_card(outcome.network, config, sets.train[training],
                           {"validation": {"mean_dice": outcome.validation_mean_dice,
                                           "dice": outcome.validation_dice}}, recipe, None)
    model_file = Path(request.out_dir) / "models" / f"{training}-{architecture}.pt"
    model_file.parent.mkdir(parents=True, exist_ok=True)
    cards.save(outcome.network, card, model_file)
    return outcome.network
