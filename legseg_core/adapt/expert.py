"""A simulated expert who corrects labels with the reference, leg slice by leg slice, and counts actions.

The action model (what one correction costs), on one leg slice (an axial slice of one leg):

* The errors are the voxels whose label differs from the reference, taken one reference label
  at a time. Errors of one label closer together than the brush's diameter form one *group*
  (one stroke reaches them all): the 8-connected components of the errors dilated by a disc of
  the brush radius ``r``.
* A group that is exactly one 4-connected region of a single label of the current labels (a
  wrongly labelled island, a hole, a muscle given another muscle's id) is fixed with one click
  of fill or relabel: **1 action**.
* Any other group (a boundary too far in or out, a missing part of a muscle) is painted with
  the brush: the cheaper of **brush strokes** that sweep it, ``max(ceil(area / ((2 r + 1) L)),
  ceil(span / L))`` with strokes of at most ``L`` voxels of path and ``span`` the longer side of
  the group's box, and **outlining it and filling it**, ``ceil(perimeter / L) + 1``; at least 1.
  (A curved sliver counts the longer side of its box, not its whole length: the model is, if
  anything, generous to boundary fixing, which is most of what correcting by hand costs.)

The expert's strokes are taken to be exact (paint-over rules keep them off the neighbours), so a
corrected leg slice equals the reference. Which slice next: the one with the most wrong voxels
(the expert sees where the labels are wrong, not the Dice). :func:`effort_to_reach` counts the
actions and corrected leg slices until the whole scan's mean Dice over the muscles in the
reference reaches a target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from legseg_core.adapt.corrected import LegColumns, LegSlice
from legseg_core.labels import MUSCLE_IDS

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class ActionModel:
    """The brush radius ``brush_radius`` (voxels) and the longest stroke ``stroke_length`` (voxels of path)."""

    brush_radius: int = 3
    stroke_length: int = 40

    def group_cost(self, area: int, span: int, perimeter: int, one_click: bool) -> int:
        """Actions to fix one group of ``area`` wrong voxels, ``span`` voxels long, ``perimeter`` edge voxels."""
        if one_click:
            return 1
        sweep = max(math.ceil(area / ((2 * self.brush_radius + 1) * self.stroke_length)),
                    math.ceil(span / self.stroke_length))
        outline = math.ceil(perimeter / self.stroke_length) + 1
        return max(1, min(sweep, outline))

    def reach(self) -> np.ndarray:
        """The disc (2D bool) of the brush radius: errors within it of each other form one group."""
        offsets = np.arange(-self.brush_radius, self.brush_radius + 1)
        return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= self.brush_radius ** 2


def slice_actions(labels: np.ndarray, reference: np.ndarray, model: ActionModel = ActionModel()) -> int:
    """Actions to turn one 2D slice ``labels`` ``[y, x]`` into ``reference`` (see the module's model)."""
    errors = labels != reference
    if not errors.any():
        return 0
    actions, reach = 0, model.reach()
    for target in np.unique(reference[errors]):
        wrong = errors & (reference == target)
        groups, count = ndimage.label(ndimage.binary_dilation(wrong, reach), structure=EIGHT_CONNECTED)
        groups[~wrong] = 0
        for index, box in enumerate(ndimage.find_objects(groups), start=1):
            if box is None:
                continue
            group = groups[box] == index
            edge = group & ~ndimage.binary_erosion(group, FOUR_CONNECTED, border_value=0)
            span = max(part.stop - part.start for part in box)
            actions += model.group_cost(int(group.sum()), span, int(edge.sum()), _one_click(labels, groups == index))
    return actions


def _one_click(labels: np.ndarray, region: np.ndarray) -> bool:
    """True when ``region`` is exactly one 4-connected region of one label of ``labels``."""
    values = np.unique(labels[region])
    if len(values) != 1:
        return False
    components, _ = ndimage.label(labels == values[0], structure=FOUR_CONNECTED)
    ids = np.unique(components[region])
    return len(ids) == 1 and int((components == ids[0]).sum()) == int(region.sum())


@dataclass
class SliceTable:
    """Per leg slice of a scan: actions to correct it, wrong voxels, and per-muscle voxel counts
    (``intersection``, ``labelled``, ``reference``: ``[slices, 7]``) from which whole-scan Dice follows."""

    leg_slices: list[LegSlice]
    actions: np.ndarray
    wrong: np.ndarray
    intersection: np.ndarray
    labelled: np.ndarray
    reference: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray, reference: np.ndarray, legs: LegColumns,
           model: ActionModel = ActionModel()) -> "SliceTable":
        """The table of ``labels`` against ``reference`` (``[z, y, x]``) over every leg slice of ``legs``."""
        rows = [LegSlice(z, leg) for leg in legs.legs for z in range(labels.shape[0])
                if legs.columns[leg][z][1] > legs.columns[leg][z][0]]
        table = cls(rows, *(np.zeros(len(rows), dtype=np.int64) for _ in range(2)),
                    *(np.zeros((len(rows), len(MUSCLE_IDS)), dtype=np.int64) for _ in range(3)))
        for row, item in enumerate(rows):
            start, stop = legs.columns[item.leg][item.z]
            mine, truth = labels[item.z, :, start:stop], reference[item.z, :, start:stop]
            table.actions[row] = slice_actions(mine, truth, model)
            table.wrong[row] = int(np.count_nonzero(mine != truth))
            for column, muscle in enumerate(MUSCLE_IDS):
                table.intersection[row, column] = np.count_nonzero((mine == muscle) & (truth == muscle))
                table.labelled[row, column] = np.count_nonzero(mine == muscle)
                table.reference[row, column] = np.count_nonzero(truth == muscle)
        return table

    def mean_dice(self, corrected: np.ndarray) -> float:
        """Whole-scan mean Dice over the muscles in the reference, with the rows in bool ``corrected``
        replaced by the reference."""
        intersection = np.where(corrected[:, None], self.reference, self.intersection).sum(axis=0)
        labelled = np.where(corrected[:, None], self.reference, self.labelled).sum(axis=0)
        truth = self.reference.sum(axis=0)
        present = truth > 0
        return float(np.mean(2.0 * intersection[present] / (labelled[present] + truth[present])))

    def index(self, leg_slices: Sequence[LegSlice]) -> np.ndarray:
        """Bool row mask of the given leg slices."""
        wanted = set(leg_slices)
        return np.array([item in wanted for item in self.leg_slices], dtype=bool)


