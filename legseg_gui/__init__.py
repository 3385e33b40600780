"""Qt widgets (through qtpy) shared by the napari plugin and the standalone LegSeg application."""

from legseg_gui._qt_fixes import guard_signal_emit

#: Whether the PySide6 emit defect was found and guarded against (see legseg_gui._qt_fixes).
SIGNAL_EMIT_GUARDED = guard_signal_emit()
