"""A minimal event emitter: models announce changes, views and trackers subscribe.

Models in :mod:`legseg_core` (the label editor, the editing state) must not depend on Qt, so
they announce changes through :class:`EventEmitter` objects; a Qt widget connects one of its
``_on_<event>`` slots and disconnects it when it is destroyed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class EventEmitter:
    """A named list of callbacks, called in connection order with the emitted arguments."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``callback`` on every emit (once, however often it is connected); returns it."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback``; nothing happens if it was not connected."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every connected callback with ``args``."""
        for callback in tuple(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"EventEmitter({self.name!r}, {len(self)} callbacks)"
