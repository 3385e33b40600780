"""Layer conventions of the plugin: muscle and overlap colours, names on hover, what a layer carries.

Every LegSeg layer keeps what the widgets need in ``layer.metadata`` (no hidden state elsewhere):

- ``legseg_volume``: the :class:`~legseg_core.io.Volume` whose grid the layer is on (spacing in
  mm, source geometry), so that saving and the store put labels back on the scan's grid;
- ``legseg_case``: the store case id of the scan, once it is in the store;
- ``legseg_model``: the model that predicted a labels layer (a registry id, or a file stem);
- ``legseg_version``: the store label version a labels layer holds or was corrected from;
- ``legseg_corrects``: on a correction layer, the name of the prediction layer it started from;
- ``legseg_image``: on a result layer, the name of the image layer it was computed from;
- ``legseg_overlap``: True on an overlap map (which is not a muscle label map);
- ``legseg_uncertainty``: True on an uncertainty image (which is not a scan);
- ``legseg_view``: True on a second view of a scan (a cell of the side-by-side grid);
- ``legseg_quality``: on a predicted labels layer, its quality-control report
  (``QualityReport.to_dict()``: flags, volume of each muscle per leg, left/right ratios).

Arrays are napari's data arrays, indexed ``[z, y, x]`` like a Volume; ``scale`` is the spacing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from legseg_core.labels import MUSCLES, OVERLAP_CLASSES, LabelClass, color_lut, muscle_name

VOLUME = "legseg_volume"
CASE = "legseg_case"
MODEL = "legseg_model"
VERSION = "legseg_version"
CORRECTS = "legseg_corrects"
IMAGE = "legseg_image"
OVERLAP = "legseg_overlap"
UNCERTAINTY = "legseg_uncertainty"
VIEW = "legseg_view"
QUALITY = "legseg_quality"
PROVENANCE = "legseg_provenance"  # of labels read from a file: predicted:<model> or imported:<file name>
#: Image layers with these keys are not scans to segment or accept.
NOT_A_SCAN = (UNCERTAINTY, VIEW)


def label_colormap(classes: tuple[LabelClass, ...] = MUSCLES) -> Any:
    """A napari DirectLabelColormap with the given classes' colours and a transparent background."""
    from napari.utils import DirectLabelColormap

    return DirectLabelColormap(color_dict={**color_lut(classes), None: (0.0, 0.0, 0.0, 0.0)})


def muscle_features() -> Any:
    """One row per label value with a ``muscle`` column: napari shows it in the status bar on hover."""
    import pandas as pd

    ids = [0, *(m.id for m in MUSCLES)]
    return pd.DataFrame({"index": ids, "muscle": [muscle_name(i) for i in ids]})


def overlap_features() -> Any:
    """One row per overlap class with a ``overlap`` column (Figure 4's words) for the status bar."""
    import pandas as pd

    return pd.DataFrame({"index": [0, *(c.id for c in OVERLAP_CLASSES)],
                         "overlap": ["both background", *(c.name for c in OVERLAP_CLASSES)]})


def muscle_labels_kwargs(name: str, metadata: dict[str, Any], scale: tuple[float, ...]) -> dict[str, Any]:
    """Keyword arguments of ``viewer.add_labels`` for a muscle label map in the paper's colours."""
    return {"name": name, "metadata": dict(metadata), "scale": tuple(scale), "colormap": label_colormap(),
            "features": muscle_features(), "opacity": 0.6}


def overlap_labels_kwargs(name: str, metadata: dict[str, Any], scale: tuple[float, ...]) -> dict[str, Any]:
    """Keyword arguments of ``viewer.add_labels`` for the Figure 4 overlap map."""
    return {"name": name, "metadata": dict(metadata), "scale": tuple(scale),
            "colormap": label_colormap(OVERLAP_CLASSES), "features": overlap_features(), "opacity": 0.7}


def volume_of(layer: Any) -> Any:
    """The Volume a layer carries, or a canonical one built from its data shape and scale (mm)."""
    from legseg_core.io import Volume

    volume = (layer.metadata or {}).get(VOLUME)
    if volume is not None and tuple(volume.shape) == tuple(np.shape(layer.data)[-3:]):
        return volume
    data = np.asarray(layer.data)
    return Volume.from_array(data, tuple(float(s) for s in layer.scale[-3:]), name=layer.name)


def image_volume(layer: Any) -> Any:
    """The Volume of an image layer, with the layer's current (possibly edited) data as float32 voxels."""
    volume = volume_of(layer)
    data = np.asarray(layer.data)
    return volume if volume.data is data else volume.with_data(data)


def layers_of_kind(viewer: Any, kind: str) -> list[Any]:
    """The viewer's 3D layers of one kind ('image' or 'labels'), in layer-list order."""
    from napari.layers import Image, Labels

    cls = {"image": Image, "labels": Labels}[kind]
    return [layer for layer in viewer.layers if isinstance(layer, cls) and np.ndim(layer.data) == 3]


def unique_name(viewer: Any, wanted: str) -> str:
    """``wanted``, or ``wanted [2]``, ``[3]``... so that a new layer never replaces an existing one."""
    names = {layer.name for layer in viewer.layers}
    if wanted not in names:
        return wanted
    number = 2
    while f"{wanted} [{number}]" in names:
        number += 1
    return f"{wanted} [{number}]"
