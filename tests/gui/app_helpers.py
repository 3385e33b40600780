"""Small stores, phantom cases and tiny model files for the application tests (made on the fly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.store import Store


def tiny_phantom(seed: int = 1) -> Any:
    """A tiny bilateral phantom case (20 x 64 x 96 voxels, T1w) with its ground-truth labels."""
    from legseg_core.phantom import make_case

    return make_case(seed=seed, protocol="B", size="tiny", contrasts=("t1w",))


def store_with_case(root: Path, *, labelled: bool = True, seed: int = 1, **metadata: Any) -> tuple[Store, str]:
    """A new store holding one phantom case (with its ground truth as a synthetic version if ``labelled``)."""
    phantom = tiny_phantom(seed)
    store = Store.init(root)
    fields = {"contrast": "t1w", "health": "healthy", **metadata}
    case = store.add_case(phantom.images["t1w"], **fields)
    if labelled:
        store.add_label_version(case.id, phantom.labels.data, provenance="synthetic:phantom")
    return store, case.id


def tiny_model_file(path: Path, seed: int = 0) -> Path:
    """A randomly initialised, very small U-Net saved as a LegSeg model file (a few kB)."""
    import torch

    from legseg_core.models import ModelCard, build_model, save_checkpoint

    torch.manual_seed(seed)
    network = build_model("unet", "lite", channels=(2, 4), strides=((1, 2, 2),))
    return save_checkpoint(network, ModelCard.for_network(network, name="tiny-test-unet"), path)


def muscle_mask(labels: np.ndarray, muscle: int) -> np.ndarray:
    """Where a muscle is, as a boolean array."""
    return np.asarray(labels) == muscle
