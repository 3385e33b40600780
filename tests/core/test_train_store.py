"""Training from a store of tiny phantom cases: registration rule, cancellation, divergence, the CLI."""

from __future__ import annotations

import json
import math

import pytest

from legseg_core.cli import main
from legseg_core.errors import CancelledError, LegsegError, TrainingError
from legseg_core.progress import CancelToken, drive, run_quietly
from legseg_core.store import SplitConfig, Store
from legseg_core.training import losses
from legseg_core.training.registry import ModelRegistry
from legseg_core.training.session import TrainRequest, select_training_data, train_from_store
from legseg_core.training.recipes import get_recipe

TINY_MODEL = {"channels": [4, 8], "strides": [[1, 2, 2]], "norm": "instance"}
TINY_PREPROCESS = {"patch_shape": [8, 32, 32]}
TINY_RECIPE = {"precision": "fp32", "batch_size": 2, "learning_rate": 1e-2, "min_epoch_steps": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def add_phantom_cases(store: Store, seeds, *, protocol: str = "A", health: str = "healthy") -> list[str]:
    """Accepted tiny phantom cases (their first contrast) with their synthetic ground truth."""
    from legseg_core.phantom import make_case

    ids = []
    for seed in seeds:
        case = make_case(seed, protocol=protocol, size="tiny", health=health)
        contrast, image = next(iter(case.images.items()))
        record = store.add_case(image, contrast=contrast, protocol=protocol, health=health,
                                diagnosis=case.metadata.get("diagnosis") or "")
        version = store.add_label_version(record.id, case.labels.data, provenance="synthetic:phantom")
        store.accept(record.id, version.id)
        ids.append(record.id)
    return ids


def make_store(path, seeds=range(8)) -> Store:
    store = Store.init(path, splits=SplitConfig(0.5, 0.25, 0.25))
    add_phantom_cases(store, seeds)
    return store


def tiny_request(**changes) -> TrainRequest:
    values = dict(epochs=1, model_options=TINY_MODEL, recipe_options=TINY_RECIPE, preprocess=TINY_PREPROCESS,
                  device="cpu")
    values.update(changes)
    return TrainRequest(**values)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("train-store") / "store")


def test_first_model_becomes_active_and_the_next_a_candidate(store):
    events = []
    first = drive(train_from_store(store, tiny_request()), events.append)
    assert first.model.status == "active" and first.model.parent_id is None
    kinds = {e.details.get("event") for e in events}
    assert {"data", "step", "epoch"} <= kinds
    assert first.model.data == [(e.case_id, e.version_id) for e in first.train_cases]
    assert len(first.train_cases) == len(store.accepted_cases(split="train")) >= 3
    assert len(first.validation_cases) == len(store.accepted_cases(split="validation")) >= 1
    assert set(first.model.metrics["validation"]["dice"]) == {"GL", "GM", "SOL", "TA", "PER", "EDL", "TP"}
    second = run_quietly(train_from_store(store, tiny_request(seed=1)))
    assert second.model.status == "candidate"
    assert ModelRegistry(store).active().id == first.model.id
    assert (second.run_dir / "registered.json").is_file() and second.run_dir != first.run_dir


def test_patches_are_cached_in_the_store(store):
    run_quietly(train_from_store(store, tiny_request(seed=2, register=False)))
    cached = list((store.root / "cache" / "patches").glob("*.npz"))
    assert len(cached) == len(store.accepted_cases(split="train")) + len(store.accepted_cases(split="validation"))


def test_paper_recipe_holds_out_a_fifth_of_the_training_cases(store):
    selection = select_training_data(store, get_recipe("paper"), seed=0, filters={})
    train_split = len(store.accepted_cases(split="train"))
    assert len(selection.validation) == max(1, round(0.2 * train_split))
    assert len(selection.train) + len(selection.validation) == train_split
    assert not {e.case_id for e in selection.train} & {e.case_id for e in selection.validation}


def test_cancelled_run_registers_nothing_and_resumes(store):
    registry = ModelRegistry(store)
    before = ([m.id for m in registry.models()], registry.active())
    token = CancelToken()

    def cancel_after_first_epoch(event):
        if event.details.get("event") == "epoch":
            token.cancel()

    request = tiny_request(epochs=2, seed=3)
    with pytest.raises(CancelledError):
        drive(train_from_store(store, request), cancel_after_first_epoch, token, what="training")
    assert ([m.id for m in registry.models()], registry.active()) == before
    resumed = run_quietly(train_from_store(store, request))
    assert resumed.outcome.resumed_from_epoch == 1 and resumed.model.status == "candidate"


def test_nan_loss_registers_nothing(tmp_path, monkeypatch):
    store = make_store(tmp_path / "store", seeds=range(4))
    monkeypatch.setitem(losses.LOSSES, "dice_cross_entropy", lambda logits, labels: logits.mean() * math.nan)
    with pytest.raises(TrainingError, match="the loss became nan"):
        run_quietly(train_from_store(store, tiny_request()))
    assert ModelRegistry(store).models() == [] and ModelRegistry(store).active() is None


