"""``legseg models average``: the mean of the weights of several runs of one network, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from legseg_core.cli import main
from legseg_core.errors import CheckpointError, InputPathError, ModelError
from legseg_core.models import ModelCard, build_model, load_checkpoint, save_checkpoint
from legseg_core.models.average import average_models


def run_of(tmp_path: Path, seed: int, *, data: list[tuple[str, str]], name: str = "unet", **overrides) -> Path:
    """A small network with seeded random weights and batch-norm statistics, saved as a run from one start."""
    torch.manual_seed(seed)
    small = {"channels": (4, 8), "strides": [(1, 2, 2)]} if name == "unet" else {}
    network = build_model(name, "lite", **{**small, **overrides})
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.num_batches_tracked.fill_(seed)
    card = ModelCard.for_network(network, training_data=data,
                                 training={"kind": "train", "seed": seed, "steps": 300,
                                           "init": {"file": "start.pt", "model_id": "unet-lite-start", "sha256": "0"}})
    return save_checkpoint(network, card, tmp_path / f"run-{name}-{seed}.pt")


def test_the_mean_holds_each_weight_averaged_and_the_card_names_every_source(tmp_path):
    paths = [run_of(tmp_path, seed, data=[("case-a", "lv-1"), (f"case-{seed}", "lv-1")]) for seed in (1, 2, 3)]
    network, card = average_models(paths, name="soup")
    states = [load_checkpoint(path)[0].state_dict() for path in paths]
    for key, value in network.state_dict().items():
        if value.is_floating_point():
            expected = sum(state[key].double() for state in states) / 3
            assert torch.allclose(value.double(), expected, atol=1e-6), key
        else:  # batch-norm's step counters: the largest
            assert int(value) == 3, key
    assert [source["file"] for source in card.training["averaged"]] == [str(path) for path in paths]
    assert [source["seed"] for source in card.training["averaged"]] == [1, 2, 3]
    assert card.training["kind"] == "average" and card.name == "soup"
    assert set(card.training_data) == {("case-a", "lv-1"), ("case-1", "lv-1"), ("case-2", "lv-1"), ("case-3", "lv-1")}
    assert card.notes == "uniform mean of the weights of 3 models"
    # the mean is a network of its own: it segments, and differs from each source
    x = torch.rand(1, 1, 4, 16, 16)
    with torch.no_grad():
        outputs = [load_checkpoint(path)[0](x) for path in paths]
        assert not any(torch.allclose(network(x), output) for output in outputs)


def test_the_command_writes_a_model_file_that_loads(tmp_path, capsys):
    paths = [run_of(tmp_path, seed, data=[("case-a", "lv-1")]) for seed in (4, 5)]
    out = tmp_path / "mean" / "mean.pt"
    assert main(["models", "average", *map(str, paths), "--out", str(out), "--half"]) == 0
    assert "the mean of 2 unet/lite models" in capsys.readouterr().out
    network, card = load_checkpoint(out)
    assert card.training["kind"] == "average" and len(card.training["averaged"]) == 2


def test_averaging_refuses_one_model_a_model_twice_and_models_of_different_networks(tmp_path):
    first = run_of(tmp_path, 1, data=[])
    with pytest.raises(ModelError, match="two or more model files; got 1"):
        average_models([first])
    copy = tmp_path / "copy.pt"
    copy.write_bytes(first.read_bytes())
    with pytest.raises(ModelError, match=f"{copy}: the same model as {first}"):
        average_models([first, copy])
    wider = run_of(tmp_path, 2, data=[], channels=(4, 16))
    with pytest.raises(CheckpointError, match=f"{wider}: network arguments .*, but {first} has"):
        average_models([first, wider])
    resnet = run_of(tmp_path, 3, data=[], name="resnet")
    with pytest.raises(CheckpointError, match=f"{resnet}: architecture 'resnet', but {first} has 'unet'"):
        average_models([first, resnet])
    with pytest.raises(InputPathError, match="missing.pt: no such model file"):
        average_models([first, tmp_path / "missing.pt"])


def test_the_command_refuses_a_folder_as_its_output_and_writes_nothing(tmp_path, capsys):
    paths = [run_of(tmp_path, seed, data=[]) for seed in (1, 2)]
    assert main(["models", "average", *map(str, paths), "--out", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder; --out names the new model file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-unet-1.pt", "run-unet-2.pt"]
