"""Per-muscle scores of a predicted label map against a reference: Dice, AHD, HD95, volumes.

Label arrays are indexed ``[z, y, x]`` and hold 0 (background) and the muscle ids 1..7 of
:mod:`legseg_core.labels`; ``spacing`` is the voxel size ``(z, y, x)`` in mm. All seven muscles
are scored in one pass: one joint histogram of (reference, prediction) value pairs gives every
muscle's counts ``|A|``, ``|B|`` and ``|A & B|``, one ``find_objects`` per array gives every
muscle's bounding box, and the distance transforms run on those boxes only.

Empty masks (the muscle is absent from the reference, the prediction, or both):

=====================  =====  =======================  =====================================
reference / predicted  Dice   AHD, HD95                volume difference %
=====================  =====  =======================  =====================================
both present           value  value                    value
reference empty        0.0    NaN (no distance to      NaN (relative to nothing)
                              an empty mask)
prediction empty       0.0    NaN                      -100
both empty             NaN    NaN                      NaN (absolute difference 0 ml)
=====================  =====  =======================  =====================================

A muscle absent from both is not scored (NaN), so that a field of view that does not reach a
muscle neither rewards nor punishes a model. NaN values are left out of every mean and the
tables report how many values each mean is over (``n``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.evaluation.distances import (EMPTY_DISTANCES, MaskDistances, Spacing, grow_box, mask_distances,
                                              union_box)
from legseg_core.labels import MUSCLE_BY_ID, MUSCLE_IDS, NUM_CLASSES
from legseg_core.progress import Progress, ProgressWork, run_quietly

#: Metrics of a MuscleScores that tables and statistics may summarise.
SCORE_METRICS: tuple[str, ...] = ("dice", "ahd_voxels", "ahd_mm", "hd95_mm", "volume_ref_ml", "volume_pred_ml",
                                  "volume_difference_ml", "volume_difference_percent")


def check_label_array(labels: np.ndarray, what: str = "labels") -> np.ndarray:
    """Return ``labels`` as uint8 after checking that it is 3D and holds whole values in 0..7."""
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise GridMismatchError(f"{what}: a label map must be a 3D [z, y, x] array, got shape {labels.shape}")
    if labels.dtype.kind not in "uifb":
        raise ImageValueError(f"{what}: label values must be numbers, got data type {labels.dtype}")
    if labels.size == 0 or labels.dtype == np.bool_:
        return labels.astype(np.uint8)
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ImageValueError(f"{what}: label values must be whole numbers, found fractional, NaN or Inf values")
    low, high = labels.min(), labels.max()
    if low < 0 or high > NUM_CLASSES - 1:
        raise ImageValueError(f"{what}: label values must lie in 0..{NUM_CLASSES - 1}, found {low}..{high}")
    return labels if labels.dtype == np.uint8 else labels.astype(np.uint8)


def check_pair(reference: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference and a prediction label array and that their shapes agree."""
    reference = check_label_array(reference, "reference")
    prediction = check_label_array(prediction, "prediction")
    if reference.shape != prediction.shape:
        raise GridMismatchError(
            f"reference and prediction differ in shape: {reference.shape} vs {prediction.shape} ([z, y, x])")
    return reference, prediction


