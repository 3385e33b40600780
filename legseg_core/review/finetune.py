"""Asking for a fine-tuned model: what the active model has not seen yet, and the fine-tuning process.

Fine-tuning from a window runs ``legseg finetune --json-progress`` in its own process, so the
window stays responsive and a crash of the training cannot take the review with it. The
application and napari start the command of :func:`finetune_command` and show how many accepted
training cases wait (:func:`unseen_accepted_cases`, a store query that runs off the UI thread).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legseg_core.store import Store


def unseen_accepted_cases(store: Store) -> dict[str, Any]:
    """How many accepted train-split cases the active model has not seen (their accepted version):
    ``{"active": model id or None, "accepted": count, "unseen": count}``."""
    from legseg_core.training.registry import ModelRegistry

    active = ModelRegistry(store).active()
    accepted = store.accepted_cases(split="train")
    seen = set(active.data) if active is not None else set()
    unseen = [case.id for case in accepted if (case.id, case.accepted_version) not in seen]
    return {"active": None if active is None else active.id, "accepted": len(accepted), "unseen": len(unseen)}


def finetune_command(store_root: str, extra_arguments: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The program and arguments of the fine-tuning process of the store at ``store_root``."""
    return sys.executable, ["-m", "legseg_core.cli", "finetune", "--json-progress", "--store", str(store_root),
                            *extra_arguments]
