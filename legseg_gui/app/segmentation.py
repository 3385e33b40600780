"""Segmenting the open scan: the long work that runs in the application's worker thread.

Pure Python (no Qt): :func:`segmentation_work` is a progress generator (see
:mod:`legseg_core.progress`) that resolves the chosen model to a file, loads it with
:class:`legseg_core.inference.Segmenter` on the chosen device and segments the scan, yielding
progress per batch of patches. Torch is imported here, on the worker thread, never at start-up.
"""

from __future__ import annotations

from typing import Any

from legseg_core.errors import ModelError
from legseg_core.io import Volume
from legseg_core.progress import Progress, ProgressWork


def load_segmenter(path: Any, device: str) -> Any:
    """A :class:`legseg_core.inference.Segmenter` for a model file on a device ('auto' picks one)."""
    try:
        from legseg_core.inference import Segmenter
    except ImportError as error:
        raise ModelError(f"segmentation is not available in this installation: {error}") from None
    return Segmenter(path, device=None if device in ("", "auto") else device)


def segmentation_work(image: Volume, choice: Any, device: str, store: Any = None) -> ProgressWork[Any]:
    """Segment ``image`` (``[z, y, x]``) with the chosen model (a ModelChoice); returns the Segmentation
    (labels uint8 ``[z, y, x]``, uncertainty map, uncertainty score)."""
    yield Progress(0, 0, f"loading {choice.name}")
    path = choice.resolve(store)
    segmenter = load_segmenter(path, device)
    yield Progress(0, 0, f"segmenting with {choice.name} on {getattr(segmenter, 'device', device)}")
    segmentation = yield from segmenter.segment_steps(image)
    return segmentation


def segment_and_store(session: Any, choice: Any, device: str, *, author: str | None = None) -> ProgressWork[Any]:
    """Segment a session's scan and write the prediction and its quality report to the store (off the UI thread);
    returns ``(segmentation, label version)``. The editor is left alone: the UI thread adopts the result."""
    segmentation = yield from segmentation_work(session.image, choice, device, session.store)
    yield Progress(1, 1, "saving the prediction in the store")
    version = session.store_prediction(segmentation.labels, choice.name,
                                       uncertainty_score=getattr(segmentation, "uncertainty_score", None),
                                       author=author)
    store_quality(session.store, version.id, segmentation, session.image.spacing)
    return segmentation, version


def store_quality(store: Any, version_id: str, segmentation: Any, spacing: tuple[float, float, float]) -> Any:
    """Check a stored prediction (:func:`legseg_core.evaluation.qc.check_segmented`) and keep the report with its
    label version, where the worklist reads it; returns the stored report."""
    from legseg_core.evaluation.qc import check_segmented
    from legseg_core.store.quality import record_quality

    return record_quality(store, version_id, check_segmented(segmentation, spacing))


def segment_cases_work(store: Any, case_ids: list[str], choice: Any, device: str, *,
                       author: str | None = None) -> ProgressWork[dict[str, Any]]:
    """Segment several store cases with one model (loaded once) and store each prediction with its
    uncertainty score and quality report; returns case id -> label version. Progress counts cases (fractions
    within one)."""
    from legseg_gui.app.session import store_prediction

    yield Progress(0, len(case_ids), f"loading {choice.name}")
    segmenter = load_segmenter(choice.resolve(store), device)
    stored: dict[str, Any] = {}
    for index, case_id in enumerate(case_ids):
        prefix = f"case {index + 1}/{len(case_ids)} ({case_id})"
        steps = segmenter.segment_steps(store.load_image(case_id))
        while True:
            try:
                event = next(steps)
            except StopIteration as stop:
                segmentation = stop.value
                break
            yield Progress(index + event.fraction, len(case_ids), f"{prefix}: {event.message}", {"case": case_id})
        stored[case_id] = store_prediction(store, case_id, segmentation.labels, choice.name,
                                           uncertainty_score=segmentation.uncertainty_score, author=author)
        store_quality(store, stored[case_id].id, segmentation, store.case(case_id).spacing)
        yield Progress(index + 1, len(case_ids), f"{prefix}: stored", {"case": case_id, "stored": True})
    yield Progress(len(case_ids), len(case_ids), f"segmented {len(case_ids)} case(s)")
    return stored
