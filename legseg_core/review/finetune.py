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

from legseg_core.errors import LegsegError

if TYPE_CHECKING:
    from legseg_core.store import Store


def unseen_accepted_cases(store: Store) -> dict[str, Any]:
    """How many accepted train-split cases the active model has not seen (their accepted version), how many
    accepted held-out cases the gate can judge on, the unvalidated candidate waiting for a choice, and
    ``problem``: why the active model cannot be fine-tuned (its file missing or damaged), or None."""
    from legseg_core.training.finetune import unvalidated_candidate
    from legseg_core.training.registry import ModelRegistry

    registry = ModelRegistry(store)
    active = registry.active()
    accepted = store.accepted_cases(split="train")
    seen = set(active.data) if active is not None else set()
    unseen = [case.id for case in accepted if (case.id, case.accepted_version) not in seen]
    held_out = len(store.accepted_cases(split="validation")) + len(store.accepted_cases(split="test"))
    waiting = unvalidated_candidate(store)
    problem = None
    if active is not None:
        try:
            registry.verified_path(active)
        except LegsegError as error:
            problem = str(error)
    return {"active": None if active is None else active.id, "accepted": len(accepted), "unseen": len(unseen),
            "held_out": held_out, "unvalidated": None if waiting is None else waiting.id, "problem": problem}


def finetune_command(store_root: str, extra_arguments: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The program and arguments of the fine-tuning process of the store at ``store_root``."""
    return sys.executable, ["-m", "legseg_core.cli", "finetune", "--json-progress", "--store", str(store_root),
                            *extra_arguments]
