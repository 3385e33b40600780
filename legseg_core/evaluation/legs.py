"""Which voxels belong to which leg: the split between the legs of a bilateral scan.

Label arrays are uint8 ``[z, y, x]`` with the muscle ids 1..7; x runs from the patient's right to
left, so the right leg lies at smaller x. A :class:`LegSplit` gives, per axial slice, the column
where the legs part; it comes from the network's own preprocessing when a scan was segmented
(:func:`split_from_plan`), or from the labels alone (:func:`split_labels`) when only a label map
is at hand (``measure``, ``evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from legseg_core.errors import ImageShapeError
from legseg_core.labels import MUSCLES, NUM_CLASSES

LEGS: tuple[str, str] = ("right", "left")
#: A label map whose muscle voxels have no empty gap between two groups each holding at least this
#: share of them is taken to show one leg.
MIN_LEG_SHARE = 0.15


@dataclass(frozen=True)
class LegSplit:
    """Where the legs part: voxels of slice ``k`` at x < ``columns[k]`` belong to the right leg.

    ``sides`` are the legs present, in x order; a single right leg has every column at the
    width of the scan, a single left leg every column at 0. ``method`` says how it was found.
    """

    columns: tuple[int, ...]
    sides: tuple[str, ...]
    method: str

    def mask(self, leg: str, shape: tuple[int, int, int]) -> np.ndarray:
        """The ``[z, y, x]`` bool mask of one leg's voxels."""
        if leg not in LEGS:
            raise ImageShapeError(f"leg {leg!r} is unknown; choose right or left")
        if len(self.columns) != shape[0]:
            raise ImageShapeError(f"the leg split has {len(self.columns)} slices, the labels {shape[0]}")
        right = np.arange(shape[2])[None, :] < np.asarray(self.columns)[:, None]  # [z, x]
        return np.broadcast_to((right if leg == "right" else ~right)[:, None, :], shape)

    def leg_labels(self, labels: np.ndarray, leg: str) -> np.ndarray:
        """A copy of ``labels`` with every voxel outside ``leg`` set to background."""
        return np.where(self.mask(leg, labels.shape), labels, 0).astype(np.uint8)


def split_from_plan(plan) -> LegSplit:  # plan: legseg_core.preprocess.PatchPlan
    """The split the network's own preprocessing used: its body-mask valley per z part
    (:func:`legseg_core.preprocess.plan_patches`), so every label lies on the side of the patch that made it."""
    depth, _, width = plan.scan_shape
    columns = np.zeros(depth, dtype=int)
    for (start, stop), split in zip(plan.parts, plan.splits):
        columns[start:stop] = split if split is not None else (width if plan.legs[0] == "right" else 0)
    return LegSplit(tuple(int(c) for c in columns), tuple(plan.legs), "body-mask valley per z part (preprocessing)")


def constant_split(column: int, depth: int, method: str) -> LegSplit:
    """Two legs parted at one x column in every slice."""
    return LegSplit((int(column),) * depth, LEGS, method)


def single_leg(side: str, shape: tuple[int, int, int], method: str) -> LegSplit:
    """Every voxel belongs to one leg."""
    column = shape[2] if side == "right" else 0
    return LegSplit((column,) * shape[0], (side,), method)


