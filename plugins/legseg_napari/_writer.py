"""napari writer: a labels layer to NIfTI on the grid of the scan it was drawn on."""

from __future__ import annotations

from typing import Any

import numpy as np


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write a labels layer as uint8 NIfTI.

    When the layer carries the source scan (``metadata['legseg_volume']``, set by LegSeg's
    reader and widgets) the file gets that scan's exact grid and affine; otherwise a canonical
    grid with the layer's scale as spacing (mm).
    """
    from legseg_core.io import Volume, save_labels

    labels = np.asarray(data)
    like = (meta.get("metadata") or {}).get("legseg_volume")
    if like is None:
        scale = tuple(meta.get("scale") or (1.0, 1.0, 1.0))[-3:]
        like = Volume.from_array(np.zeros(labels.shape, np.uint8), spacing=scale)
    return [str(save_labels(labels, like, path))]
