"""Where and how the numbers are computed: device, mixed precision, and the process group.

``auto`` device: CUDA when present, then Apple MPS, then the CPU. ``auto`` precision: on the
CPU, bf16 autocast only where the processor computes bf16 natively (AVX-512 BF16 or AMX; it
trains stably because weights, optimiser state and losses stay in fp32), fp32 elsewhere --
without native support bf16 3D convolutions run several times *slower* than fp32 (measured:
217 s against 35 s for one lite U-Net step on an AVX2-only CPU); on CUDA bf16 autocast where
the card supports it and fp16 with loss scaling where not; fp32 on MPS.

Under ``torchrun`` (or :mod:`legseg_core.training.distributed`) the process group is already
initialised; :class:`Runtime` then knows its rank and the world size, and the helpers here
average scalars over the ranks so that every rank takes the same decisions (stop on NaN, keep
the best epoch) and only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from legseg_core.errors import TrainingError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str | None = "auto") -> str:
    """A torch device string for ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; refuses what is absent."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise TrainingError(f"device {name!r} is unknown; choose auto, cpu, cuda, cuda:N or mps")
    if kind == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device {name!r} was asked for but this machine has no usable CUDA GPU; use --device cpu")
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrainingError(f"device {name!r} was asked for but Apple MPS is not available; use --device cpu")
    return name


def resolve_precision(precision: str, device: str) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for a recipe's precision on ``device``."""
    import torch

    kind = device.split(":", 1)[0]
    if precision != "auto":
        if precision == "fp16" and kind == "cpu":
            raise TrainingError("precision fp16 is not supported on the CPU; use bf16 or fp32")
        return precision
    if kind == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def cpu_has_native_bf16() -> bool:
    """True when the CPU has AVX-512 BF16 or AMX instructions (fast bf16 convolutions)."""
    import torch

    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(bool(check()) for check in checks if check is not None)


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved precision (a no-op for fp32)."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":", 1)[0], dtype=dtype)


@dataclass(frozen=True)
class Runtime:
    """Device, resolved precision and the rank / world size of this process."""

    device: str
    precision: str
    rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes checkpoints and logs (rank 0)."""
        return self.rank == 0

    @classmethod
    def create(cls, device: str | None, precision: str) -> "Runtime":
        """The runtime of this process: the process group's rank and size if one is initialised."""
        import torch.distributed as dist

        resolved = resolve_device(device)
        rank, world = 0, 1
        if dist.is_available() and dist.is_initialized():
            rank, world = dist.get_rank(), dist.get_world_size()
            if resolved == "cuda":
                resolved = f"cuda:{rank % max(1, _cuda_count())}"
        return cls(resolved, resolve_precision(precision, resolved), rank, world)

    def mean(self, value: float) -> float:
        """``value`` averaged over the ranks (itself when not distributed)."""
        if not self.distributed:
            return float(value)
        return float(self.sum_tensor(_tensor([value], self.device))[0]) / self.world_size

    def sum_tensor(self, tensor: Any) -> Any:
        """``tensor`` summed over the ranks, in place (returned for convenience)."""
        if self.distributed:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every rank."""
        if not self.distributed:
            return int(value)
        import torch.distributed as dist

        tensor = _tensor([float(value)], self.device)
        dist.broadcast(tensor, src=0)
        return int(tensor[0])

    def broadcast_state(self, module: Any) -> None:
        """Copy rank 0's parameters and buffers to every rank (BatchNorm statistics included)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def _tensor(values: list[float], device: str) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.float64 if not device.startswith("mps") else torch.float32, device=device)
