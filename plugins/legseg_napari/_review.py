"""The review model: a reference and a prediction labels layer, their Figure 4 overlap map as a
layer, and per-muscle scores kept current while either layer is painted.

:class:`ReviewSession` holds an :class:`~legseg_core.evaluation.OverlapTracker` over the two
layers' own ``[z, y, x]`` arrays (no copies: napari's brush writes into them). Each edit that an
:class:`~legseg_napari._regions.EditWatcher` reports updates the map and the joint counts inside
the edited box only; Dice and the volume difference (ml) follow from the counts at once, and Dice
per leg (legs parted where the reference's muscles part when the comparison starts) from the two
arrays. Average
Hausdorff distances need distance transforms, so they come from :meth:`distances_work`, long
work that the widget runs off the UI thread when the user asks or painting pauses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.errors import GridMismatchError, LegsegError
from legseg_core.evaluation import CaseScores, OverlapTracker
from legseg_core.evaluation.legs import leg_agreement, split_labels
from legseg_core.labels import MUSCLE_IDS
from legseg_core.progress import ProgressWork
from legseg_napari._layers import OVERLAP, VOLUME, overlap_labels_kwargs, unique_name, volume_of
from legseg_napari._regions import EditWatcher, Region, call_now

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from napari import Viewer
    from napari.layers import Layer
#: Outline width (pixels) of the prediction's muscles over the overlap map.
OUTLINE_WIDTH = 1


class ReviewSession:
    """Overlap map and live scores of ``reference`` against ``prediction`` (two labels layers).

    ``on_change()`` is called after every edit that was taken in; ``on_error(message)`` when an
    edit cannot be (a label value outside 0..7); ``defer`` runs the edit handling (see
    :class:`~legseg_napari._regions.EditWatcher`). :meth:`close` stops listening and removes the
    overlap layer.
    """

    def __init__(self, viewer: Viewer, reference: Any, prediction: Any, *, on_change: Callable[[], None] = lambda: None,
                 on_error: Callable[[str], None] = lambda message: None,
                 defer: Callable[[Callable[[], None]], None] = call_now) -> None:
        if reference is prediction:
            raise GridMismatchError(f"reference and prediction are the same layer {reference.name!r}; "
                                    "choose two labels layers")
        for layer in (reference, prediction):
            if not isinstance(layer.data, np.ndarray):
                raise GridMismatchError(f"layer {layer.name!r} is not held in memory ({type(layer.data).__name__})")
        self.viewer, self.reference, self.prediction = viewer, reference, prediction
        z, y, x = (float(s) for s in volume_of(reference).spacing)
        self.spacing = (z, y, x)
        self.tracker = OverlapTracker(reference.data, prediction.data, self.spacing)
        self.legs = split_labels(reference.data)
        self.on_change, self.on_error = on_change, on_error
        self.edits = 0
        self.overlap_layer = viewer.add_labels(self.tracker.map, **overlap_labels_kwargs(
            unique_name(viewer, f"overlap: {reference.name} vs {prediction.name}"),
            {OVERLAP: True, VOLUME: volume_of(reference)}, reference.scale))
        self._watchers = [EditWatcher(layer, self._on_edit, defer=defer) for layer in (reference, prediction)]
        self._looks = {layer: (float(layer.opacity), int(layer.contour)) for layer in (reference, prediction)}
        self._place_overlap_below_labels()
        self.overlap_layer.events.visible.connect(self._on_overlap_visible)
        viewer.dims.events.ndisplay.connect(self._on_overlap_visible)
        self._on_overlap_visible()

    @property
    def voxel_ml(self) -> float:
        """Volume of one voxel in ml (spacing in mm)."""
        return float(np.prod(self.spacing)) / 1000.0

    def live_scores(self) -> dict[int, dict[str, float]]:
        """Muscle id -> Dice and volume difference (prediction minus reference, ml), from the live counts."""
        dice = self.tracker.dice()
        scores = {}
        for label in MUSCLE_IDS:
            reference_voxels, prediction_voxels, _ = self.tracker.counts(label)
            scores[label] = {"dice": dice[label],
                             "volume_difference_ml": (prediction_voxels - reference_voxels) * self.voxel_ml}
        return scores

    def leg_scores(self, *, both: bool = False) -> dict[str, dict[int, dict[str, float]]]:
        """Per leg (right, left as present; 'both' first when asked): muscle id -> Dice and volumes (ml) of the
        current arrays (:func:`~legseg_core.evaluation.legs.leg_agreement`)."""
        return leg_agreement(self.reference.data, self.prediction.data, self.legs, self.spacing, both=both)

    def class_counts(self) -> dict[int, int]:
        """Voxels per overlap class 0..4."""
        return self.tracker.class_counts()

    def distances_work(self) -> ProgressWork[CaseScores]:
        """Full scores (with AHD in voxels and mm) of a snapshot of the current labels, as long work."""
        return self.tracker.scores_work(case_id=self.prediction.name)

    def flush(self) -> None:
        """Take in the edits whose handling is still deferred."""
        for watcher in self._watchers:
            watcher.flush()

    def close(self) -> None:
        """Stop following the layers, remove the overlap layer and show the two label layers as they were."""
        for watcher in self._watchers:
            watcher.disconnect()
        self._watchers = []
        self.overlap_layer.events.visible.disconnect(self._on_overlap_visible)
        self.viewer.dims.events.ndisplay.disconnect(self._on_overlap_visible)
        self._restore_labels()
        if self.overlap_layer in self.viewer.layers:
            self.viewer.layers.remove(self.overlap_layer)

    def _place_overlap_below_labels(self) -> None:
        layers = self.viewer.layers
        lowest = min(layers.index(self.reference), layers.index(self.prediction))
        layers.move(layers.index(self.overlap_layer), lowest)

    def _on_overlap_visible(self, event: Any = None) -> None:
        """While the overlap map is shown, the prediction shows as opaque outlines over it and the reference not
        at all (opacity 0: it stays editable, and undo still reaches the map), so no colours blend. napari draws
        no outlines in 3D (it fills the labels and warns): there the prediction is hidden too, or its opaque fill
        would cover the map, and its outlines come back with the 2D view."""
        if self.overlap_layer.visible:
            self.reference.opacity = 0.0
            if self.viewer.dims.ndisplay == 3:
                self.prediction.opacity, self.prediction.contour = 0.0, 0
            else:
                self.prediction.opacity, self.prediction.contour = 1.0, OUTLINE_WIDTH
        else:
            self._restore_labels()

    def _restore_labels(self) -> None:
        for layer, (opacity, contour) in self._looks.items():
            layer.opacity, layer.contour = opacity, contour

    def _on_edit(self, layer: Layer, region: Region | None) -> None:
        try:
            if region is None:
                self.tracker.reset(self.reference.data, self.prediction.data)
                self.overlap_layer.data = self.tracker.map
            else:
                self.tracker.apply_edit(region)
                self.overlap_layer.refresh()
        except LegsegError as error:
            log.warning("edit of %s not taken into the overlap map: %s", layer.name, error)
            self.on_error(f"{layer.name}: {error}")
            return
        self.edits += 1
        self.on_change()
