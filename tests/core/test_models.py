"""The network registry: shapes on odd sizes, softmax outputs, paper parameter counts, bad arguments."""

from __future__ import annotations

import pytest
import torch

from legseg_core.errors import ModelError
from legseg_core.models import (
    ARCHITECTURES, PAPER_PARAMETERS, PRESETS, build_model, count_parameters, preset_arguments,
)
from legseg_core.models.registry import LITE_STRIDES

#: Very small variants of each lite preset, for fast tests.
TINY = {
    "unet": dict(channels=(4, 8, 8)),
    "resnet": dict(channels=(4, 8, 8)),
    "densenet": dict(first_channels=4, growth_rate=2, layers=(1, 1, 2)),
}
TWO_LEVELS = ((1, 2, 2), (2, 2, 2))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(arch: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(arch, "lite", strides=TWO_LEVELS, **{**TINY[arch], **overrides})


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_odd_sizes_give_same_size_probabilities(arch):
    network = tiny(arch).eval()
    x = torch.rand(2, 1, 19, 37, 51)
    with torch.no_grad():
        probabilities = network(x)
        logits = network.logits(x)
    assert probabilities.shape == (2, 8, 19, 37, 51) and logits.shape == probabilities.shape
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(2, 19, 37, 51))
    torch.testing.assert_close(torch.softmax(logits, dim=1), probabilities)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_one_voxel_thick_and_patch_sized_inputs(arch):
    network = tiny(arch).eval()
    with torch.no_grad():
        assert network(torch.rand(1, 1, 1, 5, 3)).shape == (1, 8, 1, 5, 3)
        assert network(torch.rand(1, 1, 20, 24, 24)).shape == (1, 8, 20, 24, 24)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_training_step_reaches_every_parameter(arch):
    network = tiny(arch, dropout=0.1).train()
    loss = torch.nn.functional.cross_entropy(network.logits(torch.rand(2, 1, 6, 12, 12)),
                                             torch.randint(0, 8, (2, 6, 12, 12)))
    loss.backward()
    missing = [name for name, p in network.named_parameters() if p.grad is None]
    assert not missing


@pytest.mark.parametrize("arch", ["densenet", "resnet"])
def test_checkpointing_gives_the_same_gradients(arch):
    x = torch.rand(2, 1, 4, 8, 8)
    grads = []
    for checkpointing in (True, False):
        network = tiny(arch, checkpointing=checkpointing).train()
        network.logits(x).square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in network.parameters()]))
    torch.testing.assert_close(grads[0], grads[1])


def test_densenet_in_place_inference_matches_the_autograd_path():
    network = tiny("densenet").eval()
    x = torch.rand(1, 1, 5, 9, 11)
    with torch.no_grad():
        fast = network(x)
    torch.testing.assert_close(fast, network(x).detach())


@pytest.mark.parametrize("arch", sorted(PAPER_PARAMETERS))
def test_paper_presets_are_within_ten_percent_of_the_paper(arch):
    count = count_parameters(build_model(arch, "paper"))
    assert abs(count - PAPER_PARAMETERS[arch]) <= 0.10 * PAPER_PARAMETERS[arch], (arch, count)


def test_lite_presets_are_small_and_divide_the_patch_exactly():
    for arch in ARCHITECTURES:
        network = build_model(arch, "lite")
        assert 50_000 <= count_parameters(network) <= 1_500_000, arch
        assert all(size % factor == 0 for size, factor in zip((20, 104, 104), network.factor)), arch
        assert network.arguments["strides"] == [list(s) for s in LITE_STRIDES]
    assert PRESETS == {name: ("lite", "paper") for name in ARCHITECTURES}


def test_build_model_records_preset_and_json_arguments():
    network = build_model("unet", "lite", channels=(4, 8), strides=[2])
    assert network.preset == "lite" and network.architecture == "unet"
    assert network.arguments["channels"] == [4, 8] and network.arguments["strides"] == [[2, 2, 2]]
    assert network.arguments["in_channels"] == 1 and network.arguments["out_channels"] == 8
    rebuilt = build_model("unet", None, **network.arguments)
    assert rebuilt.arguments == network.arguments


@pytest.mark.parametrize("arch, arguments, message", [
    ("unet", dict(spatial_dims=2), r"spatial_dims=2 .*use spatial_dims=3"),
    ("unet", dict(out_channels=1), r"out_channels=1 .*use 8"),
    ("unet", dict(in_channels=0), r"in_channels=0 must be a whole number >= 1"),
    ("unet", dict(channels=(8,)), r"channels=\(8,\) must list at least 2"),
    ("unet", dict(channels=(8, -2)), r"channels\[1\]=-2"),
    ("unet", dict(strides=((2, 2, 2),)), r"must give 3 downsampling factors"),
    ("unet", dict(strides=(3, 2, 2)), r"strides\[0\]=3 must be 1, 2 or a \(z, y, x\) triple"),
    ("unet", dict(norm="layer"), r"norm='layer' is unknown; choose one of batch, instance, group, none"),
    ("unet", dict(act="gelu"), r"act='gelu' is unknown"),
    ("unet", dict(dropout=1.5), r"dropout=1.5 must be a number in \[0, 1\)"),
    ("unet", dict(convolutions=0), r"convolutions=0"),
    ("resnet", dict(blocks=(1, 2)), r"blocks=\(1, 2\) must be one whole number or 4 of them"),
    ("densenet", dict(layers=(3,)), r"layers=\(3,\) must list the dense layers per block"),
    ("densenet", dict(growth_rate=0), r"growth_rate=0"),
    ("densenet", dict(checkpointing="yes"), r"checkpointing='yes' must be True or False"),
    ("resnet", dict(checkpointing=1), r"checkpointing=1 must be True or False"),
])
def test_bad_arguments_say_what_is_wrong_and_what_is_right(arch, arguments, message):
    with pytest.raises(ModelError, match=message):
        build_model(arch, "lite", **arguments)


def test_unknown_architecture_preset_or_keyword():
    with pytest.raises(ModelError, match=r"unknown architecture 'vnet'; known architectures: unet, resnet, densenet"):
        build_model("vnet")
    with pytest.raises(ModelError, match=r"unet: unknown preset 'huge'; presets: lite, paper"):
        preset_arguments("unet", "huge")
    with pytest.raises(ModelError, match=r"unet: unknown argument\(s\) kernel_size; accepted: spatial_dims"):
        build_model("unet", kernel_size=5)


def test_wrong_input_shape_is_refused():
    network = tiny("unet")
    with pytest.raises(ModelError, match=r"input of shape \(1, 2, 4, 8, 8\) must be \[batch, 1, z, y, x\]"):
        network(torch.rand(1, 2, 4, 8, 8))
    with pytest.raises(ModelError, match=r"input of shape \(4, 8, 8\)"):
        network(torch.rand(4, 8, 8))
