"""The case under review: its store record, scan, the labels being edited, and saving.

Pure Python (no Qt), so its rules are tested without a window. A :class:`CaseSession` holds
a store case, its segmentation image (a canonical ``[z, y, x]`` Volume), a
:class:`~legseg_core.editing.LabelEditor` on a copy of the *base* label version (the accepted
one, else the newest, else empty labels), and the other label maps the review panel can
compare (store versions, files, the current edit).

Saving follows the store's provenance rules:

- a segmentation is saved at once as ``predicted:<model id>`` and becomes the base;
- accepting unchanged labels accepts the base version (no duplicate is written);
- accepting changed labels writes ``corrected:<base version>`` (or ``manual`` when there was no
  base) with the author, then marks it accepted; the store records the edit statistics;
- labels loaded from a file keep the provenance they came with
  (:func:`legseg_core.store.provenance.label_file_provenance`: ``predicted:<model>`` for a
  ``legseg segment`` output, else ``imported:<file name>``): the first save stores them as they
  came, and only what was changed in the application after that is ``corrected:<that version>``.

Accepting is :func:`legseg_core.review.accept.accept_request`, shared with the napari plugin, and
saving a draft :func:`~legseg_core.review.accept.save_draft_request`: :meth:`CaseSession.save_request`
snapshots the labels on the UI thread, the request runs on a worker thread, and
:meth:`CaseSession.adopt_accepted` (or :meth:`CaseSession.adopt_saved`) takes the result back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from legseg_core.editing import LabelEditor
from legseg_core.io import Volume
from legseg_core.review.accept import AcceptRequest, AcceptResult, accept_request, save_draft_request
from legseg_core.store.provenance import provenance_reference
from legseg_core.store.records import CaseRecord, LabelVersion

if TYPE_CHECKING:
    from legseg_core.store import Store

log = logging.getLogger(__name__)

#: The key of the labels being edited among the label sources.
EDIT = "edit"
UNCERTAINTY_KEY = "uncertainty_score"
UNCERTAINTY_MODEL_KEY = "uncertainty_model"


@dataclass(frozen=True)
class LabelSource:
    """A label map the review panel can choose: the current edit, a store version, or a file."""

    key: str
    title: str
    provenance: str = ""


def default_review_pair(versions: Sequence[LabelVersion], base_id: str | None) -> tuple[str, str]:
    """(reference key, prediction key) shown first: a manual or corrected version against the edit when one
    exists besides the base, else the edit against the newest prediction."""
    others = [v for v in versions if v.id != base_id and not v.provenance.startswith("predicted")]
    if others:
        return others[-1].id, EDIT
    predicted = [v for v in versions if v.provenance.startswith("predicted")]
    return EDIT, (predicted[-1].id if predicted else EDIT)


def store_prediction(store: Store, case_id: str, labels: np.ndarray, model_name: str, *,
                     uncertainty_score: float | None = None, author: str | None = None) -> LabelVersion:
    """Write a segmentation ``[z, y, x]`` to the store as ``predicted:<model>``, and its uncertainty score as the
    case's ``uncertainty_score`` metadata (what the worklist sorts by); returns the label version."""
    model = provenance_reference(model_name)
    version = store.add_label_version(case_id, labels, provenance=f"predicted:{model}", author=author)
    if uncertainty_score is not None and np.isfinite(uncertainty_score):
        extra = {**store.case(case_id).metadata.extra, UNCERTAINTY_KEY: round(float(uncertainty_score), 6),
                 UNCERTAINTY_MODEL_KEY: model}
        store.update_metadata(case_id, extra=extra, author=author)
    return version


