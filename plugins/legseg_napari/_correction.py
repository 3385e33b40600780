"""Correcting a prediction and accepting it into the store; autosave and recovery of unsaved edits.

A correction is a new labels layer holding a copy of the prediction (napari's brush, fill,
eraser and undo then work on it, and the prediction stays as it was). "Accept" turns it into
label versions of the case in the store:

1. the case: the one the layers name (``legseg_case``), or the scan added now with the user's
   metadata (an image already in the store is found by its checksum and reused);
2. the prediction, as a version with provenance ``predicted:<model>`` -- or, for labels read from a
   file, the provenance the file came with (``predicted:<model>`` or ``imported:<file name>``) --
   unless the correction started from a stored version, which is then its parent;
3. the correction, as a version with provenance ``corrected:<parent>``: the store records the
   per-muscle voxels added and removed and the slices touched against the parent;
4. the case is accepted with that version.

The functions that write run on a worker thread; they take plain data (an
:class:`AcceptRequest` built on the UI thread with copies of the arrays). Arrays are uint8
``[z, y, x]`` on the scan's grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.io import Volume
from legseg_core.recovery import MEMORY_PREFIX, RecoveryArea, RecoveryEntry
from legseg_core.store import CaseMetadata, DuplicateCaseError, LabelVersion, Store
from legseg_napari._layers import (CASE, CORRECTS, IMAGE, MODEL, PROVENANCE, VERSION, VOLUME, muscle_labels_kwargs,
                                   unique_name, volume_of)

CORRECTION_SUFFIX = " (correction)"
_MODEL_REFERENCE = re.compile(r"[^A-Za-z0-9_.:+-]+")


def model_reference(model: str) -> str:
    """A model name as a provenance reference: letters, digits and ``_.:+-`` only, at most 100 characters."""
    text = _MODEL_REFERENCE.sub("-", str(model)).strip("-._:+") or "unknown-model"
    return text[:100]


def start_correction(viewer: Any, labels_layer: Any) -> Any:
    """A new labels layer with a copy of ``labels_layer``'s voxels, selected for painting.

    A layer that is itself a correction is returned as it is (its edits continue)."""
    if labels_layer.metadata.get(CORRECTS):
        viewer.layers.selection.active = labels_layer
        return labels_layer
    metadata = {key: labels_layer.metadata[key] for key in (VOLUME, CASE, MODEL, PROVENANCE, VERSION, IMAGE)
                if labels_layer.metadata.get(key) is not None}
    metadata[VOLUME] = volume_of(labels_layer)
    metadata[CORRECTS] = labels_layer.name
    copy = np.array(labels_layer.data, dtype=np.uint8, copy=True)
    layer = viewer.add_labels(copy, **muscle_labels_kwargs(
        unique_name(viewer, labels_layer.name + CORRECTION_SUFFIX), metadata, labels_layer.scale))
    labels_layer.visible = False
    viewer.layers.selection.active = layer
    layer.mode = "paint"
    return layer


@dataclass(frozen=True)
class AcceptRequest:
    """Everything Accept needs, detached from the layers (arrays are copies).

    ``image`` is the scan (added to the store when ``case_id`` is None); ``prediction`` the
    model's labels when they are not in the store yet (``model`` names the model), or labels read
    from a file (``provenance`` says where they came from); ``base_version`` a stored version the
    labels were corrected from.
    """

    store_path: str | None
    labels: np.ndarray
    image: Volume
    case_id: str | None = None
    prediction: np.ndarray | None = None
    model: str | None = None
    base_version: str | None = None
    metadata: CaseMetadata = field(default_factory=CaseMetadata)
    provenance: str | None = None
    note: str = "corrected in napari"


@dataclass(frozen=True)
class AcceptResult:
    """What Accept wrote: the case (and whether it was added now), the versions, the store folder."""

    store_root: Path
    case_id: str
    case_added: bool
    predicted: LabelVersion | None
    accepted: LabelVersion

    def summary(self) -> str:
        """One line for the status label."""
        edits = self.accepted.edits
        added = "added to the store and " if self.case_added else ""
        return (f"case {self.case_id} {added}accepted with version {self.accepted.id} "
                f"({self.accepted.provenance}): {edits.changed_voxels:,} voxels changed on "
                f"{len(edits.slices_touched)} slice(s)")


def accept_request(store: Store, request: AcceptRequest) -> AcceptResult:
    """Write the case (if new), the prediction and the correction as label versions, and accept."""
    case_id, added = request.case_id, False
    if case_id is None:
        try:
            case_id = store.add_case(request.image, metadata=request.metadata, source_name=request.image.name).id
            added = True
        except DuplicateCaseError as duplicate:
            case_id = duplicate.case_id
    parent, predicted = request.base_version, None
    if parent is None and request.prediction is not None and (request.model or request.provenance):
        origin = f"predicted:{model_reference(request.model)}" if request.model else request.provenance
        predicted = store.add_label_version(case_id, request.prediction, provenance=origin)
        parent = predicted.id
    provenance = f"corrected:{parent}" if parent else "manual"
    if predicted is not None and np.array_equal(request.labels, request.prediction):
        accepted = predicted  # accepted as predicted: no second, identical version
    else:
        accepted = store.add_label_version(case_id, request.labels, provenance=provenance, note=request.note)
    store.accept(case_id, accepted.id)
    return AcceptResult(store.root, case_id, added, predicted, accepted)


def accept_in_store(request: AcceptRequest) -> AcceptResult:
    """Open (or create) the store and run :func:`accept_request` (called on a worker thread)."""
    with Store.open(request.store_path, create=True) as store:
        return accept_request(store, request)


# ---- recovery ------------------------------------------------------------------------------------


def recovery_key_fields(layer: Any) -> dict[str, str]:
    """``case_id=...`` when the layer's scan is in the store, else ``source=<scan path>``, or
    ``source=memory:<layer>`` for a scan without a file (sample data, a layer made in napari)."""
    case_id = layer.metadata.get(CASE)
    if case_id:
        return {"case_id": str(case_id)}
    path = volume_of(layer).geometry.path
    return {"source": str(path) if path else f"{MEMORY_PREFIX}{layer.metadata.get(CORRECTS) or layer.name}"}


def autosave_layer(area: RecoveryArea, layer: Any, labels: np.ndarray) -> RecoveryEntry:
    """Autosave ``labels`` (a copy of the layer's voxels) under the layer's case or source."""
    details = {"layer": layer.name, "corrects": layer.metadata.get(CORRECTS), "model": layer.metadata.get(MODEL),
               "image": layer.metadata.get(IMAGE)}
    return area.save(labels, base_version=layer.metadata.get(VERSION), spacing=tuple(volume_of(layer).spacing),
                     details={k: v for k, v in details.items() if v is not None}, **recovery_key_fields(layer))


def recovered_layer_kwargs(entry: RecoveryEntry, volume: Volume) -> dict[str, Any]:
    """``add_labels`` keyword arguments of a restored correction on ``volume``'s grid."""
    metadata: dict[str, Any] = {VOLUME: volume, CORRECTS: entry.details.get("corrects") or "recovered"}
    for key, value in ((CASE, entry.case_id), (VERSION, entry.base_version), (MODEL, entry.details.get("model")),
                       (IMAGE, entry.details.get("image"))):
        if value:
            metadata[key] = value
    name = entry.details.get("layer") or "recovered correction"
    return muscle_labels_kwargs(f"{name} (recovered)", metadata, volume.spacing)


def restore_entry(viewer: Any, area: RecoveryArea, entry: RecoveryEntry, store_path: str | None) -> Any:
    """Open a recovered correction as a labels layer over its scan (opened too when it is not).

    The scan is the layer already showing the case or file, else the store's image of the case,
    else the source file; an unsaved scan (sample data, a layer made in napari) must be open
    with the same grid. The recovery file stays until Accept or Discard."""
    from legseg_core.recovery import RecoveryError

    image_layer = _open_scan_layer(viewer, entry)
    if image_layer is not None:
        volume = volume_of(image_layer)
    else:
        volume = _load_scan(entry, store_path)
        if volume is None:
            raise RecoveryError(f"the scan of {entry.description} is not open and cannot be found; open it "
                                "(with the same grid) and restore again")
        viewer.add_image(volume.data, name=unique_name(viewer, volume.name), scale=volume.spacing, colormap="gray",
                         metadata={VOLUME: volume, **({CASE: entry.case_id} if entry.case_id else {})})
    _, labels = area.restore(entry, expected_shape=tuple(volume.shape))
    kwargs = recovered_layer_kwargs(entry, volume)
    kwargs["name"] = unique_name(viewer, kwargs["name"])
    return viewer.add_labels(labels, **kwargs)


def _open_scan_layer(viewer: Any, entry: RecoveryEntry) -> Any | None:
    from legseg_napari._layers import NOT_A_SCAN, layers_of_kind

    images = [layer for layer in layers_of_kind(viewer, "image") if not any(layer.metadata.get(k) for k in NOT_A_SCAN)]
    for layer in images:
        if entry.case_id and layer.metadata.get(CASE) == entry.case_id:
            return layer
        path = volume_of(layer).geometry.path
        if entry.source and path and str(Path(path).absolute()) == entry.source:
            return layer
    same_grid = [layer for layer in images if tuple(np.shape(layer.data)) == entry.shape]
    named = [layer for layer in same_grid if layer.name == entry.details.get("image")]
    return (named or same_grid or [None])[0] if not entry.case_id else None


def _load_scan(entry: RecoveryEntry, store_path: str | None) -> Volume | None:
    from legseg_core.io import load_volume
    from legseg_core.store import StoreError

    if entry.case_id:
        try:
            with Store.open(store_path) as store:
                return store.load_image(entry.case_id)
        except StoreError:
            return None
    if entry.source and not entry.source.startswith(MEMORY_PREFIX) and Path(entry.source).exists():
        return load_volume(entry.source)
    return None
