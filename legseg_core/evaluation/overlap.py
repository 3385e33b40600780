"""The Figure 4 overlap map and an incremental tracker of it for live editing.

Per voxel, manual (reference) against predicted, with the classes of :mod:`legseg_core.labels`:
0 both background; 1 agree, same muscle; 2 predicted as a muscle, not drawn manually;
3 drawn and predicted as different muscles; 4 drawn manually, not predicted. Arrays are
indexed ``[z, y, x]``.

:class:`OverlapTracker` keeps the map and the joint counts of (reference, prediction) values
while either label map is edited: after an edit of a region (a brush stroke on one slice), only
that region is looked at, so the map and every muscle's Dice stay current in time proportional
to the region. Average Hausdorff distances cannot be updated that cheaply; the tracker computes
them on demand (:meth:`OverlapTracker.scores`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from legseg_core.errors import ImageShapeError
from legseg_core.evaluation.distances import Spacing
from legseg_core.evaluation.metrics import (CaseScores, check_label_array, check_pair, confusion_counts,
                                            dice_from_counts, evaluate_labels, pair_codes, score_labels)
from legseg_core.labels import (MUSCLE_IDS, NUM_CLASSES, OVERLAP_AGREE, OVERLAP_BACKGROUND, OVERLAP_DIFFERENT_MUSCLE,
                                OVERLAP_MANUAL_ONLY, OVERLAP_PREDICTED_ONLY)
from legseg_core.progress import ProgressWork

#: A region of the [z, y, x] grid: an axial slice index, or a tuple of up to three slices or indices.
Region = int | tuple[slice | int, ...]
Target = Literal["prediction", "reference", "both"]


def _overlap_table() -> np.ndarray:
    """Overlap class for each code ``reference * 8 + prediction`` (64 entries, uint8)."""
    table = np.zeros(NUM_CLASSES * NUM_CLASSES, dtype=np.uint8)
    for reference in range(NUM_CLASSES):
        for prediction in range(NUM_CLASSES):
            if reference == 0:
                value = OVERLAP_BACKGROUND if prediction == 0 else OVERLAP_PREDICTED_ONLY
            elif prediction == 0:
                value = OVERLAP_MANUAL_ONLY
            else:
                value = OVERLAP_AGREE if reference == prediction else OVERLAP_DIFFERENT_MUSCLE
            table[reference * NUM_CLASSES + prediction] = value
    return table


OVERLAP_TABLE = _overlap_table()


def overlap_map(reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """The Figure 4 overlap map (uint8 ``[z, y, x]``, classes 0..4) of two label maps on one grid."""
    reference, prediction = check_pair(reference, prediction)
    return OVERLAP_TABLE[pair_codes(reference, prediction)]


def overlap_class_counts(overlap: np.ndarray) -> dict[int, int]:
    """Voxel count of each overlap class 0..4 in an overlap map."""
    counts = np.bincount(np.asarray(overlap).ravel(), minlength=5)
    return {value: int(counts[value]) for value in range(5)}


def region_slices(region: Region, shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    """Normalise a region to three slices within ``shape``: an int is one axial slice ``[k]``."""
    parts = (region,) if isinstance(region, (int, np.integer)) else tuple(region)
    if len(parts) > 3:
        raise ImageShapeError(f"a region of a [z, y, x] volume has at most 3 parts, got {region!r}")
    slices = []
    for axis, part in enumerate(parts + (slice(None),) * (3 - len(parts))):
        size = shape[axis]
        if isinstance(part, (int, np.integer)):
            index = int(part) + size if part < 0 else int(part)
            if not 0 <= index < size:
                raise ImageShapeError(f"region index {part} is outside axis {'zyx'[axis]} of size {size}")
            part = slice(index, index + 1)
        if not isinstance(part, slice) or part.step not in (None, 1):
            raise ImageShapeError(f"region parts must be indices or slices with step 1, got {part!r}")
        start, stop, _ = part.indices(size)
        slices.append(slice(start, max(start, stop)))
    return tuple(slices)  # type: ignore[return-value]


class OverlapTracker:
    """The overlap map and per-muscle counts of a reference and a prediction, kept current under edits.

    The tracker holds the caller's two ``[z, y, x]`` label arrays (not copies: the GUI paints
    into them), a private snapshot of their values, the overlap map, and the 8 x 8 matrix of
    joint value counts from which every muscle's ``|A|``, ``|B|`` and ``|A & B|`` (hence Dice)
    follow. After the caller changes values inside a region, :meth:`apply_edit` compares the
    region with the snapshot and updates map and counts there only; :meth:`update` writes new
    values and does the same. Arrays replaced wholesale need :meth:`reset`.
    """

    def __init__(self, reference: np.ndarray, prediction: np.ndarray, spacing: Spacing = (1.0, 1.0, 1.0)) -> None:
        self.spacing = tuple(float(s) for s in spacing)
        self.reset(reference, prediction)

    def reset(self, reference: np.ndarray | None = None, prediction: np.ndarray | None = None) -> None:
        """Start over from the whole arrays (new ones if given): full map and counts."""
        reference = self.reference if reference is None else reference
        prediction = self.prediction if prediction is None else prediction
        checked_reference, checked_prediction = check_pair(reference, prediction)
        self.reference, self.prediction = reference, prediction
        self._reference_seen = checked_reference.copy()
        self._prediction_seen = checked_prediction.copy()
        self.map = OVERLAP_TABLE[pair_codes(checked_reference, checked_prediction)]
        self._confusion = confusion_counts(checked_reference, checked_prediction)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The ``[z, y, x]`` shape of the tracked arrays."""
        return tuple(self.map.shape)

    def update(self, region: Region, values: np.ndarray | int, *, target: Target = "prediction") -> None:
        """Write ``values`` into ``region`` of the prediction (or reference, or both), then update."""
        slices = region_slices(region, self.shape)
        check_label_array(np.atleast_3d(np.asarray(values)), f"new {target} values")
        if target in ("prediction", "both"):
            self.prediction[slices] = values
        if target in ("reference", "both"):
            self.reference[slices] = values
        self.apply_edit(slices)

    def apply_edit(self, region: Region) -> None:
        """Take in the caller's changes inside ``region`` (either array): update map and counts there."""
        slices = region_slices(region, self.shape)
        reference = check_label_array(np.asarray(self.reference[slices]), "edited reference")
        prediction = check_label_array(np.asarray(self.prediction[slices]), "edited prediction")
        old_codes = pair_codes(self._reference_seen[slices], self._prediction_seen[slices])
        new_codes = pair_codes(reference, prediction)
        size = NUM_CLASSES * NUM_CLASSES
        change = np.bincount(new_codes.ravel(), minlength=size) - np.bincount(old_codes.ravel(), minlength=size)
        self._confusion += change.reshape(NUM_CLASSES, NUM_CLASSES)
        self.map[slices] = OVERLAP_TABLE[new_codes]
        self._reference_seen[slices] = reference
        self._prediction_seen[slices] = prediction

    def counts(self, label: int) -> tuple[int, int, int]:
        """``(|A|, |B|, |A & B|)`` of one muscle id: reference, predicted and shared voxels."""
        return (int(self._confusion[label, :].sum()), int(self._confusion[:, label].sum()),
                int(self._confusion[label, label]))

    def dice(self) -> dict[int, float]:
        """Muscle id -> Dice, current after every edit (NaN where both masks are empty)."""
        return {label: dice_from_counts(*self.counts(label)) for label in MUSCLE_IDS}

    def class_counts(self) -> dict[int, int]:
        """Voxel count of each overlap class 0..4, derived from the joint counts."""
        flat = self._confusion.ravel()
        return {value: int(flat[OVERLAP_TABLE == value].sum()) for value in range(5)}

    def confusion(self) -> np.ndarray:
        """A copy of the 8 x 8 joint counts: entry [r, p] counts voxels with reference r, prediction p."""
        return self._confusion.copy()

    def scores(self, *, case_id: str = "") -> CaseScores:
        """Full scores (Dice, AHD, HD95, volumes) of the current arrays: not incremental, seconds on big grids."""
        return evaluate_labels(self._reference_seen, self._prediction_seen, self.spacing, case_id=case_id)

    def scores_work(self, *, case_id: str = "") -> ProgressWork[CaseScores]:
        """:meth:`scores` as long work (Progress per muscle) on a snapshot of the current arrays."""
        return score_labels(self._reference_seen.copy(), self._prediction_seen.copy(), self.spacing, case_id=case_id)
