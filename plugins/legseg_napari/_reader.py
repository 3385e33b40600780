"""napari reader: NIfTI files and DICOM folders as image or labels layers in the muscle colours.

A file of few whole values is a label map. LegSeg's own (0..7) opens as it is; another tool's
opens through the built-in label scheme that maps every one of its values (for example
``qmritools-calf`` for the QMRITools calf labels, values 13..26), always as a labels layer in the
muscle colours, with the scheme in its metadata. A label map that no built-in scheme covers is
refused with a message that says how to map it; it never opens as an image.

A labels layer carries the file's provenance (``legseg_provenance``: ``predicted:<model>`` for a
``legseg segment`` output, else ``imported:<file name>``), which Accept keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: A label map holds at most this many distinct whole values; a scan holds far more.
MAX_LABEL_VALUES = 64
#: Layer metadata key: the label scheme a foreign label file was read through.
RELABEL = "legseg_relabel"


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
    """Whole values >= 0, at most :data:`MAX_LABEL_VALUES` of them: a label map (LegSeg's or another tool's)."""
    if not np.issubdtype(data.dtype, np.integer) and not np.all(np.mod(data[:: max(1, data.shape[0] // 4)], 1) == 0):
        return False
    values = np.unique(data)
    return values.size <= MAX_LABEL_VALUES and values.min() >= 0 and bool(np.all(np.mod(values, 1) == 0))


def muscle_ids(data: np.ndarray, path: str) -> tuple[np.ndarray, str | None]:
    """A label map as uint8 muscle ids and the scheme used (None for LegSeg's own ids)."""
    from legseg_core.io.relabel import (KNOWN_MAPPINGS, LabelSchemeError, fitting_schemes, label_scheme, needs_scheme,
                                        values_text)

    if not needs_scheme(data):
        return data.astype(np.uint8), None
    fits = fitting_schemes(data)
    if not fits:
        raise LabelSchemeError(
            f"{path}: label values {values_text(np.unique(data))} are not LegSeg's muscle ids 0..7 and no built-in "
            f"label scheme ({', '.join(KNOWN_MAPPINGS)}) maps them all; map them with a label description file or "
            "VALUE=MUSCLE pairs: in the LegSeg application (File > Load labels from another tool), or with "
            "--relabel on the command line")
    return label_scheme(fits[0]).apply(data, path), fits[0]


def read_layers(path: str | list[str]) -> list[tuple[Any, dict[str, Any], str]]:
    """Load a scan as an image layer, or a label file as a labels layer with the muscle colours."""
    from legseg_core.io import load_volume
    from legseg_core.labels import color_lut

    source = path[0] if isinstance(path, list) else path
    volume = load_volume(source)
    common = {"name": volume.name, "scale": volume.spacing, "metadata": {"legseg_volume": volume}}
    if not looks_like_labels(volume.data):
        return [(volume.data, {**common, "colormap": "gray"}, "image")]
    from napari.utils import DirectLabelColormap

    from legseg_core.store.provenance import label_file_provenance
    from legseg_napari._layers import PROVENANCE

    data, scheme = muscle_ids(volume.data, str(source))
    metadata = {**common["metadata"], PROVENANCE: label_file_provenance(volume, source)}
    if scheme is not None:
        common = {**common, "name": f"{volume.name} ({scheme})"}
        metadata.update({"legseg_volume": volume.with_data(data), RELABEL: scheme})
    return [(data, {**common, "metadata": metadata,
                    "colormap": DirectLabelColormap(color_dict={**color_lut(), None: (0, 0, 0, 0)})}, "labels")]
