"""The run folder: its settings, the checkpoint of the last epoch and the best weights.

A run folder holds ``run.json`` (what the run trains: recipe, seed, data snapshot, network
arguments, number of processes), ``last.pt`` (model, optimiser and loss-scaler state, epoch,
step and history after the last finished epoch) and ``best.pt`` (the weights of the epoch with
the best validation Dice). Each file is written to a temporary name, flushed and renamed, so a
crash leaves the previous checkpoint intact. Checkpoints hold tensors, numbers and strings
only and are read with ``weights_only=True``: loading never runs code.

A run resumes from ``last.pt`` only when ``run.json`` describes the same run; a folder that
was started with other settings is refused rather than silently mixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from legseg_core.atomic import write_atomically
from legseg_core.errors import TrainingError

RUN_FORMAT = 1
RUN_FILE = "run.json"
LAST_FILE = "last.pt"
BEST_FILE = "best.pt"


def save_torch(path: Path, payload: dict[str, Any]) -> None:
    """torch.save ``payload`` to ``path`` atomically."""
    import torch

    write_atomically(path, lambda handle: torch.save(payload, handle), make_folder=True)


def load_torch(path: Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save_torch`, read with ``weights_only=True``."""
    import pickle
    import zipfile

    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise TrainingError(f"{path}: the checkpoint is damaged or holds more than tensors and numbers; it is "
                            "not read") from None
    except (OSError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise TrainingError(f"{path}: the checkpoint cannot be read ({type(error).__name__}); it is damaged") \
            from None
    if not isinstance(payload, dict):
        raise TrainingError(f"{path}: the checkpoint is damaged (not a dictionary of tensors and numbers)")
    return payload


def set_aside(path: Path) -> Path:
    """Rename a damaged file to ``<name>.damaged-<n>`` beside it (kept for inspection, out of the way)."""
    number = 1
    while (aside := path.with_name(f"{path.name}.damaged-{number}")).exists():
        number += 1
    path.replace(aside)
    return aside


@dataclass(frozen=True)
class RunFolder:
    """One training run's folder."""

    path: Path

    @property
    def settings_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def last_path(self) -> Path:
        return self.path / LAST_FILE

    @property
    def best_path(self) -> Path:
        return self.path / BEST_FILE

    def settings(self) -> dict[str, Any] | None:
        """The run's settings, or None for a folder no run has used yet."""
        if not self.settings_path.is_file():
            return None
        try:
            return json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TrainingError(f"{self.settings_path}: unreadable run settings ({error})") from None

    def claim(self, settings: dict[str, Any]) -> bool:
        """Record ``settings`` for a new run, or check them against the folder's: True when the run
        resumes (same settings and a checkpoint exists), False when it starts from scratch."""
        stored = self.settings()
        wanted = {"format": RUN_FORMAT, **settings}
        if stored is None:
            text = json.dumps(wanted, indent=2, sort_keys=True, default=str)
            write_atomically(self.settings_path, text.encode("utf-8"), make_folder=True)
            return False
        if _normalised(stored) != _normalised(wanted):
            changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != _normalised(wanted).get(k))
            raise TrainingError(f"{self.path}: this run folder was started with other settings ({', '.join(changed)}"
                                "); resume with the same settings or choose a new folder")
        return self.last_path.is_file()


def _normalised(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as they read back from JSON (tuples as lists)."""
    return json.loads(json.dumps(settings, sort_keys=True, default=str))