@dataclass(frozen=True)
class Effort:
    """Actions and corrected leg slices (those already corrected included) to reach ``target``, or
    None when even correcting every leg slice does not (it always does: corrected slices are exact)."""

    target: float
    actions: int | None
    slices: int | None


def effort_to_reach(table: SliceTable, targets: Sequence[float], done: np.ndarray | None = None,
                    spent: int = 0) -> list[Effort]:
    """Correct leg slices, most wrong voxels first, until each target mean Dice is reached.

    ``done`` marks rows already corrected (their ``spent`` actions are counted in)."""
    corrected = np.zeros(len(table.leg_slices), dtype=bool) if done is None else done.copy()
    order = [int(i) for i in np.argsort(-table.wrong, kind="stable") if not corrected[i] and table.wrong[i] > 0]
    actions, dice = spent, table.mean_dice(corrected)
    results: dict[float, Effort] = {}
    pending = sorted(targets)
    for row in [None, *order]:
        if row is not None:
            corrected[row] = True
            actions += int(table.actions[row])
            dice = table.mean_dice(corrected)
        while pending and dice >= pending[0] - 1e-12:
            target = pending.pop(0)
            results[target] = Effort(target, actions, int(corrected.sum()))
        if not pending:
            break
    return [results.get(t, Effort(t, None, None)) for t in targets]


def spread_slices(reference: np.ndarray, legs: LegColumns, per_leg: int) -> list[LegSlice]:
    """``per_leg`` leg slices of each leg at the centres of equal parts of its muscles' z extent."""
    chosen = []
    for leg in legs.legs:
        present = [z for z in range(reference.shape[0])
                   if reference[z, :, slice(*legs.columns[leg][z])].any()]
        if not present or per_leg < 1:
            continue
        low, high = present[0], present[-1]
        centres = low + (np.arange(per_leg) + 0.5) * (high - low + 1) / per_leg - 0.5
        chosen += [LegSlice(int(z), leg) for z in sorted(set(np.round(centres).astype(int).tolist()))]
    return chosen


def corrected_labels(labels: np.ndarray, reference: np.ndarray, leg_slices: Sequence[LegSlice],
                     legs: LegColumns) -> np.ndarray:
    """A copy of ``labels`` with the given leg slices set to the reference."""
    result = labels.copy()
    mask = legs.mask(leg_slices, labels.shape)
    result[mask] = reference[mask]
    return result


def interpolate_between(labels: np.ndarray, leg_slices: Sequence[LegSlice], legs: LegColumns,
                        spacing: tuple[float, float]) -> np.ndarray:
    """Shape-based interpolation of each muscle, per leg, between consecutive corrected leg slices (as
    the editor's interpolate does: the muscle's old voxels between are replaced, over background only)."""
    from legseg_core.editing.shapes import interpolate_masks

    result = labels.copy()
    for leg in legs.legs:
        zs = sorted(s.z for s in leg_slices if s.leg == leg)
        for low, high in zip(zs[:-1], zs[1:]):
            if high - low < 2:
                continue
            for muscle in MUSCLE_IDS:
                _interpolate_muscle(result, legs.columns[leg], muscle, low, high, spacing, interpolate_masks)
    return result


def _interpolate_muscle(labels: np.ndarray, columns: list[tuple[int, int]], muscle: int, low: int, high: int,
                        spacing: tuple[float, float], interpolate_masks) -> None:
    ends = []
    for z in (low, high):
        mask = np.zeros(labels.shape[1:], dtype=bool)
        start, stop = columns[z]
        mask[:, start:stop] = labels[z, :, start:stop] == muscle
        ends.append(mask)
    if not ends[0].any() or not ends[1].any():
        return
    fractions = [(z - low) / (high - low) for z in range(low + 1, high)]
    for z, shape in zip(range(low + 1, high), interpolate_masks(ends[0], ends[1], fractions, spacing)):
        start, stop = columns[z]
        part = labels[z, :, start:stop]
        part[part == muscle] = 0
        part[shape[:, start:stop] & (part == 0)] = muscle
