"""One-button fine-tuning on a store of tiny phantoms: unseen versions, replay, the gate, JSON progress."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import CancelledError, TrainingError
from legseg_core.evaluation.metrics import evaluate_labels
from legseg_core.progress import CancelToken, drive, run_quietly
from legseg_core.store import Store
from legseg_core.training import finetune as finetune_module
from legseg_core.training.finetune import FinetuneRequest, finetune_from_store
from legseg_core.training.registry import ModelRegistry
from legseg_core.training.session import train_from_store
from tests.core.test_train_store import TINY_RECIPE, make_store, tiny_request


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def correct_cases(store: Store, count: int = 2) -> list[str]:
    """Add and accept a corrected label version of ``count`` train-split cases (one voxel layer moved)."""
    corrected = []
    for case in store.accepted_cases(split="train")[:count]:
        labels = store.load_labels(case.accepted_version)
        labels[0] = labels[1]
        version = store.add_label_version(case.id, labels, provenance=f"corrected:{case.accepted_version}")
        store.accept(case.id, version.id)
        corrected.append(case.id)
    return corrected


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with an active tiny model and two corrected train cases it has not seen."""
    store = make_store(tmp_path_factory.mktemp("finetune-template") / "store")
    run_quietly(train_from_store(store, tiny_request(epochs=2)))
    correct_cases(store)
    store.catalog.close()
    return store.root


