"""Segmenting scans under review: the long work that the application and napari run off the UI thread.

Pure Python (no Qt): each function is a progress generator (see :mod:`legseg_core.progress`).
:func:`segmentation_work` resolves the chosen model to a file, loads it with
:class:`legseg_core.inference.Segmenter` on the chosen device and segments the scan, yielding
progress per batch of patches; :func:`segment_and_store` also writes the prediction to the
store; :func:`segment_cases_work` segments a batch of store cases with one model load. Torch
is imported on the worker thread, never at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from legseg_core.errors import ModelError
from legseg_core.io import Volume
from legseg_core.progress import Progress, ProgressWork, share
from legseg_core.review.session import store_prediction
from legseg_core.store.records import LabelVersion

if TYPE_CHECKING:
    from legseg_core.inference import Segmentation, Segmenter
    from legseg_core.review.session import CaseSession
    from legseg_core.store import Store


class ModelChoice(Protocol):
    """A model the user chose to segment with: ``name`` is what the provenance records
    (``predicted:<name>``), ``model_id`` the registered model (None for a file)."""

    @property
    def name(self) -> str: ...

    @property
    def model_id(self) -> str | None: ...

    def resolve(self, store: Store | None = None) -> Path:
        """The model file to load."""
        ...


def load_segmenter(path: str | Path, device: str) -> Segmenter:
    """A :class:`legseg_core.inference.Segmenter` for a model file on a device ('auto' picks one)."""
    try:
        from legseg_core.inference import Segmenter
    except ImportError as error:
        raise ModelError(f"segmentation is not available in this installation: {error}") from None
    return Segmenter(path, device=None if device in ("", "auto") else device)


def segmentation_work(image: Volume, choice: ModelChoice, device: str,
                      store: Store | None = None) -> ProgressWork[Segmentation]:
    """Segment ``image`` (``[z, y, x]``) with the chosen model; returns the Segmentation
    (labels uint8 ``[z, y, x]``, uncertainty map, uncertainty score)."""
    yield Progress(0, 0, f"loading {choice.name}")
    path = choice.resolve(store)
    segmenter = load_segmenter(path, device)
    yield Progress(0, 0, f"segmenting with {choice.name} on {getattr(segmenter, 'device', device)}")
    segmentation = yield from segmenter.segment_steps(image)
    return segmentation


@dataclass(frozen=True)
class StoredPrediction:
    """A segmentation and the label version (``predicted:<model>``) it was stored as."""

    segmentation: Segmentation
    version: LabelVersion


def segment_and_store(session: CaseSession, choice: ModelChoice, device: str, *,
                      author: str | None = None) -> ProgressWork[StoredPrediction]:
    """Segment a session's scan and write the prediction and its quality report to the store (off the UI
    thread). The editor is left alone: the UI thread adopts the result."""
    segmentation = yield from segmentation_work(session.image, choice, device, session.store)
    yield Progress(1, 1, "saving the prediction in the store")
    version = session.store_prediction(segmentation.labels, choice.name,
                                       uncertainty_score=getattr(segmentation, "uncertainty_score", None),
                                       author=author)
    store_quality(session.store, version.id, segmentation, session.image.spacing)
    return StoredPrediction(segmentation, version)


def store_quality(store: Store, version_id: str, segmentation: Segmentation,
                  spacing: tuple[float, float, float]) -> Any:
    """Check a stored prediction (:func:`legseg_core.evaluation.qc.check_segmented`) and keep the report with its
    label version, where the worklist reads it; returns the stored report."""
    from legseg_core.evaluation.qc import check_segmented
    from legseg_core.store.quality import record_quality

    return record_quality(store, version_id, check_segmented(segmentation, spacing))


def segment_cases_work(store: Store, case_ids: list[str], choice: ModelChoice, device: str, *,
                       author: str | None = None) -> ProgressWork[dict[str, LabelVersion]]:
    """Segment several store cases with one model (loaded once) and store each prediction with its
    uncertainty score and quality report; returns case id -> label version. Progress counts cases (fractions
    within one)."""
    yield Progress(0, len(case_ids), f"loading {choice.name}")
    segmenter = load_segmenter(choice.resolve(store), device)
    stored: dict[str, LabelVersion] = {}
    for index, case_id in enumerate(case_ids):
        prefix = f"case {index + 1}/{len(case_ids)} ({case_id})"
        steps = segmenter.segment_steps(store.load_image(case_id))
        segmentation = yield from share(steps, index, len(case_ids), prefix, {"case": case_id})
        stored[case_id] = store_prediction(store, case_id, segmentation.labels, choice.name,
                                           uncertainty_score=segmentation.uncertainty_score, author=author)
        store_quality(store, stored[case_id].id, segmentation, store.case(case_id).spacing)
        yield Progress(index + 1, len(case_ids), f"{prefix}: stored", {"case": case_id, "stored": True})
    yield Progress(len(case_ids), len(case_ids), f"segmented {len(case_ids)} case(s)")
    return stored
