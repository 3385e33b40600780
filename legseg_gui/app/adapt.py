"""The open case as a :class:`~legseg_core.adapt.job.CaseAdaptation`: what the adapt panel learns from.

The baseline is the case's newest predicted label version (what the expert started correcting),
else the labels the editor opened with; the model is the store's active one, else the shipped
starter U-Net; the adapted model is kept beside the case's autosaved draft in the store's
recovery folder (``case-<id>.adapted.pt``), never registered.
"""

from __future__ import annotations

from typing import Any

from legseg_core.adapt.job import CaseAdaptation, adapted_model_path
from legseg_core.recovery import entry_key, recovery_folder

STARTER_MODEL = "unet-lite-starter"


def case_adaptation(session: Any) -> CaseAdaptation:
    """The adaptation state of a :class:`~legseg_gui.app.session.CaseSession`."""
    from legseg_core.training.registry import ModelRegistry

    predicted = [v for v in session.versions() if v.provenance.startswith("predicted")]
    baseline = session.labels_of(predicted[-1].id) if predicted else session.editor.labels
    active = ModelRegistry(session.store).active()
    model, store = ("active", str(session.store.root)) if active is not None else (STARTER_MODEL, None)
    path = adapted_model_path(recovery_folder(session.store.root), entry_key(case_id=session.case_id))
    return CaseAdaptation(session.image, baseline, model, path, store=store)
