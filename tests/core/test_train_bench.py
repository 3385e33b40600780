"""``legseg bench train``: registration and the batch-6 extrapolation of step memory."""

from __future__ import annotations

import pytest

from legseg_core.bench import BENCHMARKS
from legseg_core.bench.train import _at_batch_six, _bare_loop, _patches, quick_arguments
from legseg_core.cli import main


def test_bench_train_is_registered_with_help(capsys):
    assert "train" in BENCHMARKS
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", "--help"])
    assert exit_info.value.code == 0
    assert "--memory-batch" in capsys.readouterr().out
    assert quick_arguments().memory_batch == 2


def test_memory_is_measured_at_six_or_extrapolated_linearly():
    assert _at_batch_six({6: {"peak_gb": 4.5}}) == 4.5
    assert _at_batch_six({1: {"peak_gb": 1.0}, 2: {"peak_gb": 1.5}}) == pytest.approx(3.5)


def test_bare_loop_trains_on_the_same_patches():
    import torch

    from legseg_core.models import build_model
    from legseg_core.training import get_recipe
    from legseg_core.training.runtime import Runtime

    torch.manual_seed(0)
    network = build_model("unet", None, channels=(2, 4), strides=[(1, 2, 2)])
    before = [p.detach().clone() for p in network.parameters()]
    patches = _patches(2, (4, 16, 16))
    assert patches.images.shape == (2, 4, 16, 16) and set(patches.labels.ravel()) == set(range(8))
    _bare_loop(network, patches, get_recipe("default", batch_size=2, precision="fp32"), Runtime("cpu", "fp32"), 1)
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters()))
