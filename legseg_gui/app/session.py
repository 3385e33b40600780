"""The case open in the application: its store record, scan, the labels being edited, and saving.

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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from legseg_core.editing import LabelEditor
from legseg_core.errors import StoreError
from legseg_core.io import Volume
from legseg_core.store.provenance import provenance_reference

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




def default_review_pair(versions: list[Any], base_id: str | None) -> tuple[str, str]:
    """(reference key, prediction key) shown first: a manual or corrected version against the edit when one
    exists besides the base, else the edit against the newest prediction."""
    others = [v for v in versions if v.id != base_id and not v.provenance.startswith("predicted")]
    if others:
        return others[-1].id, EDIT
    predicted = [v for v in versions if v.provenance.startswith("predicted")]
    return EDIT, (predicted[-1].id if predicted else EDIT)


def store_prediction(store: Any, case_id: str, labels: np.ndarray, model_name: str, *,
                     uncertainty_score: float | None = None, author: str | None = None) -> Any:
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

    def __init__(self, store: Any, case: Any, image: Volume, *, base_version: str | None = None,
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
    def open(cls, store: Any, case_id: str) -> "CaseSession":
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

    def versions(self) -> list[Any]:
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
                        uncertainty_score: float | None = None, author: str | None = None) -> Any:
        """Store a segmentation as ``predicted:<model>``, make it the base and the edited labels; its version."""
        version = self.store_prediction(labels, model_name, uncertainty_score=uncertainty_score, author=author)
        self.adopt_prediction(version, labels, uncertainty=uncertainty)
        return version

    def store_prediction(self, labels: np.ndarray, model_name: str, *, uncertainty_score: float | None = None,
                         author: str | None = None) -> Any:
        """:func:`store_prediction` for this case; touches no editor state, so a worker thread may call it."""
        return store_prediction(self.store, self.case.id, labels, model_name, uncertainty_score=uncertainty_score,
                                author=author)

    def adopt_prediction(self, version: Any, labels: np.ndarray, *, uncertainty: np.ndarray | None = None) -> None:
        """Make a stored prediction the base and the edited labels (in place; history cleared)."""
        self.uncertainty = uncertainty
        self._rebase(version.id, labels)

    def load_labels_file(self, labels: np.ndarray, provenance: str) -> None:
        """Put labels read from a file into the editor as unsaved edits; saving stores them first as they came,
        with ``provenance`` (``predicted:<model>`` or ``imported:<file name>``)."""
        self._loaded = (provenance, np.array(labels, dtype=np.uint8, copy=True))
        self.editor.replace_all(labels, "import")

    def save_draft(self, *, author: str | None = None, note: str = "") -> Any | None:
        """Store the edited labels as a new version without accepting it; None when nothing changed."""
        if not self.dirty:
            return None
        loaded = self._store_loaded(author)
        if loaded is not None and np.array_equal(self.editor.labels, self.store.load_labels(loaded.id)):
            self._rebase(loaded.id)
            return loaded
        version = self.store.add_label_version(self.case.id, self.editor.labels.copy(),
                                               provenance=self._edit_provenance(), author=author, note=note)
        self._rebase(version.id)
        return version

    def accept(self, *, author: str | None = None) -> Any:
        """Accept the edited labels: store them first if they changed, then mark that version accepted."""
        version_id = self.base_version
        if self.dirty or version_id is None:
            if not self.editor.labels.any() and version_id is None:
                raise StoreError(f"{self.case.id}: there are no labels to accept; segment the scan or draw first")
            version_id = self.save_draft(author=author).id  # type: ignore[union-attr]
        self.store.accept(self.case.id, version_id, author=author)
        self.case = self.store.case(self.case.id)
        return self.store.version(version_id)

    def _store_loaded(self, author: str | None) -> Any | None:
        """Store labels loaded from a file as they came, as the new base (their edits follow as corrections)."""
        if self._loaded is None:
            return None
        provenance, labels = self._loaded
        self._loaded = None
        version = self.store.add_label_version(self.case.id, labels, provenance=provenance, author=author,
                                               note="loaded from a file")
        self.base_version = version.id
        return version

    def _edit_provenance(self) -> str:
        return f"corrected:{self.base_version}" if self.base_version else "manual"

    def _rebase(self, version_id: str, labels: np.ndarray | None = None) -> None:
        self.base_version = version_id
        self._cache.pop(version_id, None)
        if labels is not None:  # in place: views and trackers keep the same array
            self.editor.labels[...] = labels
            self.editor.reset()
        else:
            self.editor.mark_saved()
        self.case = self.store.case(self.case.id)
