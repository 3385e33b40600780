"""Model files: round trip, half precision, refusal of code, bad files; the model-name resolver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from legseg_core import model_lookup as resolve
from legseg_core.errors import CheckpointError, InputPathError, ModelError
from legseg_core.model_lookup import resolve_model
from legseg_core.models import MUSCLE_LABEL_MAP, ModelCard, build_model, load_checkpoint, read_card, save_checkpoint
from legseg_core.preprocess import PreprocessConfig


def tiny_unet(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("unet", "lite", **{"channels": (4, 8), "strides": [(1, 2, 2)], **overrides})


def saved(tmp_path: Path, network=None, *, half: bool = False, **details) -> Path:
    network = network or tiny_unet()
    card = ModelCard.for_network(network, **details)
    return save_checkpoint(network, card, tmp_path / "model.pt", half=half)


def rewrite(path: Path, change) -> Path:
    """Load a valid file's plain data, let ``change`` edit it, write it back."""
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)
    return path


def edit_card(path: Path, **changes) -> Path:
    def change(payload):
        card = json.loads(payload["card"])
        card.update(changes)
        payload["card"] = json.dumps(card)
    return rewrite(path, change)


def test_round_trip_keeps_weights_and_card(tmp_path):
    network = tiny_unet().eval()
    path = saved(tmp_path, network, training_data=[("case-1", "lv-3")], metrics={"mean_dice": 0.8},
                 training={"recipe": {"name": "default"}, "parent": "unet-lite-0"}, name="test model")
    loaded, card = load_checkpoint(path)
    x = torch.rand(1, 1, 6, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), network(x))
    assert not loaded.training and loaded.preset == "lite" and card.preset == "lite"
    assert card.architecture == "unet" and card.arguments == network.arguments
    assert card.training_data == (("case-1", "lv-3"),) and card.metrics == {"mean_dice": 0.8}
    assert card.recipe == {"name": "default"} and card.parent_model_id == "unet-lite-0"
    assert card.label_map == MUSCLE_LABEL_MAP and card.name == "test model"
    assert PreprocessConfig.from_dict(card.preprocessing) == PreprocessConfig()
    assert card.model_id.startswith("unet-lite-") and card.legseg_version and card.created
    assert read_card(path) == card