def test_store_without_accepted_cases_is_refused(tmp_path):
    empty = Store.init(tmp_path / "empty")
    with pytest.raises(TrainingError, match="has no accepted cases in its train split"):
        run_quietly(train_from_store(empty, tiny_request()))
    with pytest.raises(TrainingError, match="has no accepted cases in its train split matching"):
        run_quietly(train_from_store(empty, tiny_request(filters={"contrast": "t2"})))


def test_cli_trains_registers_and_copies_the_model(store, tmp_path, capsys):
    out = tmp_path / "model.pt"
    had_active = ModelRegistry(store).active() is not None
    status = main(["train", "--store", str(store.root), "--epochs", "1", "--device", "cpu", "--seed", "4",
                   "--model-option", "channels=[4,8]", "--model-option", "strides=[[1,2,2]]",
                   "--recipe-option", "precision=fp32", "--recipe-option", "batch_size=2",
                   "--preprocess-option", "patch_shape=[8,32,32]", "--out", str(out), "--json", "--no-progress",
                   "--threads", "1"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"]["status"] == ("candidate" if had_active else "active") and report["epochs"] == 1
    assert out.is_file() and out.stat().st_size > 0


def test_cli_stops_after_an_epoch_of_a_longer_schedule_and_the_card_says_so(store, tmp_path, capsys):
    out = tmp_path / "stopped.pt"
    arguments = ["train", "--store", str(store.root), "--epochs", "2", "--device", "cpu", "--seed", "5",
                 "--model-option", "channels=[4,8]", "--model-option", "strides=[[1,2,2]]",
                 "--recipe-option", "precision=fp32", "--recipe-option", "batch_size=2",
                 "--preprocess-option", "patch_shape=[8,32,32]", "--no-progress", "--threads", "1", "--json"]
    assert main([*arguments, "--stop-after-epochs", "1", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["epochs"] == 1
    training = report["model"]["training"]
    assert training["stopped_after_epochs"] == 1 and training["recipe"]["epochs"] == 2
    from legseg_core.models import read_card
    assert read_card(out).model_id == report["model"]["id"]
    assert main(arguments) == 0  # the same command without the stop resumes the run to its end
    report = json.loads(capsys.readouterr().out)
    assert report["epochs"] == 2 and report["resumed_from_epoch"] == 1
    assert "stopped_after_epochs" not in report["model"]["training"]
    assert main([*arguments, "--stop-after-epochs", "0"]) == 2
    assert "stop_after_epochs=0 must be a whole number >= 1" in capsys.readouterr().err


def test_cli_reports_user_errors_without_traceback(store, capsys):
    assert main(["train", "--store", str(store.root), "--recipe-option", "epochs"]) == 2
    assert "--recipe-option 'epochs' must look like KEY=VALUE" in capsys.readouterr().err
    assert main(["train", "--store", str(store.root), "--arch", "vnet", "--no-progress"]) == 2
    assert "unknown architecture 'vnet'" in capsys.readouterr().err


def test_init_trains_further_from_a_model_and_records_where_it_started(store):
    import torch

    from legseg_core.models import load_checkpoint
    from legseg_core.training.session import starting_network

    registry = ModelRegistry(store)
    base = run_quietly(train_from_store(store, tiny_request(seed=6))).model
    path = registry.verified_path(base)
    request = TrainRequest(init=str(path), epochs=1, recipe_options=TINY_RECIPE, device="cpu", seed=7)
    network, config, init = starting_network(store, request)
    saved, card = load_checkpoint(path)
    assert all(torch.equal(value, saved.state_dict()[key]) for key, value in network.state_dict().items())
    assert list(config.patch_shape) == TINY_PREPROCESS["patch_shape"]  # the model's preprocessing, not the paper's
    assert init["model_id"] == base.id == card.model_id and init["file"] == path.name
    further = run_quietly(train_from_store(store, request)).model
    assert further.training["init"]["model_id"] == base.id and further.training["kind"] == "train"
    _, further_card = load_checkpoint(registry.verified_path(further))
    assert further_card.training["init"]["sha256"] == init["sha256"]
    assert base.id in {m.id for m in registry.models()}  # the starting model is kept


def test_init_refuses_network_settings_and_unknown_models(store):
    with pytest.raises(TrainingError, match="brings its own network and preprocessing; leave out --model-option, "
                                            "--preprocess-option"):
        run_quietly(train_from_store(store, tiny_request(init="unet-lite-starter")))
    with pytest.raises(TrainingError, match="leave out --arch"):
        run_quietly(train_from_store(store, TrainRequest(init="unet-lite-starter", architecture="resnet")))
    with pytest.raises(LegsegError, match="unknown model 'no-such-model'"):
        run_quietly(train_from_store(store, TrainRequest(init="no-such-model", device="cpu")))
