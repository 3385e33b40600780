"""The bridge between training and model files: build a network, write and read its card.

Model files are written and read only through :mod:`legseg_core.models`
(``save_checkpoint`` / ``load_checkpoint``, weights only, never code). A card written by
training records the architecture, preset and arguments, the preprocessing settings, the data
snapshot (case id and label-version id pairs), the validation metrics, the recipe and the
parent model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from legseg_core.training.data import CaseEntry
from legseg_core.training.recipes import Recipe


def preprocess_config(settings: dict[str, Any] | None = None) -> Any:
    """The preprocessing settings of a card (the paper's defaults when there are none)."""
    from legseg_core.preprocess import PreprocessConfig

    return PreprocessConfig() if not settings else PreprocessConfig.from_dict(settings)


def build_network(architecture: str, preset: str, options: dict[str, Any]) -> Any:
    """A new network from the architecture registry."""
    from legseg_core.models import build_model

    return build_model(architecture, preset, **options)


def architecture_of(network: Any) -> str:
    """The registry name of a network's architecture."""
    return str(getattr(network, "architecture", type(network).__name__.lower()))


def make_card(network: Any, config: Any, data: Sequence[CaseEntry], metrics: dict[str, Any], recipe: Recipe,
              parent_id: str | None, model_id: str = "", init: dict[str, str] | None = None) -> Any:
    """The card of a trained network (``model_id``: its registry id, when it has one; ``init``: the
    model its training started from, when not from random weights)."""
    from legseg_core.evaluation.tables import jsonable
    from legseg_core.models import ModelCard

    return ModelCard.for_network(network, preprocessing=config.to_dict(), model_id=model_id,
                                 training_data=[e.to_list() for e in data], metrics=jsonable(metrics),
                                 training={"recipe": recipe.to_dict(), "parent": parent_id,
                                           **({"init": init} if init else {})})


def save(network: Any, card: Any, path: Path) -> None:
    """Write a model file (weights and card)."""
    from legseg_core.models import save_checkpoint

    save_checkpoint(network, card, path)


def load(path: Path) -> tuple[Any, Any]:
    """Read a model file: (network, card)."""
    from legseg_core.models import load_checkpoint

    return load_checkpoint(path)


def card_preprocess(card: Any) -> Any:
    """The preprocessing settings a model was trained with."""
    return preprocess_config(dict(card.preprocessing))


def card_training_data(card: Any) -> list[CaseEntry]:
    """The data snapshot of a card."""
    return [CaseEntry(str(case), str(version)) for case, version in card.training_data]
