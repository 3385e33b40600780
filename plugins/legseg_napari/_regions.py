"""Which part of a napari labels layer an edit changed, so that live scores update there only.

napari reports brush strokes, fills and polygons through ``layer.events.paint`` with the edit's
history atoms; undo and redo only refresh the layer (``events.set_data``, which scrolling and
toggling visibility also emit). :class:`EditWatcher` turns both into regions of the
``[z, y, x]`` grid: a paint event gives the bounding box of its atoms; a ``set_data`` event
after an undo or redo gives the bounding box of the history item that moved between napari's
undo and redo stacks, and one that changed nothing gives no region at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

Region = tuple[slice, slice, slice]

if TYPE_CHECKING:
    from napari.layers import Layer


def atom_region(atom: Any, shape: tuple[int, ...]) -> Region | None:
    """The ``[z, y, x]`` bounding box of one napari history atom (masked paint atom or index triple)."""
    slice_key = getattr(atom, "slice_key", None)
    if slice_key is not None:
        parts = tuple(slice_key)[-3:]
        boxes = (slice(*part.indices(size)[:2]) for part, size in zip(parts, shape[-3:]))
        return tuple(boxes)  # type: ignore[return-value]
    indices = atom[0]
    arrays = [np.asarray(axis) for axis in tuple(indices)[-3:]]
    if len(arrays) != 3 or arrays[0].size == 0:
        return None
    return tuple(slice(int(a.min()), int(a.max()) + 1) for a in arrays)  # type: ignore[return-value]


def union_region(regions: Iterable[Region | None]) -> Region | None:
    """The smallest box containing every given box (None when there is none)."""
    boxes = [r for r in regions if r is not None]
    if not boxes:
        return None
    return tuple(slice(min(b[axis].start for b in boxes), max(b[axis].stop for b in boxes))
                 for axis in range(3))  # type: ignore[return-value]


def item_region(item: Iterable[Any], shape: tuple[int, ...]) -> Region | None:
    """The bounding box of one history item (a list of atoms applied together)."""
    return union_region(atom_region(atom, shape) for atom in item)


def call_now(function: Callable[[], None]) -> None:
    """The default way of running deferred work: at once."""
    function()


class EditWatcher:
    """Calls ``on_edit(layer, region)`` for every edit of a labels layer: paint, fill, undo, redo.

    ``region`` is a ``[z, y, x]`` box, or None when the change cannot be located (the data was
    replaced); the caller then treats the whole grid as changed. napari emits the paint event of
    an edit made outside a mouse stroke (``layer.paint(...)`` from code) before it writes the
    voxels, so the callbacks run through ``defer`` (in the widgets: on the next turn of the Qt
    event loop), where the voxels are in place. :meth:`disconnect` stops it.
    """

    def __init__(self, layer: Layer, on_edit: Callable[[Any, Region | None], None], *,
                 defer: Callable[[Callable[[], None]], None] = call_now) -> None:
        self.layer = layer
        self._on_edit_callback = on_edit
        self._defer = defer
        self._pending: list[Region | None] = []
        self._connected = True
        self._data_id = id(layer.data)
        self._depths = self._history_depths()
        layer.events.paint.connect(self._on_paint)
        layer.events.set_data.connect(self._on_set_data)

    def disconnect(self) -> None:
        """Stop watching the layer (edits still pending are dropped)."""
        self._connected = False
        self._pending.clear()
        self.layer.events.paint.disconnect(self._on_paint)
        self.layer.events.set_data.disconnect(self._on_set_data)

    def flush(self) -> None:
        """Report the pending edits now (each edited box once, in order)."""
        pending, self._pending = self._pending, []
        if not self._connected:
            return
        for region in pending:
            self._on_edit_callback(self.layer, region)

    def _queue(self, region: Region | None) -> None:
        if not self._pending:
            self._pending.append(region)
            self._defer(self.flush)
        else:
            self._pending.append(region)

    def _history_depths(self) -> tuple[int, int] | None:
        undo, redo = getattr(self.layer, "_undo_history", None), getattr(self.layer, "_redo_history", None)
        return None if undo is None or redo is None else (len(undo), len(redo))

    def _on_paint(self, event: Any) -> None:
        self._depths = self._history_depths()
        region = item_region(event.value, np.shape(self.layer.data))
        if region is not None:
            self._queue(region)

    def _on_set_data(self, _event: Any = None) -> None:
        if id(self.layer.data) != self._data_id:  # the array itself was replaced
            self._data_id = id(self.layer.data)
            self._depths = self._history_depths()
            self._queue(None)
            return
        depths = self._history_depths()
        if depths is None or depths == self._depths or self._depths is None:
            self._depths = depths
            return  # scrolling, visibility: nothing changed
        undone = depths[1] > self._depths[1]
        stack = self.layer._redo_history if undone else self.layer._undo_history
        self._depths = depths
        self._queue(item_region(stack[-1], np.shape(self.layer.data)) if stack else None)
