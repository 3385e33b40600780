"""Case adaptation asked for from a viewer: what was corrected, the ``legseg adapt`` process, the result.

Both hosts (the LegSeg application and napari) run the same steps, here without Qt:

1. :class:`CaseAdaptation` remembers, for the labels being corrected, the labels the expert
   started from (``baseline``: the model's prediction, then each adaptation's result) and the leg
   slices corrected so far. The corrected leg slices of a new run are those and every leg slice
   where the labels now differ from the baseline.
2. :meth:`CaseAdaptation.prepare` writes the scan, the labels and the baseline into a folder and
   returns the arguments of ``legseg adapt --json-progress`` (run in its own process, so the
   window stays responsive and a crash cannot take the session with it).
3. :meth:`CaseAdaptation.merge` takes the new labels in, voxel by voxel, only where the labels
   were not edited while the process ran (``current == snapshot``); corrected voxels never change.

The adapted model is the case's own file (``model_path``), kept beside its draft; it is never
registered, so the active model stays as it is.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from legseg_core.adapt.corrected import AdaptError, LegColumns, LegSlice, changed_leg_slices
from legseg_core.io import Volume, load_volume, save_image, save_labels

SCAN_FILE, LABELS_FILE, BASELINE_FILE, OUTPUT_FILE = "scan.nii", "labels.nii", "baseline.nii", "adapted.nii"


@dataclass
class AdaptRun:
    """One prepared run: its folder, the labels when it started (``snapshot``) and the leg slices it learns from."""

    folder: Path
    snapshot: np.ndarray
    corrected: list[LegSlice]

    @property
    def output(self) -> Path:
        return self.folder / OUTPUT_FILE


@dataclass
class CaseAdaptation:
    """The adaptation state of one case: its scan, baseline labels ``[z, y, x]``, corrected leg slices,
    the model to start from (a name, file or ``active`` with ``store``) and where its adapted model goes."""

    volume: Volume
    baseline: np.ndarray
    model: str
    model_path: Path
    store: str | None = None
    corrected: list[LegSlice] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.baseline = np.array(self.baseline, dtype=np.uint8, copy=True)
        if self.baseline.shape != self.volume.shape:
            raise AdaptError(f"labels of shape {self.baseline.shape} do not fit the scan {self.volume.name} "
                             f"{self.volume.shape}")
        self._legs: LegColumns | None = None

    @property
    def legs(self) -> LegColumns:
        if self._legs is None:
            self._legs = LegColumns.of(self.volume)
        return self._legs

    def corrected_now(self, labels: np.ndarray) -> list[LegSlice]:
        """The leg slices corrected so far and those where ``labels`` differ from the baseline."""
        found = set(self.corrected) | set(changed_leg_slices(np.asarray(labels), self.baseline, self.legs))
        return sorted(found, key=lambda s: (s.leg, s.z))

    def prepare(self, labels: np.ndarray, folder: str | Path, *, steps: int | None = None,
                device: str | None = None) -> tuple[AdaptRun, list[str]]:
        """Write the inputs into ``folder``; the run and the ``legseg adapt`` arguments (after ``adapt``)."""
        labels = np.array(labels, dtype=np.uint8, copy=True)
        corrected = self.corrected_now(labels)
        if not corrected:
            raise AdaptError(f"{self.volume.name}: no corrected slices yet; correct a few slices (any muscles), "
                             "then learn from them")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_image(self.volume.data, self.volume, folder / SCAN_FILE)
        save_labels(labels, self.volume, folder / LABELS_FILE)
        arguments = [str(folder / SCAN_FILE), "--labels", str(folder / LABELS_FILE), "--slices",
                     *(str(s) for s in corrected), "-o", str(folder / OUTPUT_FILE), "--model", self.model,
                     "--save-model", str(self.model_path), "--json-progress"]
        arguments += ["--store", str(self.store)] if self.store else []
        arguments += ["--steps", str(steps)] if steps else []
        arguments += ["--device", device] if device else []
        return AdaptRun(folder, labels, corrected), arguments

    def merge(self, run: AdaptRun, current: np.ndarray) -> np.ndarray:
        """The labels to show: the run's result where ``current`` still equals the run's snapshot,
        ``current`` elsewhere (edits made while it ran); the result becomes the new baseline."""
        adapted = load_volume(run.output).data.astype(np.uint8)
        current = np.asarray(current)
        if adapted.shape != current.shape:
            raise AdaptError(f"{run.output}: the adapted labels {adapted.shape} do not fit the labels {current.shape}")
        merged = np.where(current == run.snapshot, adapted, current).astype(np.uint8)
        self.baseline = adapted
        self.corrected = sorted(set(self.corrected) | set(run.corrected), key=lambda s: (s.leg, s.z))
        return merged


def adapt_command(arguments: list[str]) -> tuple[str, list[str]]:
    """The program and arguments of the ``legseg adapt`` process."""
    return sys.executable, ["-m", "legseg_core.cli", "adapt", *arguments]


def adapted_model_path(folder: str | Path, key: str) -> Path:
    """Where a case's adapted model is kept: ``<folder>/<key>.adapted.pt`` (beside its autosaved draft)."""
    return Path(folder) / f"{key}.adapted.pt"
