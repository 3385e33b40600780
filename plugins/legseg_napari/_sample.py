"""Sample data: a synthetic bilateral calf (T1-weighted) with its ground-truth muscle labels.

The case comes from :func:`legseg_core.phantom.make_case` on its coarse ``tiny`` grid (20 axial
slices of 64 x 96 voxels, about 6 x 4.4 x 4.4 mm), which takes under a second to simulate, so
the sample opens at once and segments in seconds on a laptop CPU.
"""

from __future__ import annotations

from typing import Any

from legseg_napari._layers import VOLUME, muscle_labels_kwargs

SAMPLE_SEED = 7


def make_sample_calf() -> list[tuple[Any, dict[str, Any], str]]:
    """The image layer and the ground-truth labels layer of one synthetic bilateral calf."""
    from legseg_core.phantom import make_case

    case = make_case(SAMPLE_SEED, protocol="B", contrasts=("t1w",), legs="both", size="tiny",
                     case_id="sample-calf")
    image = case.images["t1w"]
    image = image.with_data(image.data, name="sample calf t1w")
    labels = case.labels.with_data(case.labels.data, name="sample calf ground truth")
    image_meta = {"name": "sample calf (T1w)", "scale": image.spacing, "colormap": "gray",
                  "metadata": {VOLUME: image}}
    label_meta = muscle_labels_kwargs("sample calf ground truth", {VOLUME: labels}, labels.spacing)
    return [(image.data, image_meta, "image"), (labels.data, label_meta, "labels")]
