"""Editing a muscle label map: brush, eraser, flood fill, relabel, interpolation, undo and redo.

Pure numpy/scipy, no Qt. :class:`LabelEditor` edits a uint8 ``[z, y, x]`` array in place and
announces every change with the changed region (three slices), so a view or an
``OverlapTracker`` (``editor.events.labels_changed.connect(tracker.apply_edit)``) updates only
that box. :class:`EditingState` holds what the user edits with (tool, muscle, brush radius).
"""

from __future__ import annotations

from legseg_core.editing.editor import LabelEditor
from legseg_core.editing.errors import EditingError
from legseg_core.editing.events import EventEmitter
from legseg_core.editing.history import EditHistory, EditRecord
from legseg_core.editing.regions import Region
from legseg_core.editing.tools import MAX_BRUSH_RADIUS, TOOLS, EditingState

__all__ = ["MAX_BRUSH_RADIUS", "TOOLS", "EditHistory", "EditRecord", "EditingError", "EditingState", "EventEmitter",
           "LabelEditor", "Region"]
