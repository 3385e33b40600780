"""One-button fine-tuning: the active model learns the store's newly accepted label versions.

:func:`finetune_from_store` (used by ``legseg finetune`` and the GUI) is a progress generator:

1. It starts from the active model (or a chosen one) and reads the label versions it has seen
   from its registry entry (its data snapshot).
2. It trains, with the ``finetune`` recipe (random windows, strong augmentation), on the accepted
   train-split cases whose accepted label version the model has not seen -- new cases and
   corrected ones -- mixed with a replay sample of cases it has seen (``replay_fraction`` of
   each epoch), so that it does not forget. Training progress is judged on the validation split.
3. It registers the result as a candidate, child of the starting model, whose snapshot is the
   starting model's plus the new versions.
4. The gate (:mod:`legseg_core.training.gate`) scores the candidate and the active model on the
   held-out cases (validation and test splits); the candidate is promoted if it is not worse,
   rejected otherwise, and the report says why. With no held-out case (a new store) nothing is
   decided: the candidate is kept as an *unvalidated* candidate, one recorded choice away from use
   (:func:`use_unvalidated`), and the gate's comparison on the cases it learnt from informs that
   choice (``use_unvalidated=True`` in the request uses it when that comparison holds). A
   candidate that a killed run registered but never judged is judged at the start of the next
   fine-tuning (:func:`judge_pending`).

A failed or cancelled fine-tuning never changes the active model: registration happens after
training, and the status change is one transaction after the gate.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.errors import LegsegError, TrainingError
from legseg_core.progress import Progress, ProgressWork
from legseg_core.training import cards
from legseg_core.training.data import CaseEntry, collect_patches, snapshot, store_cache
from legseg_core.training.gate import GateRule, GateVerdict, judge, summarise_scores
from legseg_core.training.loop import TrainingData, train_network
from legseg_core.training.recipes import Recipe, requested_recipe
from legseg_core.training.registry import ModelRegistry, ModelVersion
from legseg_core.training.runtime import Runtime
from legseg_core.training.scoring import score_cases
from legseg_core.training.session import (DataSelection, Registration, _is_main_process, fresh_run_dir,
                                          mark_registered, register_outcome)

log = logging.getLogger(__name__)

#: At most this many seen cases per new case are loaded as the replay pool (sampled per epoch).
REPLAY_POOL_PER_NEW_CASE = 2
MIN_REPLAY_POOL = 4

if TYPE_CHECKING:
    from legseg_core.store import Store


@dataclass(frozen=True)
class FinetuneRequest:
    """What ``legseg finetune`` asks for."""

    model: str | None = None
    epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    recipe_options: dict[str, Any] = field(default_factory=dict)
    rule: GateRule = GateRule()
    run_dir: Path | None = None
    use_unvalidated: bool = False


@dataclass
class FinetuneReport:
    """The candidate, the gate's verdict (None when there were no held-out cases) and what happened."""

    base: ModelVersion
    candidate: ModelVersion | None
    verdict: GateVerdict | None
    new_cases: list[CaseEntry]
    replay_cases: list[CaseEntry]
    seconds: float
    outcome: Any

    @property
    def decision(self) -> str:
        """promoted, rejected, unvalidated (a candidate one choice away from use), promoted unvalidated,
        kept as candidate (not judged) or not registered."""
        if self.candidate is None:
            return "not registered"
        if self.verdict is None:
            return "kept as candidate"
        if self.verdict.held_out:
            return "promoted" if self.verdict.passed else "rejected"
        return "promoted unvalidated" if self.candidate.status == "active" else "unvalidated"

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base.id, "candidate": None if self.candidate is None else self.candidate.id,
                "decision": self.decision, "verdict": None if self.verdict is None else self.verdict.to_dict(),
                "reason": self.reason(), "new_cases": [e.to_list() for e in self.new_cases],
                "replay_cases": len(self.replay_cases), "epochs": self.outcome.epochs, "steps": self.outcome.steps,
                "seconds": round(self.seconds, 1), "validation_mean_dice": self.outcome.validation_mean_dice}

    def reason(self) -> str:
        if self.verdict is None:
            return "the store has no accepted validation or test cases, so the gate cannot judge the candidate"
        if self.decision == "unvalidated" and self.candidate is not None:
            return (f"{self.verdict.text()}. Use it anyway (recorded, undone by one rollback): \"Use it "
                    f"(unvalidated)\" in the app or napari, or `legseg models promote {self.candidate.id}`")
        return self.verdict.text()


