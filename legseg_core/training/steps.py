"""One optimiser step and one validation pass: the pieces the training loop repeats.

:class:`StepRunner` owns the network (wrapped in DistributedDataParallel under torchrun), the
optimiser, the loss scaler (fp16 on CUDA only) and the learning-rate schedule. Images are
``[batch, 1, z, y, x]`` float tensors and labels ``[batch, z, y, x]`` integer ids; validation
counts an 8 x 8 confusion matrix of (label, predicted) voxel pairs over the validation
patches, summed over ranks, from which each muscle's Dice follows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from legseg_core.errors import TrainingError
from legseg_core.evaluation.metrics import dice_from_counts
from legseg_core.labels import MUSCLES, NUM_CLASSES
from legseg_core.training.losses import get_loss
from legseg_core.training.patches import LabelledPatches
from legseg_core.training.recipes import Recipe, learning_rate_at
from legseg_core.training.runtime import Runtime, autocast

VALIDATION_BATCH = 6


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A 63-bit seed for the augmentation of one epoch on one rank."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def confusion_dice(confusion: np.ndarray) -> dict[str, float]:
    """Muscle abbreviation -> Dice from an 8 x 8 confusion matrix [label, predicted] (NaN when both empty)."""
    return {m.abbr: dice_from_counts(int(confusion[m.id, :].sum()), int(confusion[:, m.id].sum()),
                                     int(confusion[m.id, m.id])) for m in MUSCLES}


def _logits_module(network: Any) -> Any:
    """A module whose forward returns ``network.logits`` (what DistributedDataParallel must wrap)."""
    from torch import nn

    class Logits(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):  # noqa: D401 - torch's forward
            return self.inner.logits(x)

    return Logits(network)


class StepRunner:
    """Optimiser steps and validation passes of one network under one recipe and runtime."""

    def __init__(self, network: Any, recipe: Recipe, runtime: Runtime, total_steps: int) -> None:
        import torch

        if not hasattr(network, "logits"):
            raise TrainingError(f"{type(network).__name__} has no logits(); train a legseg_core.models network")
        self.recipe, self.runtime, self.total_steps = recipe, runtime, total_steps
        self.network = network.to(runtime.device)
        self.module = _logits_module(self.network)
        if runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [torch.device(runtime.device).index] if runtime.device.startswith("cuda") else None
            self.module = DistributedDataParallel(self.module, device_ids=ids)
        self.optimizer = self._optimizer()
        self.scaler = torch.amp.GradScaler("cuda") if runtime.precision == "fp16" else None
        self.loss_function = get_loss(recipe.loss)
        self.learning_rate = learning_rate_at(recipe, 0, total_steps)

    def _optimizer(self) -> Any:
        import torch

        kind = torch.optim.Adam if self.recipe.optimizer == "adam" else torch.optim.AdamW
        return kind(self.network.parameters(), lr=self.recipe.learning_rate, eps=self.recipe.epsilon,
                    weight_decay=self.recipe.weight_decay)

    def step(self, images: Any, labels: Any, step: int) -> float:
        """One optimiser step on a batch; returns the loss averaged over ranks (before the update)."""
        images = images.to(self.runtime.device, non_blocking=True)
        labels = labels.to(self.runtime.device, non_blocking=True)
        self.module.train()
        with autocast(self.runtime.device, self.runtime.precision):
            logits = self.module(images)
        loss = self.loss_function(logits, labels)
        value = self.runtime.mean(float(loss.detach()))
        if not math.isfinite(value):
            return value
        self.optimizer.zero_grad(set_to_none=True)
        self._backward_and_update(loss, step)
        return value

    def _backward_and_update(self, loss: Any, step: int) -> None:
        import torch

        self.learning_rate = learning_rate_at(self.recipe, step, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        clip = self.recipe.gradient_clip if self.recipe.gradient_clip is not None else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self.network.parameters(), clip))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
            return
        if not math.isfinite(self.runtime.mean(norm)):
            raise TrainingError(f"the gradient norm became {norm} at step {step + 1}; training stopped "
                                "(lower the learning rate or use precision fp32)")
        self.optimizer.step()

    def validate(self, patches: LabelledPatches) -> dict[str, float]:
        """Per-muscle Dice of the network's argmax on the validation patches (this rank's shard, summed)."""
        import torch

        self.network.eval()
        confusion = torch.zeros(NUM_CLASSES * NUM_CLASSES, dtype=torch.float64, device=self.runtime.device)
        shard = np.arange(self.runtime.rank, len(patches), self.runtime.world_size)
        with torch.no_grad(), autocast(self.runtime.device, self.runtime.precision):
            for start in range(0, len(shard), VALIDATION_BATCH):
                index = shard[start: start + VALIDATION_BATCH]
                images = torch.from_numpy(patches.images[index]).unsqueeze(1).to(self.runtime.device)
                labels = torch.from_numpy(patches.labels[index].astype(np.int64)).to(self.runtime.device)
                predicted = self.network.logits(images).argmax(dim=1)
                codes = (labels * NUM_CLASSES + predicted).reshape(-1)
                confusion += torch.bincount(codes, minlength=NUM_CLASSES * NUM_CLASSES).to(confusion.dtype)
        self.runtime.sum_tensor(confusion)
        return confusion_dice(confusion.cpu().numpy().reshape(NUM_CLASSES, NUM_CLASSES))

    def weights_copy(self) -> dict[str, Any]:
        """A CPU copy of the network's weights and buffers."""
        return {key: value.detach().to("cpu", copy=True) for key, value in self.network.state_dict().items()}

    def state(self) -> dict[str, Any]:
        """Model, optimiser and scaler state for a checkpoint."""
        return {"model": self.weights_copy(), "optimizer": self.optimizer.state_dict(),
                "scaler": {} if self.scaler is None else self.scaler.state_dict()}

    def load_state(self, checkpoint: dict[str, Any]) -> None:
        """Restore what :meth:`state` saved."""
        try:
            self.network.load_state_dict(checkpoint["model"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
        except (KeyError, RuntimeError, ValueError) as error:
            raise TrainingError(f"the checkpoint does not fit this network or recipe ({error})") from None
        if self.scaler is not None and checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
