"""Where a label file came from, so that it enters the store with a true provenance.

``legseg segment`` writes ``legseg predicted:<model>`` into the NIfTI header's ``descrip`` field
of every label file (:func:`prediction_description`; ``<model>`` is the shipped name of a starter
model, else the model's id). :func:`label_file_provenance` reads it back: such a file is
``predicted:<model>``; any other label file -- drawn in another tool, or written without that
field -- is ``imported:<file name>``. Only edits made in the application or napari become
``manual`` or ``corrected:<version>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from legseg_core.store.records import Provenance

#: The start of the NIfTI ``descrip`` field of a label file written by ``legseg segment``.
PREDICTION_PREFIX = "legseg predicted:"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+-]+")


def provenance_reference(name: str, fallback: str = "model") -> str:
    """A name as a provenance reference: letters, digits and ``_.:+-``, at most 100 characters."""
    text = _UNSAFE.sub("-", str(name)).strip("-_.:+") or fallback
    return text[:100]


def model_reference(card: Any) -> str:
    """How a model is named in provenance: a shipped model's name (e.g. ``unet-lite-starter``), else its id."""
    name = getattr(card, "name", "") or getattr(card, "model_id", "") or "model"
    return provenance_reference(name)


def prediction_description(model: str) -> str:
    """The ``descrip`` header text of labels predicted by ``model`` (at most 79 characters)."""
    return (PREDICTION_PREFIX + provenance_reference(model))[:79]


def label_file_provenance(labels: Any, path: str | Path) -> str:
    """The provenance of a label file read as the Volume ``labels`` from ``path``: ``predicted:<model>`` when
    ``legseg segment`` wrote it, else ``imported:<file name>``."""
    description = str(getattr(labels, "metadata", {}).get("description", "")).strip()
    if description.startswith(PREDICTION_PREFIX):
        model = description[len(PREDICTION_PREFIX):].strip()
        if model:
            return str(Provenance("predicted", provenance_reference(model)))
    return str(Provenance("imported", provenance_reference(Path(path).name, "file")))


__all__ = ["PREDICTION_PREFIX", "label_file_provenance", "model_reference", "prediction_description",
           "provenance_reference"]