def pair_codes(reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """One uint8 code per voxel, ``reference * 8 + prediction`` (both validated uint8 in 0..7)."""
    return (reference << 3) | prediction


def confusion_counts(reference: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """An 8 x 8 int64 matrix: entry [r, p] counts voxels with reference r and prediction p."""
    codes = pair_codes(reference, prediction)
    return np.bincount(codes.ravel(), minlength=NUM_CLASSES * NUM_CLASSES).reshape(NUM_CLASSES, NUM_CLASSES)


def dice_from_counts(reference_voxels: int, prediction_voxels: int, overlap_voxels: int) -> float:
    """Dice 2|A & B| / (|A| + |B|); NaN when both masks are empty."""
    total = reference_voxels + prediction_voxels
    return 2.0 * overlap_voxels / total if total else math.nan


@dataclass(frozen=True)
class MuscleScores:
    """Scores of one muscle (label id) in one case; see the module docstring for empty masks.

    Volumes are in ml, distances in voxels or mm as their names say, and the volume
    difference is predicted minus reference (in ml, and in % of the reference).
    """

    label: int
    dice: float
    ahd_voxels: float
    ahd_mm: float
    hd95_mm: float
    volume_ref_ml: float
    volume_pred_ml: float
    volume_difference_ml: float
    volume_difference_percent: float
    reference_voxels: int
    prediction_voxels: int
    overlap_voxels: int

    @property
    def abbr(self) -> str:
        """The muscle's short name (GL, GM, ...)."""
        return MUSCLE_BY_ID[self.label].abbr if self.label in MUSCLE_BY_ID else str(self.label)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (NaN kept as float NaN), with the muscle's abbreviation."""
        return {"label": self.label, "muscle": self.abbr, **{k: v for k, v in asdict(self).items() if k != "label"}}


def muscle_scores(label: int, counts: tuple[int, int, int], distances: MaskDistances,
                  voxel_ml: float) -> MuscleScores:
    """Assemble one muscle's scores from its counts (|A|, |B|, |A & B|) and distances."""
    reference_voxels, prediction_voxels, overlap_voxels = (int(c) for c in counts)
    volume_ref, volume_pred = reference_voxels * voxel_ml, prediction_voxels * voxel_ml
    percent = 100.0 * (volume_pred - volume_ref) / volume_ref if reference_voxels else math.nan
    return MuscleScores(label=int(label), dice=dice_from_counts(reference_voxels, prediction_voxels, overlap_voxels),
                        ahd_voxels=distances.ahd_voxels, ahd_mm=distances.ahd_mm, hd95_mm=distances.hd95_mm,
                        volume_ref_ml=volume_ref, volume_pred_ml=volume_pred,
                        volume_difference_ml=volume_pred - volume_ref, volume_difference_percent=percent,
                        reference_voxels=reference_voxels, prediction_voxels=prediction_voxels,
                        overlap_voxels=overlap_voxels)


@dataclass(frozen=True)
class CaseScores:
    """Every muscle's scores for one case (one reference / prediction pair)."""

    case_id: str
    muscles: tuple[MuscleScores, ...]
    spacing: Spacing = (1.0, 1.0, 1.0)
    metadata: dict[str, Any] = field(default_factory=dict)

    def muscle(self, label: int) -> MuscleScores:
        """The scores of one muscle id; KeyError if it was not scored."""
        for scores in self.muscles:
            if scores.label == label:
                return scores
        raise KeyError(label)

    def values(self, metric: str) -> np.ndarray:
        """One metric for every scored muscle, as a float array (NaN where undefined)."""
        return np.array([getattr(m, metric) for m in self.muscles], dtype=float)

    def mean(self, metric: str) -> float:
        """The metric averaged over muscles (section 2.7), NaN values left out; NaN if none is defined."""
        values = self.values(metric)
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain values: case id, spacing, per-muscle scores and the mean Dice/AHD over muscles."""
        return {"case_id": self.case_id, "spacing_mm": list(self.spacing), **self.metadata,
                "mean_over_muscles": {m: self.mean(m) for m in ("dice", "ahd_voxels", "ahd_mm", "hd95_mm")},
                "muscles": [m.to_dict() for m in self.muscles]}


def evaluate_labels(reference: np.ndarray, prediction: np.ndarray, spacing: Spacing = (1.0, 1.0, 1.0), *,
                    labels: Iterable[int] = MUSCLE_IDS, case_id: str = "", with_distances: bool = True,
                    **metadata: Any) -> CaseScores:
    """Score a predicted ``[z, y, x]`` label map against the reference, every muscle in one pass.

    ``spacing`` is ``(z, y, x)`` mm. With ``with_distances=False`` only counts, Dice and volumes
    are computed (AHD and HD95 are NaN), which is much faster. :func:`score_labels` is the same
    work as a progress generator (one step per muscle) for a UI that shows progress or cancels.
    """
    return run_quietly(score_labels(reference, prediction, spacing, labels=labels, case_id=case_id,
                                    with_distances=with_distances, **metadata))


def score_labels(reference: np.ndarray, prediction: np.ndarray, spacing: Spacing = (1.0, 1.0, 1.0), *,
                 labels: Iterable[int] = MUSCLE_IDS, case_id: str = "", with_distances: bool = True,
                 **metadata: Any) -> ProgressWork[CaseScores]:
    """:func:`evaluate_labels` as long work: yields Progress before each muscle, returns the CaseScores."""
    reference, prediction = check_pair(reference, prediction)
    spacing = tuple(float(s) for s in spacing)  # type: ignore[assignment]
    confusion = confusion_counts(reference, prediction)
    boxes = _muscle_boxes(reference, prediction) if with_distances else {}
    voxel_ml = float(np.prod(spacing)) / 1000.0
    labels = list(labels)
    scores = []
    for done, label in enumerate(labels):
        yield Progress(done, len(labels), f"scoring {MUSCLE_BY_ID[label].abbr if label in MUSCLE_BY_ID else label}")
        counts = (confusion[label, :].sum(), confusion[:, label].sum(), confusion[label, label])
        distances = _distances_in_box(reference, prediction, label, boxes.get(label), spacing)
        scores.append(muscle_scores(label, counts, distances, voxel_ml))
    yield Progress(len(labels), len(labels), "scored")
    return CaseScores(case_id=case_id, muscles=tuple(scores), spacing=spacing, metadata=dict(metadata))


def _muscle_boxes(reference: np.ndarray, prediction: np.ndarray) -> dict[int, tuple[slice, ...]]:
    """Bounding box (with a one-voxel margin) of each label's reference and predicted voxels together."""
    found_ref = ndimage.find_objects(reference, max_label=NUM_CLASSES - 1)
    found_pred = ndimage.find_objects(prediction, max_label=NUM_CLASSES - 1)
    boxes = {}
    for index, (box_ref, box_pred) in enumerate(zip(found_ref, found_pred)):
        box = union_box(box_ref, box_pred)
        if box is not None:
            boxes[index + 1] = grow_box(box, reference.shape, 1)
    return boxes


def _distances_in_box(reference: np.ndarray, prediction: np.ndarray, label: int,
                      box: tuple[slice, ...] | None, spacing: Spacing) -> MaskDistances:
    if box is None:
        return EMPTY_DISTANCES
    return mask_distances(reference[box] == label, prediction[box] == label, spacing)


def mean_over_muscles(cases: Sequence[CaseScores], metric: str) -> dict[str, float]:
    """Case id -> the metric averaged over muscles (section 2.7: scores averaged per image)."""
    return {case.case_id: case.mean(metric) for case in cases}
