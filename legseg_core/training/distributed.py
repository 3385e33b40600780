"""Training beyond one process: torchrun, DistributedDataParallel, and ``--nproc N``.

``legseg train --nproc N`` (and ``legseg finetune --nproc N``) re-runs the same command under
``torch.distributed.run`` with N processes on this machine; clusters call ``torchrun`` (with
their own rendezvous options) on ``python -m legseg_core.cli train ...`` directly. Each
process finds ``WORLD_SIZE`` and ``RANK`` in its environment, joins the process group
(``nccl`` for CUDA, ``gloo`` for the CPU), and trains its shard of every epoch (see
:mod:`legseg_core.training.loop`); rank 0 writes checkpoints, shows progress and registers the
model.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from legseg_core.errors import TrainingError

log = logging.getLogger(__name__)

#: Set in the processes that ``--nproc`` launches, so that they do not launch again.
LAUNCHED_VARIABLE = "LEGSEG_DISTRIBUTED_CHILD"


def world_size_from_environment() -> int:
    """``WORLD_SIZE`` as torchrun sets it (1 when absent)."""
    text = os.environ.get("WORLD_SIZE", "1").strip() or "1"
    try:
        return max(1, int(text))
    except ValueError:
        raise TrainingError(f"WORLD_SIZE={text!r} in the environment is not a whole number") from None


def rank_from_environment() -> int:
    """``RANK`` as torchrun sets it (0 when absent)."""
    return int(os.environ.get("RANK", "0") or 0)


def join_process_group(device: str | None) -> bool:
    """Join torchrun's process group if this process is one of several; True when it joined."""
    import torch
    import torch.distributed as dist

    if world_size_from_environment() <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    if not dist.is_available():
        raise TrainingError("this PyTorch build has no torch.distributed; train with one process")
    uses_cuda = (device or "auto").startswith(("cuda", "auto")) and torch.cuda.is_available()
    backend = "nccl" if uses_cuda else "gloo"
    if uses_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    dist.init_process_group(backend=backend)
    log.info("rank %d of %d joined the %s process group", dist.get_rank(), dist.get_world_size(), backend)
    return True


def leave_process_group() -> None:
    """Leave the process group once every rank has reached this point.

    The barrier first: a rank that tears down its group while a peer still has collective work
    in flight aborts the process (gloo's "terminate called without an active exception").
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


@contextmanager
def process_group(device: str | None) -> Iterator[bool]:
    """Join torchrun's process group for the body (if there is one) and leave it after success.

    When the body raises, the group is left alone: peers may be inside a collective, where a
    barrier would hang and a teardown abort; the error surfaces and torchrun stops the others.
    """
    joined = join_process_group(device)
    yield joined
    if joined:
        leave_process_group()


def launch(arguments: Sequence[str], nproc: int) -> int:
    """Run ``legseg <arguments>`` under torchrun with ``nproc`` processes here; its exit status."""
    if nproc < 1:
        raise TrainingError(f"--nproc {nproc} must be 1 or more")
    if os.environ.get(LAUNCHED_VARIABLE):
        raise TrainingError("--nproc inside a launched process; run the launcher once")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "legseg_core.cli", *arguments]
    log.info("launching %s", " ".join(command))
    environment = {**os.environ, LAUNCHED_VARIABLE: "1"}
    return subprocess.call(command, env=environment)


def without_nproc(arguments: Sequence[str]) -> list[str]:
    """The command-line arguments with ``--nproc N`` / ``--nproc=N`` removed."""
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument == "--nproc":
            skip = True
            continue
        if argument.startswith("--nproc="):
            continue
        kept.append(argument)
    return kept
