"""``legseg models list|show|promote|reject|rollback`` on a store with registered model versions."""

from __future__ import annotations

import json

import pytest

from legseg_core.cli import main
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry
from tests.core.test_registry import register


@pytest.fixture()
def registry(tmp_path):
    registry = ModelRegistry(Store.init(tmp_path / "store"))
    first = register(registry, status="active")
    register(registry, parent_id=first.id, metrics={"validation": {"mean_dice": 0.85, "dice": {"GL": 0.9}},
                                                    "gate": {"passed": True, "reasons": ["ok   mean Dice 0.850"],
                                                             "candidate": {"mean_dice": 0.85, "dice": {}}}})
    return registry


def run(registry, *arguments, capsys):
    status = main(["models", *arguments, "--store", str(registry.store.root)])
    return status, capsys.readouterr()


def test_list_shows_registered_models_with_status_and_dice(registry, capsys):
    status, out = run(registry, "list", capsys=capsys)
    assert status == 0
    active, candidate = registry.models("active")[0], registry.models("candidate")[0]
    lines = out.out.splitlines()
    assert any(active.id in line and "active" in line and "0.800" in line for line in lines)
    assert any(candidate.id in line and "candidate" in line and active.id in line for line in lines)


def test_show_prints_lineage_data_metrics_and_status_log(registry, capsys):
    candidate = registry.models("candidate")[0]
    status, out = run(registry, "show", candidate.id[:14], capsys=capsys)
    assert status == 0
    assert f"parent {candidate.parent_id}" in out.out and "case-a:lv-a" in out.out
    assert "gate Dice: mean 0.850" in out.out and "ok   mean Dice 0.850" in out.out
    assert "register -> candidate" in out.out
    status, out = run(registry, "show", candidate.id, "--json", capsys=capsys)
    shown = json.loads(out.out)
    assert shown["id"] == candidate.id and [e["action"] for e in shown["events"]] == ["register"]


def test_promote_then_rollback_from_the_command_line(registry, capsys):
    first, candidate = registry.models("active")[0], registry.models("candidate")[0]
    status, out = run(registry, "promote", candidate.id, "--reason", "better on TP", capsys=capsys)
    assert status == 0 and out.out.strip() == f"{candidate.id} is now active"
    status, out = run(registry, "rollback", capsys=capsys)
    assert status == 0 and out.out.strip() == f"rolled back: {first.id} is active again"
    assert registry.get(candidate.id).status == "retired"
    assert registry.events(candidate.id)[1]["reason"] == "better on TP"
    status, out = run(registry, "reject", candidate.id, "--json", capsys=capsys)
    assert json.loads(out.out)["status"] == "rejected"


def test_user_errors_exit_with_a_message(registry, capsys):
    status, out = run(registry, "show", "model-nothere", capsys=capsys)
    assert status == 2 and "model 'model-nothere' is not registered" in out.err
    status, out = run(registry, "promote", registry.active().id, capsys=capsys)
    assert status == 2 and "is active already" in out.err
    status, out = run(registry, "rollback", capsys=capsys)
    assert status == 2 and "was the first active model; there is nothing to roll back to" in out.err
