"""Connecting Qt widgets to the event emitters of the pure models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtWidgets import QWidget

from legseg_core.editing.events import EventEmitter


def connect_while_alive(widget: QWidget, emitter: EventEmitter, callback: Callable[..., Any]) -> None:
    """Connect ``callback`` to ``emitter`` until ``widget`` is destroyed, so a dead widget is never called."""
    emitter.connect(callback)
    widget.destroyed.connect(lambda *_: emitter.disconnect(callback))
