"""The label editor: brush, eraser, fill, relabel and interpolation on a ``[z, y, x]`` label map,
with undo, redo, change events and a dirty flag.

The editor edits the caller's uint8 array in place (a view and an overlap tracker can share
it). Every change is announced on ``events.labels_changed`` with the changed region, a tuple of
three slices ``(z, y, x)``, so a listener such as ``OverlapTracker.apply_edit`` looks at that box
only. Positions are voxel indices; in-plane positions ``(y, x)`` may be fractional (a mouse
position), with voxel ``(i, j)``'s centre at ``(i, j)``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from legseg_core.editing.errors import EditingError
from legseg_core.editing.events import EventEmitter
from legseg_core.editing.history import EditHistory, EditRecord, StrokeBuffer
from legseg_core.editing.regions import Region, bounding_region, full_region, offset_region, slice_region
from legseg_core.editing.shapes import capsule_mask, connected_region, interpolate_masks
from legseg_core.errors import ImageShapeError, ImageValueError
from legseg_core.labels import MUSCLE_IDS, muscle_name

MAX_LABEL = max(MUSCLE_IDS)


class LabelEditor:
    """Edits a uint8 ``[z, y, x]`` label map (0 background, muscles 1..7) in place, with undo.

    ``spacing`` is the voxel size ``(z, y, x)`` in mm (used by interpolation); the history keeps
    at most ``max_history_bytes`` of before/after values, dropping the oldest steps beyond it.
    """

    def __init__(self, labels: np.ndarray, *, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
                 max_history_bytes: int = 256 * 2**20) -> None:
        self.spacing = tuple(float(s) for s in spacing)
        self.events = SimpleNamespace(labels_changed=EventEmitter("labels_changed"),
                                      history_changed=EventEmitter("history_changed"))
        self.history = EditHistory(max_history_bytes)
        self._stroke: StrokeBuffer | None = None
        self._edit_count = 0
        self._saved_state = 0
        self.labels = _checked_labels(labels)

    # ---- state -----------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int]:
        """The ``[z, y, x]`` shape of the label map."""
        return tuple(self.labels.shape)

    @property
    def edit_count(self) -> int:
        """How many changes were made so far (edits, undos, redos): autosave compares it."""
        return self._edit_count

    @property
    def dirty(self) -> bool:
        """True when the labels differ from the state last marked saved (undo can make it False again)."""
        in_stroke = self._stroke is not None and self._stroke.wrote
        return in_stroke or self.history.state != self._saved_state

    def mark_saved(self) -> None:
        """Remember the current labels as saved: ``dirty`` is False until the next change."""
        self.end_stroke()
        self._saved_state = self.history.state
        self.events.history_changed.emit()

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo or (self._stroke is not None and self._stroke.wrote)

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo and self._stroke is None

    def reset(self, labels: np.ndarray | None = None) -> None:
        """Take a new label map (or keep the current one), forget the history, mark it saved."""
        self._stroke = None
        if labels is not None:
            self.labels = _checked_labels(labels)
        self.history.clear()
        self._saved_state = self.history.state
        self._changed(full_region(self.shape))
        self.events.history_changed.emit()

    # ---- strokes: one undo step per drag ---------------------------------------------------

    def begin_stroke(self, kind: str = "brush") -> None:
        """Start one undo step that gathers every write until :meth:`end_stroke` (a mouse drag)."""
        if self._stroke is not None:
            raise EditingError(f"cannot begin a {kind} stroke: a {self._stroke.kind} stroke is still open")
        self._stroke = StrokeBuffer(kind)

    def end_stroke(self) -> EditRecord | None:
        """Close the open stroke (if any) and push its undo step; returns it, or None if nothing changed."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return None
        record = stroke.finish(self.labels, self.history.next_serial())
        if record is not None:
            self.history.push(record)
        self.events.history_changed.emit()
        return record

    @property
    def in_stroke(self) -> bool:
        return self._stroke is not None

    # ---- edits -----------------------------------------------------------------------------

    def paint(self, z: int, start: tuple[float, float], end: tuple[float, float] | None = None, *,
              radius: float = 1.0, label: int, paint_over: int | None = None) -> Region | None:
        """Paint ``label`` (0 erases) on slice ``z`` in a disc of ``radius`` voxels, or a capsule to ``end``.

        ``paint_over`` limits the write to background (0) or to one muscle's voxels. Returns the
        changed region, or None if no voxel changed.
        """
        z, label = self._check_slice(z), _check_label(label, "paint")
        _check_paint_over(paint_over)
        shape = capsule_mask(self.shape[1:], start, start if end is None else end, radius)
        if shape is None:
            return None
        rows, columns, mask = shape
        return self._write(slice_region(z, rows, columns), mask[None], label, paint_over, "eraser" if label == 0 else "brush")

    def fill(self, z: int, seed: tuple[int, int], label: int) -> Region | None:
        """Flood fill within slice ``z``: the 4-connected region of the seed's value becomes ``label``."""
        z, label = self._check_slice(z), _check_label(label, "fill")
        seed = self._check_position((z, *seed))[1:]
        mask = connected_region(self.labels[z], seed)
        return self._write(slice_region(z, slice(0, self.shape[1]), slice(0, self.shape[2])), mask[None],
                           label, None, "fill")

    def relabel(self, seed: tuple[int, int, int], label: int, *, three_d: bool = False) -> Region | None:
        """Give the connected region of the seed's muscle another ``label``, on its slice or in 3D (6-connected)."""
        label = _check_label(label, "relabel")
        seed = self._check_position(seed)
        value = int(self.labels[seed])
        if value == 0:
            raise EditingError(f"relabel needs a seed inside a muscle; voxel (z, y, x) = {seed} is background "
                               "(use fill for background)")
        if not three_d:
            mask = connected_region(self.labels[seed[0]], seed[1:])[None]
            region = slice_region(seed[0], slice(0, self.shape[1]), slice(0, self.shape[2]))
            return self._write(region, mask, label, None, "relabel")
        box = bounding_region(self.labels == value)
        mask = connected_region(self.labels[box], tuple(s - b.start for s, b in zip(seed, box)))
        return self._write(box, mask, label, None, "relabel-3d")

    def _write(self, region: Region, mask: np.ndarray, label: int, paint_over: int | None, kind: str) -> Region | None:
        """Write ``label`` where ``mask`` (shaped like ``labels[region]``) is set and ``paint_over`` allows."""
        target = self.labels[region]
        change = mask & (target != label)
        if paint_over is not None:
            change &= target == paint_over
        return self._commit(region, change, label, kind)

    def _write_values(self, region: Region, values: np.ndarray, kind: str) -> Region | None:
        """Replace ``labels[region]`` by ``values`` where they differ."""
        return self._commit(region, self.labels[region] != values, values, kind)

    def _commit(self, region: Region, change: np.ndarray, values: np.ndarray | int, kind: str) -> Region | None:
        """Write the changed voxels inside the open stroke (or a stroke of their own) and announce them."""
        changed = bounding_region(change)
        if changed is None:
            return None
        changed_region = offset_region(changed, region)
        implicit = self._stroke is None
        if implicit:
            self.begin_stroke(kind)
        self._stroke.include(changed_region, self.labels)  # type: ignore[union-attr]
        self._stroke.wrote = True  # type: ignore[union-attr]
        change = change[changed]
        target = self.labels[changed_region]
        target[change] = values if np.isscalar(values) else np.asarray(values)[changed][change]
        self._changed(changed_region)
        if implicit:
            self.end_stroke()
        return changed_region

    def replace_all(self, labels: np.ndarray, kind: str = "replace") -> Region | None:
        """Replace the whole label map by ``labels`` (same shape, values 0..7) as one undoable step.

        For labels that come from outside the history (a file, a recovered autosave): they count
        as unsaved edits. Returns the changed region, or None if nothing changed.
        """
        values = np.asarray(labels)
        if values.shape != self.shape:
            raise ImageShapeError(f"replacement labels of shape {values.shape} do not fit the label map {self.shape}")
        if values.size and (values.min() < 0 or values.max() > MAX_LABEL):
            raise ImageValueError(f"label values must lie in 0..{MAX_LABEL}, found {values.min()}..{values.max()}")
        return self._write_values(full_region(self.shape), values.astype(np.uint8, copy=False), kind)

    # ---- interpolation ---------------------------------------------------------------------

    def interpolate(self, label: int, z_from: int, z_to: int) -> Region | None:
        """Fill the slices strictly between ``z_from`` and ``z_to`` with the muscle's interpolated shape.

        Shape-based: on each slice between, the muscle becomes where the linear blend of the
        signed distance transforms (mm) of its masks on the two end slices is negative. It
        replaces the muscle's old voxels there and paints over background only, never over
        another muscle. One undo step.
        """
        label = _check_muscle(label)
        z_from, z_to = sorted((self._check_slice(z_from), self._check_slice(z_to)))
        if z_to - z_from < 2:
            return None
        masks = [self.labels[z] == label for z in (z_from, z_to)]
        for z, mask in zip((z_from, z_to), masks):
            if not mask.any():
                raise EditingError(f"cannot interpolate {muscle_name(label)}: slice {z} holds none of it")
        fractions = [(z - z_from) / (z_to - z_from) for z in range(z_from + 1, z_to)]
        shapes = np.stack(interpolate_masks(masks[0], masks[1], fractions, self.spacing[1:]))
        between = self.labels[z_from + 1:z_to]
        new = np.where(between == label, 0, between)
        new = np.where(shapes & (new == 0), label, new).astype(np.uint8)
        region = (slice(z_from + 1, z_to), slice(0, self.shape[1]), slice(0, self.shape[2]))
        return self._write_values(region, new, "interpolate")

    def interpolate_edited(self, label: int) -> list[Region]:
        """Interpolate the muscle between each pair of consecutive slices drawn on (one undo step)."""
        drawn = self.edited_slices(label)
        if len(drawn) < 2:
            raise EditingError(f"draw {muscle_name(label)} on at least two slices to interpolate between them "
                               f"(drawn on: {list(drawn) or 'none'})")
        self.end_stroke()
        self.begin_stroke("interpolate")
        try:
            regions = [self.interpolate(label, a, b) for a, b in zip(drawn[:-1], drawn[1:])]
        finally:
            self.end_stroke()
        return [r for r in regions if r is not None]

    def edited_slices(self, label: int) -> tuple[int, ...]:
        """The axial slices where the muscle was drawn or erased by hand, in the undoable history."""
        label = _check_muscle(label)
        slices = {z for record in self.history.undo_records for z, value in record.drawn if value == label}
        return tuple(sorted(slices))

    # ---- undo and redo ---------------------------------------------------------------------

    def undo(self) -> Region | None:
        """Undo the latest step (closing an open stroke first); returns the restored region or None."""
        self.end_stroke()
        record = self.history.undo()
        return self._restore(record, record.before if record else None)

    def redo(self) -> Region | None:
        """Redo the latest undone step; returns the changed region or None."""
        self.end_stroke()
        record = self.history.redo()
        return self._restore(record, record.after if record else None)

    def _restore(self, record: EditRecord | None, values: np.ndarray | None) -> Region | None:
        if record is None or values is None:
            return None
        self.labels[record.region] = values
        self._changed(record.region)
        self.events.history_changed.emit()
        return record.region

    # ---- helpers ---------------------------------------------------------------------------

    def _changed(self, region: Region) -> None:
        self._edit_count += 1
        self.events.labels_changed.emit(region)

    def _check_slice(self, z: int) -> int:
        if not 0 <= int(z) < self.shape[0]:
            raise EditingError(f"slice {z} is outside the volume's {self.shape[0]} axial slices (0..{self.shape[0] - 1})")
        return int(z)

    def _check_position(self, position: tuple[int, ...]) -> tuple[int, int, int]:
        index = tuple(int(round(p)) for p in position)
        if len(index) != 3 or any(not 0 <= i < n for i, n in zip(index, self.shape)):
            raise EditingError(f"position (z, y, x) = {tuple(position)} is outside the volume of shape {self.shape}")
        return index


