"""Scoring a network on whole store cases: segment each scan and compare with its accepted labels.

Each scan goes through the paper's pipeline (:func:`legseg_core.preprocess.to_patches`), the
network's probabilities ``[n, 8, z, y, x]`` come back onto the scan's own ``[z, y, x]`` grid
with :func:`legseg_core.preprocess.from_patches`, and the result is scored per muscle against
the label version of the snapshot entry (Dice, and AHD when ``with_distances``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.progress import Progress, ProgressWork
from legseg_core.training.data import CaseEntry
from legseg_core.training.runtime import Runtime, autocast

PREDICT_BATCH = 6

if TYPE_CHECKING:
    from legseg_core.store import Store


def predict_patches(network: Any, images: np.ndarray, runtime: Runtime) -> np.ndarray:
    """Softmax probabilities float32 ``[n, 8, z, y, x]`` of patches ``[n, z, y, x]``."""
    import torch

    network.eval()
    outputs = []
    with torch.no_grad(), autocast(runtime.device, runtime.precision):
        for start in range(0, len(images), PREDICT_BATCH):
            batch = torch.from_numpy(np.ascontiguousarray(images[start: start + PREDICT_BATCH])).unsqueeze(1)
            logits = network.logits(batch.to(runtime.device))
            outputs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0, 8, *images.shape[1:]), np.float32)


def predict_volume(network: Any, volume: Any, config: Any, runtime: Runtime) -> np.ndarray:
    """uint8 labels ``[z, y, x]`` on the grid of ``volume`` (a canonical Volume)."""
    from legseg_core.preprocess import from_patches, to_patches

    patches = to_patches(volume, None, config)
    return from_patches(predict_patches(network, patches.images, runtime), patches.plan)


def score_cases(network: Any, store: Store, entries: Sequence[CaseEntry], config: Any, runtime: Runtime, *,
                with_distances: bool = False, what: str = "scoring") -> ProgressWork[list[Any]]:
    """Per-case scores (:class:`~legseg_core.evaluation.metrics.CaseScores`) of ``network`` on the
    entries' scans against their label versions; yields one event per case."""
    from legseg_core.evaluation.metrics import evaluate_labels

    scores = []
    for done, entry in enumerate(entries):
        yield Progress(done, len(entries), f"{what}: case {done + 1}/{len(entries)}",
                       {"event": "evaluate", "what": what, "case": entry.case_id})
        volume = store.load_image(entry.case_id)
        predicted = predict_volume(network, volume, config, runtime)
        scores.append(evaluate_labels(store.load_labels(entry.version_id), predicted, volume.spacing,
                                      case_id=entry.case_id, with_distances=with_distances))
    return scores
