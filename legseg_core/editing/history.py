"""Undo and redo of label edits, storing only the changed box's values before and after.

One :class:`EditRecord` is one undo step (a whole brush drag, one fill, one interpolation). It
keeps the values of the smallest box holding every changed voxel, before and after, so a brush
stroke on one slice of a 320 x 320 x 90 volume costs a few kilobytes, not the volume.
:class:`StrokeBuffer` collects the before-values while a stroke is in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from legseg_core.editing.regions import (Region, bounding_region, offset_region, relative_region,
                                         union_region)

#: Kinds of edit that count as drawing a muscle on a slice (and so anchor interpolation).
DRAWN_KINDS = frozenset({"brush", "eraser", "fill", "relabel"})


@dataclass(frozen=True, eq=False)
class EditRecord:
    """One undo step: the values of ``region`` (``[z, y, x]`` box) before and after the edit."""

    serial: int
    kind: str
    region: Region
    before: np.ndarray
    after: np.ndarray
    drawn: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # (z, label) pairs changed

    @property
    def nbytes(self) -> int:
        """Memory held by the record's two arrays."""
        return int(self.before.nbytes + self.after.nbytes)


def drawn_pairs(before: np.ndarray, after: np.ndarray, first_z: int) -> frozenset[tuple[int, int]]:
    """The (slice, muscle) pairs a hand edit drew: muscles painted, and muscles erased to background."""
    pairs: set[tuple[int, int]] = set()
    for offset, (old, new) in enumerate(zip(before, after)):
        changed = old != new
        painted = new[changed]
        erased = old[changed & (new == 0)]
        values = np.union1d(painted[painted != 0], erased[erased != 0])
        pairs.update((first_z + offset, int(v)) for v in values)
    return frozenset(pairs)


class StrokeBuffer:
    """The before-values of every voxel an edit in progress may have changed.

    Before each write, :meth:`include` grows the buffer's box to hold the write's region, copying
    the new part from the labels (which the edit has not touched yet). :meth:`finish` crops the
    buffer to the voxels that really changed and returns the undo record.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.region: Region | None = None
        self.before: np.ndarray | None = None
        self.wrote = False

    def include(self, region: Region, labels: np.ndarray) -> None:
        """Make sure the buffer holds the current (unedited) values of ``region``."""
        if self.region is None or self.before is None:
            self.region, self.before = region, labels[region].copy()
            return
        union = union_region(self.region, region)
        if union == self.region:
            return
        before = labels[union].copy()
        before[relative_region(self.region, union)] = self.before
        self.region, self.before = union, before

    def finish(self, labels: np.ndarray, serial: int) -> EditRecord | None:
        """The undo record of the voxels that changed, or None if none did."""
        if self.region is None or self.before is None:
            return None
        after = labels[self.region]
        changed = bounding_region(after != self.before)
        if changed is None:
            return None
        before, after = self.before[changed].copy(), after[changed].copy()
        region = offset_region(changed, self.region)
        drawn = drawn_pairs(before, after, region[0].start) if self.kind in DRAWN_KINDS else frozenset()
        return EditRecord(serial, self.kind, region, before, after, drawn)


class EditHistory:
    """Undo and redo stacks of :class:`EditRecord`, with the oldest steps dropped past a memory cap."""

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = int(max_bytes)
        self._undo: list[EditRecord] = []
        self._redo: list[EditRecord] = []
        self._serial = 0
        self._dropped = 0  # serial of the newest step dropped past the cap: the state under the oldest kept

    def next_serial(self) -> int:
        """A new record number, never handed out before."""
        self._serial += 1
        return self._serial

    def push(self, record: EditRecord) -> None:
        """Add a new step; the redo stack is cleared and old steps are dropped past the cap."""
        self._undo.append(record)
        self._redo.clear()
        while self.nbytes > self.max_bytes and len(self._undo) > 1:
            self._dropped = self._undo.pop(0).serial

    def undo(self) -> EditRecord | None:
        """Move the latest step to the redo stack and return it (None if there is none)."""
        if not self._undo:
            return None
        record = self._undo.pop()
        self._redo.append(record)
        return record

    def redo(self) -> EditRecord | None:
        """Move the latest undone step back and return it (None if there is none)."""
        if not self._redo:
            return None
        record = self._redo.pop()
        self._undo.append(record)
        return record

    def clear(self) -> None:
        """Forget every step; the current labels get a new state id."""
        self._undo.clear()
        self._redo.clear()
        self._dropped = self.next_serial()

    @property
    def state(self) -> int:
        """An id of the current labels: the serial of the latest applied step (0 before any)."""
        return self._undo[-1].serial if self._undo else self._dropped

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_records(self) -> tuple[EditRecord, ...]:
        """The applied steps, oldest first."""
        return tuple(self._undo)

    @property
    def nbytes(self) -> int:
        """Memory held by both stacks."""
        return sum(r.nbytes for r in self._undo) + sum(r.nbytes for r in self._redo)
