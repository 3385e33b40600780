"""Segmenting an image layer with one or several networks, and showing the results as layers.

The long work (:func:`compare_work`) runs on a worker thread: it segments the scan with each
chosen model in turn through :func:`legseg_gui.app.segmentation.segmentation_work` (which loads
the model with :class:`legseg_core.inference.Segmenter`; torch is imported there, never when a
dock opens) and returns one :class:`ModelResult` per model, with its quality-control report
(:func:`legseg_core.evaluation.qc.check_segmented`). On the UI thread,
:func:`add_labels_layer` then adds a labels layer in the paper's colours with the muscle names
on hover, and :func:`add_uncertainty_layer` an uncertainty (entropy) image layer, hidden by
default. :func:`show_side_by_side` lays
several results out in napari's grid, each over its own view of the scan, as in Figure 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from legseg_core.io import Volume
from legseg_core.progress import Progress, ProgressWork
from legseg_napari._layers import (CASE, IMAGE, MODEL, QUALITY, UNCERTAINTY, VIEW, VOLUME, image_volume,
                                   muscle_labels_kwargs, unique_name)


@dataclass(frozen=True)
class ModelResult:
    """One model's segmentation of the scan: uint8 labels and float32 uncertainty ``[z, y, x]``, and its
    quality-control report (``QualityReport.to_dict()``: flags, volume of each muscle per leg)."""

    model: str
    labels: np.ndarray
    uncertainty: np.ndarray | None
    score: float | None
    quality: dict[str, Any] | None = None


def compare_work(image: Volume, choices: list[Any], device: str,
                 store_path: str | None) -> ProgressWork[list[ModelResult]]:
    """Segment ``image`` with each model choice in turn; progress spans all of them (one step per model)."""
    from legseg_core.evaluation.qc import check_segmented
    from legseg_gui.app.segmentation import segmentation_work

    store = _open_store(store_path) if any(c.model_id for c in choices) else None
    results = []
    try:
        for number, choice in enumerate(choices):
            inner = segmentation_work(image, choice, device, store)
            segmentation = yield from _spread(inner, number, len(choices), choice.name)
            results.append(ModelResult(choice.name, np.asarray(segmentation.labels, np.uint8),
                                       _optional_array(getattr(segmentation, "uncertainty", None)),
                                       _optional_float(getattr(segmentation, "uncertainty_score", None)),
                                       check_segmented(segmentation, image.spacing).to_dict()))
    finally:
        if store is not None:
            store.close()
    return results


def _spread(work: ProgressWork[Any], number: int, count: int, name: str) -> ProgressWork[Any]:
    """Re-scale one model's progress into its share ``[number, number + 1)`` of ``count`` models."""
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            return stop.value
        fraction = event.fraction if event.total else 0.0
        prefix = f"{name} ({number + 1}/{count})" if count > 1 else name
        yield Progress(number + fraction, count, f"{prefix}: {event.message}", event.details)


def _open_store(store_path: str | None) -> Any:
    from legseg_core.store import Store

    return Store.open(store_path)


def _optional_array(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, np.float32)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def add_labels_layer(viewer: Any, image_layer: Any, result: ModelResult) -> Any:
    """Add one result's labels layer: the paper's colours, the muscle name on hover, the model in its metadata."""
    volume = image_volume(image_layer)
    metadata = {VOLUME: volume, MODEL: result.model, IMAGE: image_layer.name, QUALITY: result.quality}
    if image_layer.metadata.get(CASE):
        metadata[CASE] = image_layer.metadata[CASE]
    return viewer.add_labels(result.labels, **muscle_labels_kwargs(
        unique_name(viewer, f"{image_layer.name} · {result.model}"), metadata, volume.spacing))


def add_uncertainty_layer(viewer: Any, image_layer: Any, result: ModelResult) -> Any | None:
    """Add one result's uncertainty (normalised entropy, 0..1) as an image layer, hidden by default."""
    if result.uncertainty is None:
        return None
    volume = image_volume(image_layer)
    score = "" if result.score is None else f" (score {result.score:.3f})"
    return viewer.add_image(
        result.uncertainty, name=unique_name(viewer, f"{image_layer.name} · {result.model} uncertainty{score}"),
        scale=volume.spacing, colormap="inferno", visible=False, blending="additive",
        metadata={VOLUME: volume, MODEL: result.model, IMAGE: image_layer.name, UNCERTAINTY: True})


def grid_of(viewer: Any) -> Any:
    """The viewer's grid settings (``viewer.canvas.grid`` from napari 0.9, ``viewer.grid`` before)."""
    canvas = getattr(viewer, "canvas", None)
    return canvas.grid if canvas is not None and hasattr(canvas, "grid") else viewer.grid


def show_side_by_side(viewer: Any, image_layer: Any, labels_layers: list[Any]) -> list[Any]:
    """Napari's grid with one cell per model: each labels layer over its own view of the scan.

    A view of the scan (sharing its array, no copy) is placed under each labels layer and the
    pairs are moved to the bottom of the layer list, so that the grid, two layers per cell,
    pairs each model with the scan. Returns the views added."""
    views = []
    for labels_layer in labels_layers:
        name = unique_name(viewer, f"{image_layer.name} ⟂ {labels_layer.name}")
        view = viewer.add_image(image_layer.data, name=name, scale=image_layer.scale,
                                colormap=image_layer.colormap.name, contrast_limits=image_layer.contrast_limits,
                                metadata={**image_layer.metadata, VIEW: True})
        views.append(view)
    for position, (view, labels_layer) in enumerate(zip(views, labels_layers)):
        viewer.layers.move(viewer.layers.index(view), 2 * position)
        viewer.layers.move(viewer.layers.index(labels_layer), 2 * position + 1)
    grid = grid_of(viewer)
    grid.stride = 2
    grid.enabled = True
    return views
