"""``legseg bench inference --agreement SECONDS``: how many voxel labels bf16 and fp16 change against fp32.

A lite U-Net is trained for that long on phantom cases and segments a held-out one in each
arithmetic; the rule for using reduced precision by default is at most 0.5% of the muscle
voxels' labels changed (see :data:`legseg_core.inference.AUTO_PRECISION`).
"""

from __future__ import annotations

from typing import Any

AGREEMENT_LIMIT = 0.5  # percent of voxel labels

def precision_agreement(seconds: float, *, train_cases: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Train a lite U-Net for ``seconds`` on phantoms; % of voxel labels bf16 and fp16 change vs fp32.

    bf16 and fp16 run through CPU autocast here (fp16 stands in for CUDA's autocast, which also
    keeps float32 accumulation). The held-out scan is a 25-slice single-leg phantom (one patch).
    """
    from legseg_core.inference import Segmenter
    from legseg_core.models import ModelCard
    from legseg_core.phantom import make_case

    network, steps = train_briefly(seconds, train_cases, seed)
    case = make_case(seed=seed + 100, protocol="A", slices=25, contrasts=("t1w",), legs="right")
    volume, truth = case.images["t1w"], case.labels.data
    card = ModelCard.for_network(network)
    reference = Segmenter((network, card), "cpu", precision="fp32").segment(volume).labels
    rows = []
    for precision in ("bf16", "fp16"):
        labels = Segmenter((network, card), "cpu", precision=precision).segment(volume).labels
        changed = labels != reference
        muscle = (labels > 0) | (reference > 0)
        rows.append({"network": "unet/lite trained", "scan": "25 slices, one leg", "precision": precision,
                     "train_s": seconds, "train_steps": steps, "fp32_mean_dice": round(mean_dice(truth, reference), 3),
                     "changed_all_pct": round(100 * float(changed.mean()), 3),
                     "changed_muscle_pct": round(100 * float(changed[muscle].mean()) if muscle.any() else 0.0, 3)})
    return rows


def train_briefly(seconds: float, cases: int, seed: int) -> tuple[Any, int]:
    """A lite U-Net trained for ``seconds`` (Adam, Dice + cross-entropy) on random crops of phantom patches.

    Returns the network (in eval mode) and the number of optimiser steps taken.
    """
    import time

    import numpy as np
    import torch

    from legseg_core.models import build_model
    from legseg_core.phantom import make_case
    from legseg_core.preprocess import to_patches
    from legseg_core.training.losses import dice_cross_entropy

    images, labels = [], []
    for index in range(cases):
        case = make_case(seed=seed + index, protocol="A", slices=25, contrasts=("t1w",), legs="both")
        patches = to_patches(case.images["t1w"], case.labels)
        images.append(patches.images)
        labels.append(patches.labels)
    images, labels = np.concatenate(images), np.concatenate(labels)
    torch.manual_seed(seed)
    network = build_model("unet", "lite").train()
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    rng, start, steps = np.random.default_rng(seed), time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        steps += 1
        chosen = rng.choice(len(images), size=2, replace=False)
        y0, x0 = rng.integers(0, 104 - 64 + 1, size=2)
        crop = (slice(None), slice(y0, y0 + 64), slice(x0, x0 + 64))
        batch = torch.from_numpy(np.stack([images[i][crop] for i in chosen]))[:, None]
        target = torch.from_numpy(np.stack([labels[i][crop] for i in chosen]).astype(np.int64))
        loss = dice_cross_entropy(network.logits(batch), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return network.eval(), steps


def mean_dice(reference: Any, predicted: Any) -> float:
    """Mean Dice over the seven muscles of two label arrays (1.0 for a muscle absent from both)."""
    import numpy as np

    scores = []
    for muscle in range(1, 8):
        a, b = reference == muscle, predicted == muscle
        total = np.count_nonzero(a) + np.count_nonzero(b)
        scores.append(2.0 * np.count_nonzero(a & b) / total if total else 1.0)
    return float(np.mean(scores))