@dataclass(frozen=True)
class FinetuneData:
    """New entries, the replay pool, validation entries and the held-out entries of the gate."""

    new: list[CaseEntry]
    replay: list[CaseEntry]
    validation: list[CaseEntry]
    held_out: list[CaseEntry]


def select_finetune_data(store: Store, base: ModelVersion, seed: int) -> FinetuneData:
    """Split the train split's accepted versions into unseen (new) and seen (replay pool)."""
    seen = set(base.data)
    accepted = snapshot(store.accepted_cases(split="train"))
    if not accepted:
        held = len(store.accepted_cases(split=None))
        where = f" in its train split ({held} accepted held-out case(s) are never trained on)" if held else ""
        raise TrainingError(f"the store {store.root} has no accepted cases{where}; correct and accept a case "
                            "before fine-tuning")
    new = [e for e in accepted if (e.case_id, e.version_id) not in seen]
    if not new:
        raise TrainingError(f"model {base.id} has seen every accepted label version of the train split of "
                            f"{store.root}; accept new or corrected cases before fine-tuning")
    replay = [e for e in accepted if (e.case_id, e.version_id) in seen]
    pool = max(MIN_REPLAY_POOL, REPLAY_POOL_PER_NEW_CASE * len(new))
    if len(replay) > pool:
        chosen = np.random.default_rng(seed).choice(len(replay), pool, replace=False)
        replay = [replay[i] for i in sorted(chosen)]
    validation, held_out = held_out_cases(store)
    return FinetuneData(new, replay, validation, held_out)


def held_out_cases(store: Store) -> tuple[list[CaseEntry], list[CaseEntry]]:
    """The accepted validation cases, and the gate's held-out cases (validation and test)."""
    validation = snapshot(store.accepted_cases(split="validation"))
    return validation, validation + snapshot(store.accepted_cases(split="test"))


def judge_pending(store: Store, registry: ModelRegistry, request: FinetuneRequest) -> ProgressWork[list[str]]:
    """Judge fine-tuned candidates that a killed run registered but never put through the gate; return their ids.

    A candidate whose file cannot be opened is rejected with the reason."""
    validation, held_out = held_out_cases(store)
    pending = [m for m in registry.models(status="candidate")
               if m.training.get("kind") == "finetune" and "gate" not in m.metrics]
    if not held_out:
        return []
    data = FinetuneData([], [], validation, held_out)
    for model in pending:
        try:
            network, card = cards.load(registry.verified_path(model))
        except LegsegError as error:
            registry.reject(model.id, reason=f"never judged, and its file cannot be opened: {error}")
            continue
        yield from gate_candidate(store, registry, model, network, cards.card_preprocess(card), data, request)
    return [m.id for m in pending]


def finetune_from_store(store: Store, request: FinetuneRequest) -> ProgressWork[FinetuneReport | None]:
    """Fine-tune, register the candidate and apply the gate; yields progress, returns the report
    (None on ranks other than 0 of a distributed run)."""
    import time

    started = time.perf_counter()
    registry = ModelRegistry(store)
    if request.model is None and _is_main_process():
        yield from judge_pending(store, registry, request)
    base = registry.get(request.model) if request.model else registry.require_active()
    network, card = cards.load(registry.verified_path(base))
    data = select_finetune_data(store, base, request.seed)
    recipe = requested_recipe("finetune", request.epochs, request.recipe_options)
    config = cards.card_preprocess(card)
    yield Progress(0, 1, f"fine-tuning {base.id} on {len(data.new)} new case(s)",
                   {"event": "start", "base": base.id, "new_cases": len(data.new), "replay_cases": len(data.replay),
                    "validation_cases": len(data.validation), "held_out_cases": len(data.held_out)})
    cache = store_cache(store)
    new = yield from collect_patches(store, data.new, cache, config, "new cases")
    replay = yield from collect_patches(store, data.replay, cache, config, "replay cases")
    validation = yield from collect_patches(store, data.validation, cache, config, "validation patches")
    recipe = fit_crop(recipe, new.patch_shape)
    settings = {"kind": "finetune", "base": base.id, "data": [e.to_list() for e in data.new],
                "replay": [e.to_list() for e in data.replay], "preprocess": config.to_dict()}
    run_dir = request.run_dir or fresh_run_dir(store, "finetune", settings, recipe, request.seed)
    outcome = yield from train_network(network, TrainingData(new, validation, replay), recipe, run_dir=run_dir,
                                       device=request.device, seed=request.seed, settings=settings)
    if not _is_main_process():
        return None
    seen = tuple(CaseEntry(c, v) for c, v in base.data)
    candidate = register_outcome(store, Registration(outcome, recipe, DataSelection(data.new, data.validation),
                                                     config, seed=request.seed, preset=base.preset, parent=base,
                                                     seen=seen, status="candidate"))
    mark_registered(run_dir, candidate.id)
    verdict = yield from gate_candidate(store, registry, candidate, outcome.network, config, data, request)
    return FinetuneReport(base, registry.get(candidate.id), verdict, data.new, data.replay,
                          time.perf_counter() - started, outcome)


