"""The review workflow, shared by the LegSeg application and the napari plugin (no Qt, no napari).

- :mod:`~legseg_core.review.session`: open a store case, edit its labels, save a draft, accept;
- :mod:`~legseg_core.review.segment`: segment a scan (and store the prediction) as long work;
- :mod:`~legseg_core.review.accept`: accept reviewed labels with their provenance, as one request
  that runs on a worker thread and returns an :class:`~legseg_core.review.accept.AcceptResult`;
- :mod:`~legseg_core.review.finetune`: what fine-tuning would learn from, and its process command.

Both hosts keep only widgets: they build requests on the UI thread, run the work here on a
worker thread, and show the typed results.
"""

from __future__ import annotations

from legseg_core.review.accept import AcceptRequest, AcceptResult, accept_in_store, accept_request, save_draft_request
from legseg_core.review.session import EDIT, CaseSession, LabelSource, default_review_pair, store_prediction

__all__ = ["EDIT", "AcceptRequest", "AcceptResult", "CaseSession", "LabelSource", "accept_in_store", "accept_request",
           "default_review_pair", "save_draft_request", "store_prediction"]
