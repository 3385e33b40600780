"""Networks, their registry, and self-describing model files.

- :mod:`~legseg_core.models.registry`: ``build_model(arch, preset="lite", **overrides)``,
  ``ARCHITECTURES`` (unet, resnet, densenet), ``PRESETS`` (lite, paper), ``count_parameters``.
- :mod:`~legseg_core.models.card`: :class:`ModelCard`, what a model file says about itself.
- :mod:`~legseg_core.models.checkpoint`: ``save_checkpoint`` / ``load_checkpoint`` (plain data
  only; loading never runs code).

From a model name (shipped or registered in a store) to a file is :mod:`legseg_core.model_lookup`,
which reads the store, so that this package depends on neither the store nor training.

Every network maps ``[batch, 1, z, y, x]`` images to ``[batch, 8, z, y, x]`` probabilities.
Importing this package imports torch.
"""

from __future__ import annotations

from legseg_core.models.blocks import SegmentationNet
from legseg_core.models.card import CARD_SCHEMA_VERSION, MUSCLE_LABEL_MAP, ModelCard
from legseg_core.models.checkpoint import load_checkpoint, read_card, save_checkpoint
from legseg_core.models.registry import (
    ARCHITECTURES, PAPER_PARAMETERS, PRESETS, architecture, build_model, count_parameters, preset_arguments,
    rebuild_model,
)

__all__ = ["ARCHITECTURES", "CARD_SCHEMA_VERSION", "MUSCLE_LABEL_MAP", "PAPER_PARAMETERS", "PRESETS", "ModelCard",
           "SegmentationNet", "architecture", "build_model", "count_parameters",
           "load_checkpoint", "preset_arguments", "read_card", "rebuild_model", "save_checkpoint"]
