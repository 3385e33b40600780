"""Progress and cancellation for long work (inference, training, cohorts, evaluation).

Long work is written as a generator that yields :class:`Progress` events and returns its
result; every ``yield`` is a progress point and a place where the work may be cancelled (the
consumer simply stops iterating, or sets a :class:`CancelToken`). :func:`drive` runs such a
generator to its end and hands each event to a callback, which is how the CLI attaches a
progress bar and the GUI's worker thread its progress signal. :func:`relay` passes one piece of
work's events on, changed, inside a larger piece of work, and :func:`share` re-scales them into
that piece's share of the whole (one case of a batch, one model of several).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from legseg_core.errors import CancelledError

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress point: ``done`` of ``total`` steps, a message, and free details (loss, Dice...)."""

    done: float
    total: float
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Done as a fraction in 0..1 (0 when the total is unknown)."""
        return min(1.0, self.done / self.total) if self.total else 0.0


ProgressWork = Generator[Progress, None, T]
ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """A flag that a UI thread sets and long work checks at its progress points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next progress point."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "the work") -> None:
        """Raise :class:`CancelledError` if cancellation was asked for."""
        if self._event.is_set():
            raise CancelledError(f"{what} was cancelled")


def drive(work: ProgressWork[T], callback: ProgressCallback | None = None,
          cancel: CancelToken | None = None, what: str = "the work") -> T:
    """Run a progress generator to its end, reporting each event; return the generator's result.

    With ``cancel``, the token is checked after each event is reported: once it is set, the
    generator is closed (its ``finally`` blocks run) and :class:`CancelledError` is raised."""
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if callback is not None:
            callback(event)
        if cancel is not None and cancel.cancelled:
            work.close()
            raise CancelledError(f"{what} was cancelled")


def relay(work: ProgressWork[T], change: Callable[[Progress], Progress]) -> ProgressWork[T]:
    """Yield ``change(event)`` for each event of ``work`` and return its result (``yield from``
    with a change on the way)."""
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            result: T = stop.value
            return result
        yield change(event)


def share(work: ProgressWork[T], index: int, count: int, prefix: str = "",
          details: dict[str, Any] | None = None) -> ProgressWork[T]:
    """Relay ``work`` as part ``index`` (0-based) of ``count`` parts: progress runs from ``index`` to
    ``index + 1`` of ``count``, messages start with ``prefix: `` and carry ``details`` as well."""
    def change(event: Progress) -> Progress:
        message = f"{prefix}: {event.message}" if prefix else event.message
        return Progress(index + event.fraction, count, message, {**event.details, **(details or {})})

    return relay(work, change)


def run_quietly(work: ProgressWork[T]) -> T:
    """Run a progress generator to its end without reporting (tests, scripts)."""
    return drive(work)
