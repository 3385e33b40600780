"""Work-arounds for defects of Qt bindings that would crash the application.

**PySide6 6.12 drops a reference to True on every signal emit.** Under Python 3.11 and older,
``SignalInstance.emit()`` returns ``True`` without owning a reference to it, so every emit from
Python takes one reference away. After a few thousand emits (moving the mouse over the image
view emits the status line) the interpreter frees its ``True`` object and aborts with "Fatal
Python error: bool_dealloc: deallocating True or False". Python 3.12 made ``True`` immortal, so
the defect is harmless there. :func:`guard_signal_emit` finds the defect with a few emits of a
probe signal and, where it is present, gives ``True`` -- a static object that the interpreter
never frees -- a reference count so large that no session can use it up (2**40 emits).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PROBE_EMITS = 16
#: References given to True where emits lose them: ~10**12 emits, decades of mouse moves.
SPARE_REFERENCES = 1 << 40


def emit_loses_true_references(emits: int = PROBE_EMITS) -> bool:
    """True when each Python ``Signal.emit()`` of the Qt binding takes a reference away from ``True``."""
    from qtpy.QtCore import QObject, Signal

    class _Probe(QObject):
        poked = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.poked.emit()
    lost = before - sys.getrefcount(True)
    probe.deleteLater()
    return lost >= emits // 2


def guard_signal_emit() -> bool:
    """Protect ``True`` from the PySide6 emit defect where it is present; True when the guard was applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return False  # immortal True, or an interpreter whose object layout is not the plain one
    import qtpy

    if qtpy.API_NAME != "PySide6" or not emit_loses_true_references():
        return False
    reference_count = ctypes.c_ssize_t.from_address(id(True))
    reference_count.value += SPARE_REFERENCES
    log.info("PySide6 %s loses a reference to True per signal emit; guarded", qtpy.QT_VERSION)
    return True