def fit_crop(recipe: Recipe, patch_shape: tuple[int, int, int]) -> Recipe:
    """The recipe with its windows no larger than the model's patches: the fine-tuning recipe serves
    every model, and a model with smaller patches trains on whole patches along those axes."""
    if recipe.crop_shape is None:
        return recipe
    fitted = tuple(min(c, p) for c, p in zip(recipe.crop_shape, patch_shape))
    if fitted != recipe.crop_shape:
        log.info("windows of %s instead of %s: the model's patches are %s", list(fitted),
                 list(recipe.crop_shape), list(patch_shape))
    return recipe.with_overrides(crop_shape=fitted)


def gate_candidate(store: Store, registry: ModelRegistry, candidate: ModelVersion, network: Any, config: Any,
                   data: FinetuneData, request: FinetuneRequest) -> ProgressWork[GateVerdict]:
    """Score the candidate and the active model on the held-out cases (else on the new cases it learnt
    from); promote, keep as unvalidated candidate, or reject it (see :mod:`legseg_core.training.gate`)."""
    held_out = bool(data.held_out)
    cases = data.held_out if held_out else data.new
    runtime = Runtime.create(request.device, "auto")
    active = registry.active()
    candidate_scores = yield from score_cases(network, store, cases, config, runtime, what="candidate")
    active_summary = None
    if active is not None:
        active_network, active_card = cards.load(registry.verified_path(active))
        active_network.to(runtime.device)
        active_scores = yield from score_cases(active_network, store, cases, cards.card_preprocess(active_card),
                                               runtime, what=f"active {active.id}")
        active_summary = summarise_scores(active_scores)
    verdict = judge(summarise_scores(candidate_scores), active_summary, request.rule, held_out=held_out)
    registry.update_metrics(candidate.id, {"gate": verdict.to_dict()})
    if held_out and verdict.passed:
        registry.promote(candidate.id, reason=f"gate {verdict.text()}")
    elif held_out:
        registry.reject(candidate.id, reason=f"gate {verdict.text()}")
    elif request.use_unvalidated and verdict.passed:
        use_unvalidated(store, candidate.id, where="legseg finetune --use-unvalidated")
    yield Progress(1, 1, f"gate {verdict.text()}", {"event": "verdict", "passed": verdict.passed,
                                                      "held_out": held_out, "reasons": list(verdict.reasons),
                                                      "candidate_mean_dice": _finite(verdict.candidate.mean_dice)})
    return verdict


def unvalidated_candidate(store: Any) -> ModelVersion | None:
    """The newest candidate fine-tuned from the active model that was never validated (the store had no
    held-out case): what "Use it (unvalidated)" offers."""
    registry = ModelRegistry(store)
    active = registry.active()
    for model in registry.models("candidate"):
        gate = model.metrics.get("gate") or {}
        if active is not None and model.parent_id == active.id and gate.get("held_out") is False:
            return model
    return None


def use_unvalidated(store: Any, model_id: str, *, author: str = "", where: str = "") -> ModelVersion:
    """Make an unvalidated candidate active by an explicit choice, recorded in the model's status log and
    metrics (``gate.used_unvalidated``); ``legseg models rollback`` (or Roll back) undoes it."""
    from legseg_core.store.catalog import now_iso

    registry = ModelRegistry(store)
    model = registry.get(model_id)
    gate = dict(model.metrics.get("gate") or {})
    if model.status != "candidate":
        raise TrainingError(f"model {model.id} is {model.status}, not a candidate; only a candidate can be put "
                            "to use unvalidated")
    gate["used_unvalidated"] = {"author": author, "time": now_iso(), "where": where}
    registry.update_metrics(model.id, {"gate": gate})
    return registry.promote(model.id, author=author,
                            reason=f"used unvalidated ({where or 'by choice'}): the store had no held-out case")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
