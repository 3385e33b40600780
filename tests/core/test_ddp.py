"""Two CPU processes under torch.distributed (gloo) train one tiny network and end with identical weights."""

from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp

from legseg_core.errors import TrainingError
from legseg_core.training.distributed import launch, without_nproc, world_size_from_environment

WORLD = 2


def _worker(rank: int, folder: str) -> None:
    import torch.distributed as dist

    from legseg_core.progress import run_quietly
    from legseg_core.training.distributed import leave_process_group
    from legseg_core.training.loop import train_network
    from tests.core.test_train_loop import recipe, tiny_data, tiny_network

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD)
    # Different initial weights per rank: DistributedDataParallel must start every rank from rank 0's.
    outcome = run_quietly(train_network(tiny_network(seed=rank), tiny_data(), recipe(epochs=2), seed=5,
                                        run_dir=f"{folder}/run"))
    torch.save({"weights": outcome.network.state_dict(), "steps": outcome.steps,
                "dice": outcome.validation_mean_dice}, f"{folder}/rank{rank}.pt")
    leave_process_group()  # the way the commands leave: after a barrier, and only after success


def test_two_gloo_processes_end_with_identical_weights(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path),), nprocs=WORLD, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD))
    assert first["steps"] == second["steps"] == 2 * 2  # 6 patches over 2 ranks: 3 each, batch 2 -> 2 steps
    assert first["dice"] == second["dice"]
    for key, value in first["weights"].items():
        assert torch.equal(value, second["weights"][key]), key
    assert (tmp_path / "run" / "last.pt").is_file()  # rank 0 wrote the checkpoint


def test_nproc_is_removed_from_the_relaunched_command():
    assert without_nproc(["train", "--nproc", "2", "--epochs", "3"]) == ["train", "--epochs", "3"]
    assert without_nproc(["train", "--nproc=4"]) == ["train"]


def test_bad_launch_settings_are_refused(monkeypatch):
    with pytest.raises(TrainingError, match="--nproc 0 must be 1 or more"):
        launch(["train"], 0)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(TrainingError, match="WORLD_SIZE='two' in the environment is not a whole number"):
        world_size_from_environment()
