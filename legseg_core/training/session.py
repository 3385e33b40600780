"""``legseg train`` as a core function: accepted store cases -> a trained, registered model.

:func:`train_from_store` is a progress generator. It collects the accepted cases of the train
split (optionally filtered by store metadata), takes validation cases from the store's
validation split -- or, for a recipe with ``validation_fraction > 0`` such as ``paper``, holds
out that share of the training cases (80/20 in the paper) -- turns them into cached patches,
trains, and registers the model.

Registration rule: the new model becomes **active when the store has no active model**, and
a **candidate** otherwise (promote it with ``legseg models promote`` or let ``legseg finetune``'s
gate decide). A failed, diverged or cancelled run registers nothing.

Run folders: ``<store>/runs/train-<key>`` where the key is a hash of the settings and the data
snapshot, so running the same command again after an interruption resumes automatically; a
finished, registered run is never resumed (the next run gets a new folder).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import TrainingError
from legseg_core.progress import ProgressWork
from legseg_core.training import cards
from legseg_core.training.data import CaseEntry, collect_patches, snapshot, store_cache
from legseg_core.training.loop import TrainingData, TrainingOutcome, check_stop_after_epochs, train_network
from legseg_core.training.patches import split_cases
from legseg_core.training.recipes import Recipe, requested_recipe
from legseg_core.training.registry import ModelRegistry, ModelVersion

if TYPE_CHECKING:
    from legseg_core.store import Store

log = logging.getLogger(__name__)

RUNS_FOLDER = "runs"
REGISTERED_FILE = "registered.json"


@dataclass(frozen=True)
class TrainRequest:
    """What ``legseg train`` asks for: a new ``architecture``/``preset`` network (U-Net, lite when
    not given), or with ``init`` (a model file or name) the weights, network and preprocessing of
    an existing model to train further. ``model_options`` override the preset's network arguments,
    ``recipe_options`` the recipe's settings and ``preprocess`` the paper's preprocessing settings
    (e.g. a smaller ``patch_shape``); ``filters`` select store cases by metadata (contrast, protocol,
    health, ...)."""

    architecture: str | None = None
    preset: str | None = None
    init: str | None = None
    recipe: str = "default"
    epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    model_options: dict[str, Any] = field(default_factory=dict)
    recipe_options: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    register: bool = True
    stop_after_epochs: int | None = None

    def recipe_value(self) -> Recipe:
        return requested_recipe(self.recipe, self.epochs, self.recipe_options)


@dataclass
class TrainReport:
    """What a training run produced (``model`` is None when nothing was registered, e.g. on ranks > 0)."""

    model: ModelVersion | None
    outcome: TrainingOutcome
    train_cases: list[CaseEntry]
    validation_cases: list[CaseEntry]
    run_dir: Path
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": None if self.model is None else self.model.to_dict(), "rule": self.rule,
                "run_dir": str(self.run_dir), "train_cases": len(self.train_cases),
                "validation_cases": len(self.validation_cases), "epochs": self.outcome.epochs,
                "steps": self.outcome.steps, "seconds": self.outcome.seconds,
                "resumed_from_epoch": self.outcome.resumed_from_epoch, "best_epoch": self.outcome.best_epoch,
                "validation_dice": self.outcome.validation_dice,
                "validation_mean_dice": self.outcome.validation_mean_dice}


@dataclass(frozen=True)
class DataSelection:
    """The snapshot entries a run trains and validates on."""

    train: list[CaseEntry]
    validation: list[CaseEntry]


def select_training_data(store: Store, recipe: Recipe, seed: int, filters: dict[str, Any]) -> DataSelection:
    """Train-split accepted cases, and validation cases by the recipe's rule (see the module docstring)."""
    entries = snapshot(store.accepted_cases(split="train", **filters))
    if not entries:
        where = f" matching {filters}" if filters else ""
        raise TrainingError(f"the store {store.root} has no accepted cases in its train split{where}; add and "
                            "accept labelled cases with `legseg store add` / `legseg store accept`")
    if recipe.validation_fraction > 0:
        kept, held = split_cases([e.case_id for e in entries], recipe.validation_fraction, seed)
        by_case = {e.case_id: e for e in entries}
        return DataSelection([by_case[c] for c in kept], [by_case[c] for c in held])
    return DataSelection(entries, snapshot(store.accepted_cases(split="validation", **filters)))


def train_from_store(store: Store, request: TrainRequest) -> ProgressWork[TrainReport]:
    """Train a network on the store's accepted cases and register it; yields progress, returns the report."""
    check_stop_after_epochs(request.stop_after_epochs)
    recipe = request.recipe_value()
    network, config, init = starting_network(store, request)
    selection = select_training_data(store, recipe, request.seed, request.filters)
    cache = store_cache(store)
    train = yield from collect_patches(store, selection.train, cache, config, "training patches")
    validation = yield from collect_patches(store, selection.validation, cache, config, "validation patches")
    settings = {"kind": "train", "architecture": network.architecture, "preset": network.preset,
                "model_options": request.model_options, "data": [e.to_list() for e in selection.train],
                "validation": [e.to_list() for e in selection.validation], "preprocess": config.to_dict(),
                **({"init": init} if init else {})}
    run_dir = request.run_dir or fresh_run_dir(store, "train", settings, recipe, request.seed)
    outcome = yield from train_network(network, TrainingData(train, validation), recipe, run_dir=run_dir,
                                       device=request.device, seed=request.seed, settings=settings,
                                       stop_after_epochs=request.stop_after_epochs)
    rule = "active if the store has no active model, otherwise candidate"
    model = None
    stopped = outcome.epochs < recipe.epochs  # asked to stop early: the folder stays open to resume to the end
    if request.register and _is_main_process():
        model = register_outcome(store, Registration(outcome, recipe, selection, config, seed=request.seed,
                                                     preset=request.preset, init=init,
                                                     stopped_after_epochs=outcome.epochs if stopped else None))
        if not stopped:
            mark_registered(run_dir, model.id)
    return TrainReport(model, outcome, selection.train, selection.validation, Path(run_dir), rule)