@pytest.fixture()
def store(template, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(template, root)
    return Store.open(root)


def request(**changes) -> FinetuneRequest:
    values = dict(epochs=1, device="cpu", recipe_options=TINY_RECIPE)
    values.update(changes)
    return FinetuneRequest(**values)


def test_finetune_learns_unseen_versions_registers_a_child_and_applies_the_gate(store):
    registry = ModelRegistry(store)
    base = registry.active()
    report = run_quietly(finetune_from_store(store, request()))
    assert report.base.id == base.id and report.candidate.parent_id == base.id
    assert len(report.new_cases) == 2 and report.replay_cases
    assert {e.case_id for e in report.new_cases}.isdisjoint({e.case_id for e in report.replay_cases})
    assert set(report.candidate.data) == set(base.data) | {(e.case_id, e.version_id) for e in report.new_cases}
    held_out = len(store.accepted_cases(split="validation")) + len(store.accepted_cases(split="test"))
    assert len(report.verdict.candidate.cases) == held_out
    assert report.decision in ("promoted", "rejected")
    expected_active = report.candidate.id if report.decision == "promoted" else base.id
    assert registry.active().id == expected_active
    assert registry.get(report.candidate.id).metrics["gate"]["passed"] is report.verdict.passed
    # The candidate has now seen everything: a second fine-tuning of it has nothing new to learn.
    with pytest.raises(TrainingError, match="has seen every accepted label version"):
        run_quietly(finetune_from_store(store, request(model=report.candidate.id)))


def fixed_scores(candidate_dice: float, active_dice: float):
    """A stand-in for score_cases: each model gets the same prediction on every held-out case, with the
    first rows of each muscle column wiped out (more of them for a lower ``dice``)."""
    def scores(network, store, entries, config, runtime, what="scoring", **options):
        dice = candidate_dice if what == "candidate" else active_dice
        reference = np.zeros((4, 10, 10), np.uint8)
        for label in range(1, 8):
            reference[:, :, label] = label
        prediction = reference.copy()
        wrong = int(round((1.0 - dice) * 10))
        prediction[:, :wrong] = 0
        yield from ()
        return [evaluate_labels(reference, prediction, case_id=e.case_id, with_distances=False) for e in entries]
    return scores


@pytest.mark.parametrize("candidate, active, decision", [(0.9, 0.8, "promoted"), (0.6, 0.8, "rejected")])
def test_gate_promotes_a_better_candidate_and_rejects_a_worse_one(store, monkeypatch, candidate, active, decision):
    monkeypatch.setattr(finetune_module, "score_cases", fixed_scores(candidate, active))
    registry = ModelRegistry(store)
    base = registry.active()
    report = run_quietly(finetune_from_store(store, request()))
    assert report.decision == decision
    assert registry.active().id == (report.candidate.id if decision == "promoted" else base.id)
    if decision == "rejected":
        assert registry.get(report.candidate.id).status == "rejected"
        assert report.reason().startswith("failed: FAIL mean Dice ")
        assert report.verdict.candidate.mean_dice < report.verdict.active.mean_dice - 0.01
        assert registry.events(report.candidate.id)[-1]["reason"].startswith("gate failed")


def test_cancelled_finetune_leaves_the_active_model_and_registers_nothing(store):
    registry = ModelRegistry(store)
    before = ([m.id for m in registry.models()], registry.active().id)
    token = CancelToken()

    def cancel_at_first_step(event):
        if event.details.get("event") == "step":
            token.cancel()

    with pytest.raises(CancelledError):
        drive(finetune_from_store(store, request()), cancel_at_first_step, token, what="fine-tuning")
    assert ([m.id for m in registry.models()], registry.active().id) == before


def test_failed_finetune_never_changes_the_active_model(store, monkeypatch):
    from legseg_core.training import losses

    registry = ModelRegistry(store)
    active = registry.active().id
    monkeypatch.setitem(losses.LOSSES, "dice_cross_entropy", lambda logits, labels: logits.abs().mean() * float("inf"))
    with pytest.raises(TrainingError, match="the loss became inf"):
        run_quietly(finetune_from_store(store, request()))
    assert registry.active().id == active and len(registry.models()) == 1


def test_json_progress_prints_one_object_per_line_then_the_result(store, capsys):
    status = main(["finetune", "--store", str(store.root), "--json-progress", "--epochs", "1", "--device", "cpu",
                   "--recipe-option", "precision=fp32", "--recipe-option", "batch_size=2",
                   "--recipe-option", "min_epoch_steps=0"])
    assert status == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    events = [r["event"] for r in records]
    assert events[0] == "start" and events[-1] == "result"
    assert {"data", "step", "epoch", "evaluate", "verdict"} <= set(events)
    epoch = next(r for r in records if r["event"] == "epoch")
    assert {"loss", "validation_dice", "eta_seconds", "epoch"} <= set(epoch)
    result = records[-1]
    assert result["decision"] in ("promoted", "rejected") and result["reason"].startswith(("passed", "failed"))
    assert result["verdict"]["rule"] == {"mean_tolerance": 0.01, "muscle_tolerance": 0.02}


def test_json_progress_reports_errors_as_a_line(store, capsys):
    status = main(["finetune", "--store", str(store.root), "--json-progress", "--model", "model-unknown"])
    assert status == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1]) == {
        "event": "error", "message": f"model 'model-unknown' is not registered in the store {store.root}; "
                                     "`legseg models list` shows the registered ones"}
    assert "model-unknown" in captured.err


def test_a_candidate_a_killed_gate_left_unjudged_is_judged_by_the_next_finetune(store, monkeypatch):
    def killed(*args, **options):
        raise KeyboardInterrupt
        yield  # a progress generator, as score_cases is

    monkeypatch.setattr(finetune_module, "score_cases", killed)
    with pytest.raises(KeyboardInterrupt):
        run_quietly(finetune_from_store(store, request()))
    registry = ModelRegistry(store)
    [orphan] = registry.models(status="candidate")
    assert "gate" not in orphan.metrics
    monkeypatch.setattr(finetune_module, "score_cases", fixed_scores(0.6, 0.8))
    report = run_quietly(finetune_from_store(store, request()))
    judged = registry.get(orphan.id)
    assert judged.status == "rejected" and judged.metrics["gate"]["passed"] is False
    assert report.candidate.id != orphan.id and report.decision == "rejected"