def segmentation_split(segmentation) -> LegSplit:  # segmentation: legseg_core.inference.Segmentation
    """The legs of a segmentation: its one side for a single leg, else found from its labels.

    When the scan held two legs but the labels show only one, the other leg was missed: the legs
    part at the middle of the field of view, so quality control finds that leg empty and flags it.
    """
    if len(segmentation.legs) == 1:
        side = segmentation.legs[0]
        return single_leg(side, segmentation.labels.shape, f"one leg ({side}), as segmented")
    split = split_labels(segmentation.labels)
    if len(split.sides) == 1:
        depth, _, width = segmentation.labels.shape
        return constant_split(width // 2, depth, "two legs segmented, muscle found in one: parted at the middle")
    return split


def split_labels(labels: np.ndarray) -> LegSplit:
    """The legs of a label map found from its muscle voxels alone.

    The muscle voxels are projected onto x; two groups separated by an empty run of columns, each
    with at least :data:`MIN_LEG_SHARE` of the voxels, are two legs, parted in the middle of the
    run. Otherwise the map shows one leg, the right one when its muscle lies in the half of the
    field of view at smaller x (the patient's right).
    """
    if labels.ndim != 3:
        raise ImageShapeError(f"labels must be 3D [z, y, x], got shape {labels.shape}")
    profile = np.count_nonzero(labels, axis=(0, 1)).astype(float)
    total = profile.sum()
    if total == 0:
        return single_leg("right", labels.shape, "no muscle voxels: nothing to split")
    column = _gap_column(profile, total)
    if column is not None:
        return constant_split(column, labels.shape[0], f"empty gap between the legs' muscles at x = {column}")
    centre = float((profile * np.arange(profile.size)).sum() / total)
    side = "right" if centre < labels.shape[2] / 2 else "left"
    return single_leg(side, labels.shape, f"one leg: its muscles lie on the patient's {side} of the field of view")


def _gap_column(profile: np.ndarray, total: float) -> int | None:
    """The middle of the widest empty run of columns with enough muscle on both sides, or None."""
    runs, count = ndimage.label(profile == 0)
    best, best_width = None, 0
    cumulative = np.cumsum(profile)
    for run in range(1, count + 1):
        columns = np.flatnonzero(runs == run)
        start, stop = int(columns[0]), int(columns[-1]) + 1
        if start == 0 or stop == profile.size:
            continue
        before = cumulative[start - 1] / total
        if min(before, 1 - before) >= MIN_LEG_SHARE and stop - start > best_width:
            best, best_width = (start + stop) // 2, stop - start
    return best


def leg_volumes(labels: np.ndarray, split: LegSplit,
                spacing: tuple[float, float, float]) -> dict[str, dict[str, float]]:
    """Volume in ml of each muscle in each leg present: ``{leg: {abbr: ml}}``."""
    voxel_ml = float(np.prod(spacing)) / 1000.0
    volumes = {}
    for leg in split.sides:
        counts = np.bincount(labels[split.mask(leg, labels.shape)].ravel(), minlength=NUM_CLASSES)
        volumes[leg] = {muscle.abbr: float(counts[muscle.id]) * voxel_ml for muscle in MUSCLES}
    return volumes


def leg_agreement(reference: np.ndarray, prediction: np.ndarray, split: LegSplit,
                  spacing: tuple[float, float, float], *, both: bool = False) -> dict[str, dict[int, dict[str, float]]]:
    """Per leg of ``split`` (and ``"both"`` first when asked): muscle id -> Dice, reference and predicted volume
    and their difference (prediction minus reference), in ml.

    Both ``[z, y, x]`` label maps keep only the voxels of the leg; Dice is NaN where both are empty.
    """
    from legseg_core.evaluation.metrics import confusion_counts

    voxel_ml = float(np.prod(spacing)) / 1000.0
    result = {"both": _agreement(confusion_counts(reference, prediction), voxel_ml)} if both else {}
    for leg in split.sides:
        mask = split.mask(leg, reference.shape)
        result[leg] = _agreement(confusion_counts(reference[mask], prediction[mask]), voxel_ml)
    return result


def _agreement(joint: np.ndarray, voxel_ml: float) -> dict[int, dict[str, float]]:
    from legseg_core.evaluation.metrics import dice_from_counts

    rows = {}
    for muscle in MUSCLES:
        in_reference, in_prediction = int(joint[muscle.id, :].sum()), int(joint[:, muscle.id].sum())
        rows[muscle.id] = {"dice": dice_from_counts(in_reference, in_prediction, int(joint[muscle.id, muscle.id])),
                           "reference_ml": in_reference * voxel_ml, "prediction_ml": in_prediction * voxel_ml,
                           "volume_difference_ml": (in_prediction - in_reference) * voxel_ml}
    return rows


def comparison_records(agreement: dict[str, dict[int, dict[str, float]]],
                       ahd_mm: dict[int, float] | None = None) -> list[dict[str, object]]:
    """Rows of a review table for CSV or JSON: one per leg (both, right, left) and muscle, with ``leg``,
    ``muscle`` (abbreviation), ``label``, Dice, volumes (ml) and, for both legs where given, AHD (mm)."""
    rows: list[dict[str, object]] = []
    for leg, by_muscle in agreement.items():
        for muscle in MUSCLES:
            values = {key: _rounded(value) for key, value in by_muscle[muscle.id].items()}
            distance = (ahd_mm or {}).get(muscle.id) if leg == "both" else None
            rows.append({"leg": leg, "muscle": muscle.abbr, "label": muscle.id, **values,
                         **({"ahd_mm": _rounded(distance)} if distance is not None else {})})
    return rows


def _rounded(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def write_comparison(rows: list[dict[str, object]], path: str | Path, *, source: dict[str, str]) -> Path:
    """Write review-table rows as CSV (``.csv``) or JSON (``.json``, with ``source``: what was compared)."""
    import json

    from legseg_core.errors import InputPathError
    from legseg_core.evaluation.tables import write_csv

    path = Path(path)
    if path.suffix.lower() == ".csv":
        return write_csv(rows, path)
    if path.suffix.lower() != ".json":
        raise InputPathError(f"{path}: a review table is written as .csv or .json")
    if not path.parent.is_dir():
        raise InputPathError(f"{path}: the folder {path.parent} does not exist")
    path.write_text(json.dumps({"compared": source, "rows": rows}, indent=2), encoding="utf-8")
    return path