def test_half_precision_storage_is_smaller_and_loads_as_float32(tmp_path):
    network = build_model("unet", "lite").eval()
    full = save_checkpoint(network, ModelCard.for_network(network), tmp_path / "full.pt")
    half = save_checkpoint(network, ModelCard.for_network(network), tmp_path / "half.pt", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_checkpoint(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.rand(1, 1, 8, 16, 16)
    with torch.no_grad():
        assert (loaded(x) - network(x)).abs().max() < 1e-2


def test_card_beside_the_file_is_plain_json(tmp_path):
    network = tiny_unet()
    card = ModelCard.for_network(network, name="starter")
    path = save_checkpoint(network, card, tmp_path / "starter.pt", card_beside=True)
    beside = json.loads((tmp_path / "starter.json").read_text(encoding="utf-8"))
    assert beside["architecture"] == "unet" and beside["preset"] == "lite" and beside["model_id"] == card.model_id
    assert ModelCard.from_dict(beside) == read_card(path)


def test_every_architecture_round_trips(tmp_path):
    for arch, extra in (("resnet", dict(channels=(4, 8), strides=[2])),
                        ("densenet", dict(first_channels=4, growth_rate=2, layers=(1, 1), strides=[2]))):
        network = build_model(arch, "lite", **extra)
        path = save_checkpoint(network, ModelCard.for_network(network), tmp_path / f"{arch}.pt")
        loaded, card = load_checkpoint(path)
        assert type(loaded) is type(network) and card.arguments == network.arguments


class Payload:
    """An object whose unpickling would call a function (here: write a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_file_carrying_a_pickled_callable_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "code-ran"
    path = saved(tmp_path)
    rewrite(path, lambda payload: payload.update(extra=Payload(marker)))
    with pytest.raises(CheckpointError, match=rf"{path}: refused: the file holds Python objects"):
        load_checkpoint(path)
    assert not marker.exists()
    evil = tmp_path / "evil.pt"
    torch.save({"format": "legseg-model", "hook": print}, evil)
    with pytest.raises(CheckpointError, match=r"evil.pt: refused"):
        load_checkpoint(evil)


def test_unknown_architecture_is_refused(tmp_path):
    path = edit_card(saved(tmp_path), architecture="vnet")
    with pytest.raises(CheckpointError, match=r"model.pt: unknown architecture 'vnet'; this LegSeg knows unet, resnet"):
        load_checkpoint(path)


def test_mismatched_number_of_labels_is_refused(tmp_path):
    five = tiny_unet(out_channels=5)
    with pytest.raises(CheckpointError, match=r"out_channels=5, but LegSeg needs 8"):
        save_checkpoint(five, ModelCard.for_network(five), tmp_path / "five.pt")
    path = saved(tmp_path)
    rewrite(path, lambda payload: payload.update(weights=five.state_dict()))
    edit_card(path, arguments={**five.arguments})
    with pytest.raises(CheckpointError, match=r"model.pt: the network has out_channels=5, but LegSeg needs 8"):
        load_checkpoint(path)
    edit_card(saved(tmp_path), label_map={"1": "GL", "2": "GM", "3": "SOL"})
    with pytest.raises(CheckpointError, match=r"model.pt: its label map \{1: 'GL', 2: 'GM', 3: 'SOL'\} does not match"):
        load_checkpoint(tmp_path / "model.pt")


def test_weights_that_do_not_fit_the_card_are_refused(tmp_path):
    path = edit_card(saved(tmp_path), arguments={**tiny_unet().arguments, "channels": [6, 12]})
    with pytest.raises(CheckpointError, match=r"model.pt: its weights do not fit the unet network"):
        load_checkpoint(path)
    edit_card(path, arguments={**tiny_unet().arguments, "channels": [6]})
    with pytest.raises(CheckpointError, match=r"its card's network arguments are invalid: unet: channels"):
        load_checkpoint(path)


def test_corrupt_truncated_and_foreign_files(tmp_path):
    path = saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model.pt: not a readable model file \(corrupt or truncated\)"):
        load_checkpoint(path)
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(CheckpointError, match=r"notes.pt: not a readable model file"):
        load_checkpoint(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign.pt: not a LegSeg model file"):
        load_checkpoint(foreign)
    with pytest.raises(InputPathError, match=r"missing.pt: no such model file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_card_versions_and_malformed_cards(tmp_path):
    path = edit_card(saved(tmp_path), schema_version=99)
    with pytest.raises(CheckpointError, match=r"model card schema 99 is newer than this LegSeg"):
        load_checkpoint(path)
    rewrite(saved(tmp_path), lambda payload: payload.update(card="{not json"))
    with pytest.raises(CheckpointError, match=r"model.pt: the model card is not valid JSON"):
        load_checkpoint(tmp_path / "model.pt")
    edit_card(saved(tmp_path), training_data=[["case-1"]])
    with pytest.raises(CheckpointError, match=r"the model card is malformed: .*not a \(case id, label-version id\)"):
        load_checkpoint(tmp_path / "model.pt")
    rewrite(saved(tmp_path), lambda payload: payload.update(format_version=7))
    with pytest.raises(CheckpointError, match=r"format version 7 is not one this LegSeg reads"):
        load_checkpoint(tmp_path / "model.pt")


def test_saving_with_a_card_of_another_network_is_refused(tmp_path):
    card = ModelCard.for_network(tiny_unet())
    with pytest.raises(CheckpointError, match=r"the card describes unet .* but the network is resnet"):
        save_checkpoint(build_model("resnet", "lite"), card, tmp_path / "x.pt")
    assert not list(tmp_path.iterdir())


@pytest.fixture()
def no_store(tmp_path, monkeypatch):
    """Point the default store at an empty folder, so no user store is read."""
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "no-store"))


def test_resolver_takes_files_and_shipped_names(tmp_path, monkeypatch, no_store):
    path = saved(tmp_path)
    assert resolve_model(str(path)) == path
    shipped = tmp_path / "assets"
    shipped.mkdir()
    (shipped / "starter-unet.pt").write_bytes(path.read_bytes())
    monkeypatch.setattr(resolve, "shipped_model_folders", lambda: [shipped])
    assert resolve_model("starter-unet") == shipped / "starter-unet.pt"
    assert resolve.available_models()["shipped with LegSeg"] == ["starter-unet"]


def test_resolver_errors_name_the_value_and_list_what_is_available(tmp_path, monkeypatch, no_store):
    monkeypatch.setattr(resolve, "shipped_model_folders", lambda: [])
    with pytest.raises(ModelError, match=r"unknown model 'best-net': .*Available: shipped with LegSeg: none; "
                                         r"registered in the store: none"):
        resolve_model("best-net")
    with pytest.raises(InputPathError, match=r"nothere.pt: no such model file"):
        resolve_model(tmp_path / "nothere.pt")
    with pytest.raises(InputPathError, match=r"is a folder, not a model file"):
        resolve_model(tmp_path)
