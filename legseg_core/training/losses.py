"""Training losses computed from logits: categorical cross-entropy, and soft Dice plus cross-entropy.

``logits`` are ``[batch, 8, z, y, x]`` pre-softmax scores and ``labels`` ``[batch, z, y, x]``
integer ids 0..7. Both losses are computed in float32 whatever precision the forward pass
used. The soft Dice is taken over the whole batch (sums over patches and voxels) for the seven
muscles present in the batch's labels (cross-entropy alone teaches the absent ones), which keeps
it well defined on patches that miss a muscle.

Voxels labelled :data:`UNLABELLED` (255) are left out of both losses: case adaptation trains on
a scan of which only some slices were corrected, and the rest is unknown, not background. A
batch without a labelled voxel gives a loss of zero (with a gradient of zero).
"""

from __future__ import annotations

from collections.abc import Callable

from legseg_core.errors import TrainingError
from legseg_core.labels import NUM_CLASSES

DICE_SMOOTH = 1e-5
#: The label value of voxels that no loss counts (not corrected, so unknown).
UNLABELLED = 255


def cross_entropy(logits: "torch.Tensor", labels: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Mean categorical cross-entropy over voxels (the paper's loss)."""
    from torch.nn import functional

    labels = labels.long()
    if not bool((labels != UNLABELLED).any()):
        return logits.float().sum() * 0.0
    return functional.cross_entropy(logits.float(), labels, ignore_index=UNLABELLED)


def soft_dice_loss(logits: "torch.Tensor", labels: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """1 minus the mean soft Dice of the muscles over the batch (background left out)."""
    import torch
    from torch.nn import functional

    labels = labels.long()
    known = (labels != UNLABELLED).unsqueeze(1).float()
    probabilities = torch.softmax(logits.float(), dim=1)[:, 1:] * known
    one_hot = functional.one_hot(labels.where(labels != UNLABELLED, 0), NUM_CLASSES)
    one_hot = one_hot.permute(0, 4, 1, 2, 3)[:, 1:].float() * known
    axes = (0, 2, 3, 4)
    overlap = (probabilities * one_hot).sum(dim=axes)
    total = probabilities.sum(dim=axes) + one_hot.sum(dim=axes)
    dice = (2.0 * overlap + DICE_SMOOTH) / (total + DICE_SMOOTH)
    present = one_hot.sum(dim=axes) > 0
    if not bool(present.any()):
        return 1.0 - dice.mean()
    return 1.0 - dice[present].mean()


def dice_cross_entropy(logits: "torch.Tensor", labels: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Soft Dice loss plus cross-entropy, equally weighted."""
    return soft_dice_loss(logits, labels) + cross_entropy(logits, labels)


LOSSES: dict[str, Callable] = {"cross_entropy": cross_entropy, "dice_cross_entropy": dice_cross_entropy}


def get_loss(name: str) -> Callable:
    """The loss function of a recipe's ``loss`` name."""
    if name not in LOSSES:
        raise TrainingError(f"loss {name!r} is unknown; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