class CaseSession:
    """One case under review: ``store`` is a :class:`~legseg_core.store.Store`, ``case`` its record."""

    def __init__(self, store: Store, case: CaseRecord, image: Volume, *, base_version: str | None = None,
                 labels: np.ndarray | None = None) -> None:
        self.store, self.case, self.image = store, case, image
        self.base_version = base_version
        self.uncertainty: np.ndarray | None = None
        self._files: dict[str, tuple[LabelSource, np.ndarray]] = {}
        self._cache: dict[str, np.ndarray] = {}
        self._loaded: tuple[str, np.ndarray] | None = None  # labels from a file, not stored yet: (provenance, labels)
        start = store.load_labels(base_version) if base_version else np.zeros(image.shape, np.uint8)
        self.editor = LabelEditor(np.array(start, dtype=np.uint8, copy=True), spacing=image.spacing)
        if labels is not None:  # labels from outside the store are unsaved edits of the base
            self.editor.replace_all(labels, "import")

    @classmethod
    def open(cls, store: Store, case_id: str) -> CaseSession:
        """Open a store case on its accepted version, else its newest one, else empty labels."""
        case = store.case(case_id)
        base = case.accepted_version or case.latest_version
        return cls(store, case, store.load_image(case.id), base_version=base)

    # ---- state -----------------------------------------------------------------------------------

    @property
    def case_id(self) -> str:
        return self.case.id

    @property
    def dirty(self) -> bool:
        """True when the edited labels differ from the base version (or were never saved)."""
        return self.editor.dirty

    def versions(self) -> list[LabelVersion]:
        """The case's label versions, oldest first."""
        return self.store.history(self.case.id)

    def label_sources(self) -> list[LabelSource]:
        """What the review panel can compare: the edit, each store version (newest first), each file."""
        sources = [LabelSource(EDIT, "current labels (editing)")]
        for version in reversed(self.versions()):
            marks = " ✓" if version.id == self.case.accepted_version else ""
            sources.append(LabelSource(version.id, f"{version.id} · {version.provenance} · {version.author}{marks}",
                                       version.provenance))
        sources += [source for source, _ in self._files.values()]
        return sources

    def default_review_pair(self) -> tuple[str, str]:
        """(reference, prediction) keys shown first (see :func:`default_review_pair`)."""
        return default_review_pair(self.versions(), self.base_version)

    def labels_of(self, key: str) -> np.ndarray:
        """The ``[z, y, x]`` labels of a source: the live edited array for :data:`EDIT`, else a read-only copy."""
        if key == EDIT:
            return self.editor.labels
        if key in self._files:
            return self._files[key][1]
        if key not in self._cache:
            labels = self.store.load_labels(key)
            labels.setflags(write=False)
            self._cache[key] = labels
        return self._cache[key]

    def add_label_file(self, name: str, labels: np.ndarray) -> str:
        """Offer labels read from a file (on the scan's grid) to the review panel; returns their key."""
        key = f"file:{name}"
        array = np.array(labels, dtype=np.uint8, copy=True)
        array.setflags(write=False)
        self._files[key] = (LabelSource(key, f"{name} (file)", "file"), array)
        return key

    # ---- saving ------------------------------------------------------------------------------------

    def save_prediction(self, labels: np.ndarray, model_name: str, *, uncertainty: np.ndarray | None = None,
                        uncertainty_score: float | None = None, author: str | None = None) -> LabelVersion:
        """Store a segmentation as ``predicted:<model>``, make it the base and the edited labels; its version."""
        version = self.store_prediction(labels, model_name, uncertainty_score=uncertainty_score, author=author)
        self.adopt_prediction(version, labels, uncertainty=uncertainty)
        return version

    def store_prediction(self, labels: np.ndarray, model_name: str, *, uncertainty_score: float | None = None,
                         author: str | None = None) -> LabelVersion:
        """:func:`store_prediction` for this case; touches no editor state, so a worker thread may call it."""
        return store_prediction(self.store, self.case.id, labels, model_name, uncertainty_score=uncertainty_score,
                                author=author)

    def adopt_prediction(self, version: LabelVersion, labels: np.ndarray, *, uncertainty: np.ndarray | None = None) -> None:
        """Make a stored prediction the base and the edited labels (in place; history cleared)."""
        self.uncertainty = uncertainty
        self._rebase(version.id, labels)

    def load_labels_file(self, labels: np.ndarray, provenance: str) -> None:
        """Put labels read from a file into the editor as unsaved edits; saving stores them first as they came,
        with ``provenance`` (``predicted:<model>`` or ``imported:<file name>``)."""
        self._loaded = (provenance, np.array(labels, dtype=np.uint8, copy=True))
        self.editor.replace_all(labels, "import")

    def save_draft(self, *, author: str | None = None, note: str = "") -> LabelVersion | None:
        """Store the edited labels as a new version without accepting it; None when nothing changed."""
        if not self.dirty:
            return None
        request = self.save_request(author=author, note=note)
        return self.adopt_saved(request, save_draft_request(self.store, request))

    def accept(self, *, author: str | None = None) -> LabelVersion:
        """Accept the edited labels now: store them first if they changed, then mark that version accepted."""
        request = self.save_request(author=author)
        return self.adopt_accepted(request, accept_request(self.store, request))

    def save_request(self, *, author: str | None = None, note: str = "") -> AcceptRequest:
        """What :meth:`accept` or :meth:`save_draft` stores, with a copy of the labels: run it on a worker
        thread with :func:`~legseg_core.review.accept.accept_request` (or ``save_draft_request``), then give
        the result to :meth:`adopt_accepted` (or :meth:`adopt_saved`). Edited labels loaded from a file go
        with the file's labels and provenance, which are stored first, as they came."""
        labels = self.editor.labels.copy()
        if self._loaded is not None and self.dirty:
            provenance, loaded = self._loaded
            return AcceptRequest(labels=labels, case_id=self.case.id, prediction=loaded, provenance=provenance,
                                 author=author, note=note)
        return AcceptRequest(labels=labels, case_id=self.case.id, base_version=self.base_version,
                             unchanged=self.base_version is not None and not self.dirty, author=author, note=note)

    def adopt_accepted(self, request: AcceptRequest, result: AcceptResult) -> LabelVersion:
        """Make the accepted version the base; edits made since ``request`` was taken stay unsaved."""
        self.adopt_saved(request, result.accepted)
        return result.accepted

    def adopt_saved(self, request: AcceptRequest, version: LabelVersion | None) -> LabelVersion | None:
        """Make a version stored from ``request`` the base (none: nothing was written); edits made since
        ``request`` was taken stay unsaved."""
        if version is not None:
            if request.provenance is not None:
                self._loaded = None  # the file's labels are in the store now
            self.base_version = version.id
            self._cache.pop(version.id, None)
            if np.array_equal(self.editor.labels, request.labels):
                self.editor.mark_saved()
        self.case = self.store.case(self.case.id)
        return version

    def _rebase(self, version_id: str, labels: np.ndarray) -> None:
        self.base_version = version_id
        self._cache.pop(version_id, None)
        self.editor.labels[...] = labels  # in place: views and trackers keep the same array
        self.editor.reset()
        self.case = self.store.case(self.case.id)
