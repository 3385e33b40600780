"""The model registry: registration, promotion, rejection, instant rollback that loses nothing."""

from __future__ import annotations

import pytest

from legseg_core.errors import StoreError
from legseg_core.store import Store
from legseg_core.training.registry import ModelRegistry, ModelStatusError, UnknownModelError


@pytest.fixture()
def registry(tmp_path):
    return ModelRegistry(Store.init(tmp_path / "store"))


def register(registry, content=None, **options):
    """Register a model: a real tiny model file (promotion opens it), or the bytes ``content`` plus the id."""
    options.setdefault("architecture", "unet")
    options.setdefault("training", {"preset": "lite", "recipe": {"name": "default"}, "data": [["case-a", "lv-a"]]})
    options.setdefault("metrics", {"validation": {"mean_dice": 0.8, "dice": {"GL": 0.8}}})
    if content is None:
        return registry.register(_tiny_model_file, **options)
    return registry.register(lambda path, model_id: path.write_bytes(content + model_id.encode()), **options)


def _tiny_model_file(path, model_id):
    from legseg_core.models import ModelCard, build_model, save_checkpoint

    network = build_model("unet", "lite", channels=(4, 8), strides=[(1, 2, 2)])
    save_checkpoint(network, ModelCard.for_network(network, model_id=model_id), path)


def test_promote_opens_the_model_file_and_refuses_a_broken_one(registry):
    from legseg_core.errors import CheckpointError

    active = register(registry, status="active")
    broken = register(registry, b"not a model", parent_id=active.id)
    with pytest.raises(CheckpointError, match="not a readable model file"):
        registry.promote(broken.id)
    assert registry.get(broken.id).status == "candidate" and registry.active().id == active.id


def test_register_keeps_file_lineage_snapshot_and_metrics(registry):
    first = register(registry, status="active")
    child = register(registry, b"finer", parent_id=first.id)
    assert (first.status, child.status, child.parent_id) == ("active", "candidate", first.id)
    assert registry.path(child).read_bytes() == b"finer" + child.id.encode()
    assert registry.verified_path(child.id) == registry.path(child)
    assert child.data == [("case-a", "lv-a")] and child.preset == "lite" and child.recipe == "default"
    assert child.mean_dice == pytest.approx(0.8)
    assert [m.id for m in registry.models()] == [child.id, first.id]
    assert registry.get(child.id[:12]).id == child.id  # a unique prefix is enough
    assert [e["action"] for e in registry.events(first.id)] == ["register", "promote"]


def test_promote_retires_the_active_model_and_rollback_walks_back(registry):
    a = register(registry, status="active")
    b = register(registry, parent_id=a.id)
    c = register(registry, parent_id=b.id)
    registry.promote(b.id, reason="passed the gate")
    registry.promote(c.id)
    assert [registry.get(m).status for m in (a.id, b.id, c.id)] == ["retired", "retired", "active"]
    assert registry.rollback().id == b.id
    assert [registry.get(m).status for m in (a.id, b.id, c.id)] == ["retired", "active", "retired"]
    assert registry.rollback().id == a.id
    with pytest.raises(ModelStatusError, match=f"model {a.id} was the first active model"):
        registry.rollback()
    # nothing was lost: every version and file is still there, and the log has each change
    assert len(registry.models()) == 3 and all(registry.path(m).is_file() for m in registry.models())
    assert [e["action"] for e in registry.events(c.id)] == ["register", "promote", "retire"]
    registry.promote(c.id, reason="undo the rollbacks")
    assert registry.active().id == c.id


def test_reject_and_status_errors(registry):
    active = register(registry, status="active")
    candidate = register(registry)
    assert registry.reject(candidate.id, reason="worse on TP").status == "rejected"
    with pytest.raises(ModelStatusError, match=f"model {active.id} is active; `legseg models rollback`"):
        registry.reject(active.id)
    with pytest.raises(ModelStatusError, match="is active already"):
        registry.promote(active.id)
    with pytest.raises(UnknownModelError, match="model 'model-nope' is not registered"):
        registry.get("model-nope")
    with pytest.raises(StoreError, match="model status 'best' is not one of"):
        registry.models("best")


def test_store_without_models_says_how_to_get_one(registry):
    assert registry.active() is None
    with pytest.raises(UnknownModelError, match="has no active model; train one with `legseg train`"):
        registry.require_active()
    with pytest.raises(ModelStatusError, match="no model is active"):
        registry.rollback()


def test_failed_write_registers_nothing(registry):
    def crash(path, model_id):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        registry.register(crash, architecture="unet", training={}, metrics={})
    assert registry.models() == []
    assert not [p for p in (registry.store.root / "models").iterdir()]


def test_damaged_model_file_is_detected(registry):
    model = register(registry)
    registry.path(model).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="does not match its checksum"):
        registry.verified_path(model.id)


def test_registry_reopens_with_the_same_state(registry):
    a = register(registry, status="active")
    reopened = ModelRegistry(Store.open(registry.store.root))
    assert reopened.active().id == a.id
