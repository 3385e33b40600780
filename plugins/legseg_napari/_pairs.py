"""Which labels layers the docks start from: the reference is one LegSeg did not make, the prediction LegSeg's latest.

A layer LegSeg made carries ``legseg_model`` (a prediction), ``legseg_corrects`` (a correction of
one) or, read back from a file, a ``predicted:`` provenance in its metadata; overlap maps are never
a choice. Layers are in the viewer's order,
newest last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from legseg_napari._layers import CORRECTS, MODEL, OVERLAP, PROVENANCE


def made_by_legseg(layer: Any) -> bool:
    """True for a prediction or a correction LegSeg made (also one read back from a file)."""
    provenance = str(layer.metadata.get(PROVENANCE) or "")
    return bool(layer.metadata.get(MODEL) or layer.metadata.get(CORRECTS) or provenance.startswith("predicted:"))


def latest_prediction(layers: Sequence[Any]) -> Any | None:
    """The newest labels layer LegSeg made, or None."""
    made = [layer for layer in layers if made_by_legseg(layer) and not layer.metadata.get(OVERLAP)]
    return made[-1] if made else None


def default_pair(layers: Sequence[Any]) -> tuple[Any | None, Any | None]:
    """(reference, prediction): the first layer LegSeg did not make, and LegSeg's newest; two different layers
    when there are two (None where there is none)."""
    layers = [layer for layer in layers if not layer.metadata.get(OVERLAP)]
    prediction = latest_prediction(layers)
    others = [layer for layer in layers if not made_by_legseg(layer)]
    reference = others[0] if others else None
    if prediction is None:
        prediction = next((layer for layer in reversed(layers) if layer is not reference), None)
    if reference is None:
        reference = next((layer for layer in layers if layer is not prediction), None)
    return reference, prediction
