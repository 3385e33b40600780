"""The gate on a store without held-out cases, using an unvalidated candidate, new stores' models, bad input."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from legseg_core.cli import main
from legseg_core.errors import TrainingError
from legseg_core.io import Volume, save_image
from legseg_core.progress import run_quietly
from legseg_core.starter.ship import STARTER_NAMES
from legseg_core.starter.stores import create_store
from legseg_core.store import Store
from legseg_core.training import finetune as finetune_module
from legseg_core.training.finetune import finetune_from_store, unvalidated_candidate, use_unvalidated
from legseg_core.training.registry import ModelRegistry
from tests.core.test_finetune import fixed_scores, request, template  # noqa: F401 (the template store fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def first_use_store(template, tmp_path):  # noqa: F811
    """The template store with its validation and test cases excluded: nothing is held out."""
    root = tmp_path / "store"
    shutil.copytree(template, root)
    store = Store.open(root)
    for split in ("validation", "test"):
        for case in store.accepted_cases(split=split):
            store.set_status(case.id, "excluded", reason="a store without held-out cases")
    assert not store.accepted_cases(split="validation") and not store.accepted_cases(split="test")
    return store


def test_without_held_out_cases_a_candidate_not_worse_on_what_it_learnt_waits_for_a_recorded_choice(
        first_use_store, monkeypatch) -> None:
    store = first_use_store
    monkeypatch.setattr(finetune_module, "score_cases", fixed_scores(0.9, 0.6))
    registry = ModelRegistry(store)
    base = registry.active()
    report = run_quietly(finetune_from_store(store, request()))
    candidate = report.candidate.id
    assert report.decision == "unvalidated" and registry.active().id == base.id
    assert not report.verdict.held_out and report.verdict.candidate.cases == tuple(e.case_id for e in report.new_cases)
    assert re.match(r"not validated: the store has no accepted validation or test case; on the 2 accepted case\(s\) "
                    r"it learnt from \(not held out\) mean Dice 0\.9\d\d vs the active model's 0\.[67]\d\d",
                    report.reason()), report.reason()
    assert f"legseg models promote {candidate}" in report.reason()
    assert unvalidated_candidate(store).id == candidate
    used = use_unvalidated(store, candidate, author="tester", where="a test")
    assert used.status == "active" and registry.active().id == candidate
    event = registry.events(candidate)[-1]
    assert event["author"] == "tester" and event["reason"].startswith("used unvalidated (a test)")
    assert registry.get(candidate).metrics["gate"]["used_unvalidated"]["where"] == "a test"
    assert unvalidated_candidate(store) is None
    assert registry.rollback().id == base.id  # one step back


def test_a_candidate_worse_on_the_cases_it_learnt_from_waits_with_that_warning(first_use_store, monkeypatch,
                                                                               capsys) -> None:
    monkeypatch.setattr(finetune_module, "score_cases", fixed_scores(0.5, 0.8))
    registry = ModelRegistry(first_use_store)
    base = registry.active().id
    report = run_quietly(finetune_from_store(first_use_store, request(use_unvalidated=True)))
    assert report.decision == "unvalidated" and registry.active().id == base  # --use-unvalidated needs the check
    assert re.search(r"it learnt from \(not held out\) mean Dice 0\.[56]\d\d vs the active model's 0\.8\d\d, but "
                     r"worse there: mean Dice", report.reason()), report.reason()
    assert unvalidated_candidate(first_use_store).id == report.candidate.id
    assert main(["models", "promote", report.candidate.id[:10], "--store", str(first_use_store.root)]) == 0
    assert "is now active, unvalidated (recorded;" in capsys.readouterr().out
    assert registry.events(report.candidate.id)[-1]["reason"].startswith("used unvalidated (legseg models promote)")
    assert registry.rollback().id == base
    assert unvalidated_candidate(first_use_store) is None  # retired, no longer waiting
    with pytest.raises(TrainingError, match="is retired, not a candidate"):
        use_unvalidated(first_use_store, report.candidate.id)


def test_use_unvalidated_on_the_command_line_makes_the_candidate_active(first_use_store, monkeypatch, capsys) -> None:
    monkeypatch.setattr(finetune_module, "score_cases", fixed_scores(0.9, 0.6))
    status = main(["finetune", "--store", str(first_use_store.root), "--epochs", "1", "--device", "cpu",
                   "--recipe-option", "precision=fp32", "--recipe-option", "batch_size=2",
                   "--recipe-option", "min_epoch_steps=0", "--use-unvalidated", "--no-progress"])
    assert status == 0
    out = capsys.readouterr().out
    registry = ModelRegistry(first_use_store)
    active = registry.active()
    assert f"candidate {active.id}: promoted unvalidated -- not validated:" in out
    assert "learnt-case (not held-out) Dice" in out
    assert registry.events(active.id)[-1]["reason"].startswith("used unvalidated (legseg finetune --use-unvalidated)")


def test_every_new_store_has_the_starter_models_and_the_unet_active(tmp_path, capsys) -> None:
    made = {"create_store": create_store(tmp_path / "a"), "Store.open(create=True)": Store.open(tmp_path / "b",
                                                                                                   create=True)}
    assert main(["store", "init", "--store", str(tmp_path / "c")]) == 0
    made["legseg store init"] = Store.open(tmp_path / "c")
    for how, store in made.items():
        registry = ModelRegistry(store)
        shipped = [m.training.get("shipped") for m in reversed(registry.models())]
        assert shipped == list(STARTER_NAMES), how
        assert registry.require_active().training["shipped"] == "unet-lite-starter", how
        registry.verified_path(registry.require_active())
    assert "registered starter model unet-lite-starter as model-" in capsys.readouterr().out
    assert main(["store", "init", "--store", str(tmp_path / "d"), "--no-starter-models"]) == 0
    assert ModelRegistry(Store.open(tmp_path / "d")).models() == []


def test_fine_tuning_with_no_accepted_case_is_one_line_and_writes_nothing(tmp_path, capsys) -> None:
    store = create_store(tmp_path / "store")
    before = sorted(p.relative_to(store.root) for p in store.root.rglob("*") if "catalog" not in p.name)
    status = main(["finetune", "--store", str(store.root), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert f"the store {store.root} has no accepted cases; correct and accept a case before fine-tuning" in err
    assert sorted(p.relative_to(store.root) for p in store.root.rglob("*") if "catalog" not in p.name) == before
    assert len(ModelRegistry(store).models()) == len(STARTER_NAMES)


def test_a_store_whose_model_files_are_missing_is_one_line_and_writes_nothing(tmp_path, capsys) -> None:
    store = create_store(tmp_path / "store")
    registry = ModelRegistry(store)
    active = registry.require_active()
    registry.path(active).unlink()
    models_before = [(m.id, m.status) for m in registry.models()]
    status = main(["finetune", "--store", str(store.root), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert f"{registry.path(active)}: the file of model {active.id} is missing" in err
    assert [(m.id, m.status) for m in registry.models()] == models_before
    assert not (store.root / "runs").exists()
    scan = tmp_path / "scan.nii.gz"
    save_image(np.zeros((4, 8, 8), np.float32), Volume.from_array(np.zeros((4, 8, 8)), (1.0, 1.0, 1.0)), scan)
    status = main(["segment", str(scan), "-o", str(tmp_path / "out"), "--model", "active", "--store", str(store.root)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and f"the file of model {active.id} is missing" in err
    assert not (tmp_path / "out").exists()
