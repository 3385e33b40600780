"""napari reader: NIfTI files and DICOM folders as image or labels layers in the muscle colours.

A labels layer carries the file's provenance (``legseg_provenance``: ``predicted:<model>`` for a
``legseg segment`` output, else ``imported:<file name>``), which Accept keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def get_reader(path: str | list[str]):
    """Return a reader function if LegSeg can open ``path``, else None (napari's convention)."""
    if isinstance(path, list):
        return None if len(path) != 1 else get_reader(path[0])
    candidate = Path(path)
    lower = candidate.name.lower()
    if candidate.is_dir() or lower.endswith((".nii", ".nii.gz", ".dcm")):
        return read_layers
    return None


def looks_like_labels(data: np.ndarray) -> bool:
    """A small set of whole values within 0..7 (or 0..255 integer type with few values) is a label map."""
    if not np.issubdtype(data.dtype, np.integer) and not np.all(np.mod(data[:: max(1, data.shape[0] // 4)], 1) == 0):
        return False
    values = np.unique(data)
    return values.size <= 8 and values.min() >= 0 and values.max() <= 7


def read_layers(path: str | list[str]) -> list[tuple[Any, dict[str, Any], str]]:
    """Load a scan as an image layer, or a label file as a labels layer with the muscle colours."""
    from legseg_core.io import load_volume
    from legseg_core.labels import color_lut

    path = path[0] if isinstance(path, list) else path
    volume = load_volume(path)
    common = {"name": volume.name, "scale": volume.spacing, "metadata": {"legseg_volume": volume}}
    if looks_like_labels(volume.data):
        from napari.utils import DirectLabelColormap

        from legseg_core.store.provenance import label_file_provenance

        common["metadata"]["legseg_provenance"] = label_file_provenance(volume, path)
        return [(volume.data.astype(np.uint8), {**common, "colormap": DirectLabelColormap(
            color_dict={**color_lut(), None: (0, 0, 0, 0)})}, "labels")]
    return [(volume.data, {**common, "colormap": "gray"}, "image")]
