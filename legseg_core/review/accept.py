"""Accepting reviewed labels into the store: the one accept workflow of the application and napari.

Accept turns reviewed labels (uint8 ``[z, y, x]`` on the scan's grid) into label versions of a
store case, following the store's provenance rules:

1. the case: ``case_id``, or the scan added now with the user's metadata (an image already in
   the store is found by its checksum and reused);
2. the prediction, as a version with provenance ``predicted:<model>`` -- or, for labels read
   from a file, the provenance the file came with (``predicted:<model>`` or ``imported:<file
   name>``) -- when it is not in the store yet (unless the labels were corrected from a stored
   version, which is then the parent);
3. the labels, as a version with provenance ``corrected:<parent>`` (``manual`` without a parent)
   with the author and a note; the store records the per-muscle voxels added and removed and
   the slices touched against the parent. Labels equal to the prediction just written, or
   marked ``unchanged`` against their stored parent, add no second, identical version;
4. the case is accepted with that version.

:func:`accept_request` takes plain data (an :class:`AcceptRequest` built on the UI thread with
copies of the arrays), so both hosts run it on a worker thread, and returns an
:class:`AcceptResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from legseg_core.errors import StoreError
from legseg_core.io import Volume
from legseg_core.store.provenance import provenance_reference
from legseg_core.store.records import CaseMetadata, LabelVersion

if TYPE_CHECKING:
    from legseg_core.store import Store

#: The note of a version stored as it was read from a label file.
LOADED_NOTE = "loaded from a file"


@dataclass(frozen=True)
class AcceptRequest:
    """Everything Accept needs, detached from any widget (arrays are copies).

    ``labels`` are the reviewed labels. ``case_id`` names the store case; without it ``image``
    is added to the store with ``metadata``. ``prediction`` holds a model's labels that are not
    in the store yet (``model`` names the model), or labels read from a file (``provenance`` says
    where they came from); ``base_version`` a stored version the labels were corrected from, and
    ``unchanged`` says they are still equal to it.
    """

    labels: np.ndarray
    case_id: str | None = None
    image: Volume | None = None
    store_path: str | None = None
    prediction: np.ndarray | None = None
    model: str | None = None
    base_version: str | None = None
    unchanged: bool = False
    provenance: str | None = None
    metadata: CaseMetadata = field(default_factory=CaseMetadata)
    author: str | None = None
    note: str = ""


@dataclass(frozen=True)
class AcceptResult:
    """What Accept wrote: the case (and whether it was added now), the versions, the store folder."""

    store_root: Path
    case_id: str
    case_added: bool
    predicted: LabelVersion | None
    accepted: LabelVersion

    def summary(self) -> str:
        """One line for a status label."""
        edits = self.accepted.edits
        added = "added to the store and " if self.case_added else ""
        return (f"case {self.case_id} {added}accepted with version {self.accepted.id} "
                f"({self.accepted.provenance}): {edits.changed_voxels:,} voxels changed on "
                f"{len(edits.slices_touched)} slice(s)")


def accept_request(store: Store, request: AcceptRequest) -> AcceptResult:
    """Write the case (if new), the prediction and the reviewed labels as label versions, and accept."""
    case_id, added = _case_of(store, request)
    predicted, written = _write_labels(store, case_id, request, refuse_empty=True)
    accepted = written or store.version(str(request.base_version))  # unchanged: the base is accepted
    store.accept(case_id, accepted.id, author=request.author)
    return AcceptResult(store.root, case_id, added, predicted, accepted)


def save_draft_request(store: Store, request: AcceptRequest) -> LabelVersion | None:
    """Store the reviewed labels as a new version without accepting it (the case must be in the store);
    None when they are unchanged against their base."""
    if request.case_id is None:
        raise StoreError("a draft is saved to a store case; add the scan to the store first")
    return _write_labels(store, request.case_id, request, refuse_empty=False)[1]


def _write_labels(store: Store, case_id: str, request: AcceptRequest, *,
                  refuse_empty: bool) -> tuple[LabelVersion | None, LabelVersion | None]:
    """(the prediction written now, the version that holds the labels); the latter is None when they are
    unchanged against their base, and the prediction itself when they equal it."""
    parent, predicted, prediction = request.base_version, None, request.prediction
    if parent is None and prediction is not None and (request.model or request.provenance):
        if request.model:
            origin, note = f"predicted:{provenance_reference(request.model)}", ""
        else:
            origin, note = str(request.provenance), LOADED_NOTE
        predicted = store.add_label_version(case_id, prediction, provenance=origin, author=request.author,
                                            note=note)
        parent = predicted.id
    if predicted is not None and prediction is not None and np.array_equal(request.labels, prediction):
        return predicted, predicted  # accepted as predicted: no second, identical version
    if parent is not None and request.unchanged:
        return None, None
    if refuse_empty and parent is None and not request.labels.any():
        raise StoreError(f"{case_id}: there are no labels to accept; segment the scan or draw first")
    version = store.add_label_version(case_id, request.labels, author=request.author, note=request.note,
                                      provenance=f"corrected:{parent}" if parent else "manual")
    return predicted, version


def accept_in_store(request: AcceptRequest) -> AcceptResult:
    """Open (or create) the store at ``request.store_path`` and run :func:`accept_request` (worker thread)."""
    from legseg_core.store import Store

    with Store.open(request.store_path, create=True) as store:
        return accept_request(store, request)


def _case_of(store: Store, request: AcceptRequest) -> tuple[str, bool]:
    """The request's case id, and whether its scan was added to the store now."""
    if request.case_id is not None:
        return request.case_id, False
    if request.image is None:
        raise StoreError("accept needs a store case or the scan to add to the store")
    from legseg_core.store import DuplicateCaseError

    try:
        case = store.add_case(request.image, metadata=request.metadata, source_name=request.image.name,
                              author=request.author)
    except DuplicateCaseError as duplicate:
        return duplicate.case_id, False
    return case.id, True