def starting_network(store: Store, request: TrainRequest) -> tuple[Any, Any, dict[str, str] | None]:
    """The network to train, its preprocessing settings, and (with ``request.init``) where its
    starting weights came from: the model's file name, id and checksum."""
    import torch

    torch.manual_seed(request.seed)  # the initial weights, and every later draw from torch's generator
    if request.init is None:
        network = cards.build_network(request.architecture or "unet", request.preset or "lite", request.model_options)
        return network, cards.preprocess_config(request.preprocess), None
    given = [flag for flag, value in (("--arch", request.architecture), ("--preset", request.preset),
                                      ("--model-option", request.model_options),
                                      ("--preprocess-option", request.preprocess)) if value]
    if given:
        raise TrainingError(f"--init {request.init} brings its own network and preprocessing; leave out "
                            f"{', '.join(given)}")
    from legseg_core.model_lookup import resolve_model
    from legseg_core.checksums import file_sha256

    path = resolve_model(request.init, store=store.root)
    network, card = cards.load(path)
    log.info("training starts from the weights of %s (%s)", path, card.model_id)
    return network, cards.card_preprocess(card), {"file": path.name, "model_id": card.model_id,
                                                  "sha256": file_sha256(path)}


@dataclass(frozen=True)
class Registration:
    """A trained network to register, with how it was made.

    ``selection`` holds the cases it trained and validated on, ``seen`` the cases its parent had
    seen already (fine-tuning), ``config`` its preprocessing; ``parent`` is the model it was
    fine-tuned from; ``status`` the registry status (default: active when the store has no active
    model, else candidate); ``init`` where its starting weights came from, when not random."""

    outcome: TrainingOutcome
    recipe: Recipe
    selection: DataSelection
    config: Any
    seed: int
    preset: str | None = None
    parent: ModelVersion | None = None
    seen: tuple[CaseEntry, ...] = ()
    status: str | None = None
    reason: str = ""
    init: dict[str, str] | None = None
    stopped_after_epochs: int | None = None


def register_outcome(store: Store, registration: Registration) -> ModelVersion:
    """Register a trained network: its card, file and registry row."""
    outcome, recipe, selection, config = (registration.outcome, registration.recipe, registration.selection,
                                          registration.config)
    parent, init, status = registration.parent, registration.init, registration.status
    registry = ModelRegistry(store)
    data = list(dict.fromkeys([*registration.seen, *selection.train]))
    metrics = {"validation": {"source": "validation patches", "mean_dice": outcome.validation_mean_dice,
                              "dice": outcome.validation_dice, "cases": [e.case_id for e in selection.validation]}}
    training = {"kind": "finetune" if parent else "train",
                "preset": getattr(outcome.network, "preset", registration.preset),
                "init": init, "recipe": recipe.to_dict(),
                "data": [e.to_list() for e in data], "validation": [e.to_list() for e in selection.validation],
                "seed": registration.seed, "epochs": outcome.epochs, "steps": outcome.steps,
                "best_epoch": outcome.best_epoch, "seconds": round(outcome.seconds, 1),
                "run_dir": str(outcome.run_dir) if outcome.run_dir else "", "history": outcome.history,
                **({"stopped_after_epochs": registration.stopped_after_epochs}
                   if registration.stopped_after_epochs is not None else {})}
    parent_id = parent.id if parent else None

    def write(path: Path, model_id: str) -> None:
        card = cards.make_card(outcome.network, config, data, metrics, recipe, parent_id, model_id, init=init)
        cards.save(outcome.network, card, path)

    if status is None:
        status = "active" if registry.active() is None else "candidate"
    return registry.register(write,
                             architecture=cards.architecture_of(outcome.network), training=training,
                             metrics=metrics, parent_id=parent_id, status=status,
                             reason=registration.reason or ("first model of the store" if status == "active" else ""))


def fresh_run_dir(store: Store, kind: str, settings: dict[str, Any], recipe: Recipe, seed: int) -> Path:
    """``<store>/runs/<kind>-<key>``: the same settings resume the same folder until it is registered."""
    text = json.dumps({"settings": settings, "recipe": recipe.to_dict(), "seed": seed}, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    base = Path(store.root) / RUNS_FOLDER / f"{kind}-{key}"
    candidate, number = base, 1
    while (candidate / REGISTERED_FILE).is_file():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def mark_registered(run_dir: Path, model_id: str) -> None:
    """Note in the run folder that its result is registered, so it is never resumed again."""
    path = Path(run_dir) / REGISTERED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps({"model": model_id}) + "\n")


def _is_main_process() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


__all__ = ["DataSelection", "Registration", "TrainReport", "TrainRequest", "fresh_run_dir", "register_outcome",
           "select_training_data", "train_from_store"]