def _checked_labels(labels: np.ndarray) -> np.ndarray:
    """The caller's array if it is a writable uint8 ``[z, y, x]`` map of values 0..7."""
    if not isinstance(labels, np.ndarray) or labels.ndim != 3:
        raise ImageShapeError(f"a label map to edit must be a 3D [z, y, x] array, got shape {np.shape(labels)}")
    if labels.dtype != np.uint8:
        raise ImageValueError(f"a label map to edit must be uint8 (it is edited in place), got {labels.dtype}")
    if not labels.flags.writeable:
        raise ImageValueError("a label map to edit must be writable; pass a copy of a read-only array")
    if labels.size and int(labels.max()) > MAX_LABEL:
        raise ImageValueError(f"label values must lie in 0..{MAX_LABEL}, found {int(labels.max())}")
    return labels


def _check_label(label: int, what: str) -> int:
    if not 0 <= int(label) <= MAX_LABEL:
        raise EditingError(f"cannot {what} with label {label}: labels are 0 (background) to {MAX_LABEL}")
    return int(label)


def _check_muscle(label: int) -> int:
    if int(label) not in MUSCLE_IDS:
        raise EditingError(f"label {label} is not a muscle; muscles are {MUSCLE_IDS[0]}..{MUSCLE_IDS[-1]}")
    return int(label)


def _check_paint_over(paint_over: int | None) -> None:
    if paint_over is not None and not 0 <= int(paint_over) <= MAX_LABEL:
        raise EditingError(f"paint_over must be None, 0 (background) or a muscle 1..{MAX_LABEL}, got {paint_over}")
