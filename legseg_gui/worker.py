"""Running long work off the UI thread: a Qt runner for the progress generators of legseg_core.

Long work in :mod:`legseg_core` is a generator that yields :class:`~legseg_core.progress.Progress`
events and returns its result (see :mod:`legseg_core.progress`). :class:`ProgressWorker` runs
one on a ``QThread`` and relays what happens as signals delivered on the UI thread, so slots may
touch widgets:

- ``progress(Progress)`` for the yielded events (when the UI thread falls behind, only the
  latest is delivered, so fast work cannot flood the event loop);
- then exactly one of ``finished(result)``, ``errored(message)`` or ``cancelled()``;
- then ``ended()``, whatever the outcome.

Cancelling (:meth:`ProgressWorker.cancel`) sets a :class:`~legseg_core.progress.CancelToken`;
the work stops at its next ``yield``, where the generator is closed (its ``finally`` blocks
run), or earlier if the work checks the token itself. Errors a user can cause
(:class:`~legseg_core.errors.LegsegError`) arrive as their message; anything else is logged
with its traceback and arrives as a one-line message, so one handler serves both. The design
follows napari's ``thread_worker``, with Qt only, so the standalone application and the napari
plugin share it.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, cast

from qtpy.QtCore import QObject, QThread, Signal

from legseg_core.errors import CancelledError, LegsegError
from legseg_core.progress import CancelToken, Progress, ProgressWork, drive

log = logging.getLogger(__name__)

#: Workers still running; a running QThread must not be garbage collected.
_RUNNING: set["ProgressWorker"] = set()

Work = Any  # a progress generator, or a callable returning one (or returning a plain result)


class _WorkThread(QThread):
    """Runs the work on its own thread; its signals reach the worker's slots on the UI thread (queued).

    Progress is coalesced: the thread keeps the latest event and pokes the UI thread only when no
    poke is outstanding, so every event arrives while the UI keeps up and fast work cannot flood
    the event loop when it does not.
    """

    poked = Signal()
    outcome = Signal(str, object)

    def __init__(self, work: Work, token: CancelToken, what: str) -> None:
        super().__init__()
        self._work, self._token, self._what = work, token, what
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._poke_pending = False

    def run(self) -> None:  # Qt override: runs on the worker thread
        try:
            result = self._run_work()
        except CancelledError:
            self.outcome.emit("cancelled", None)
        except LegsegError as error:
            self.outcome.emit("errored", str(error))
        except Exception as error:  # noqa: BLE001 -- relayed to the one error handler, never lost
            log.exception("unexpected error in %s", self._what)
            self.outcome.emit("errored", f"unexpected error in {self._what}: {type(error).__name__}: {error}")
        else:
            self.outcome.emit("finished", result)
        finally:
            self._work = None

    def take_latest(self) -> Progress | None:
        """The newest event not yet taken (UI thread), or None."""
        with self._lock:
            event, self._latest, self._poke_pending = self._latest, None, False
        return event

    def _publish(self, event: Progress) -> None:
        if not isinstance(event, Progress):
            return
        with self._lock:
            self._latest = event
            if self._poke_pending:
                return
            self._poke_pending = True
        self.poked.emit()

    def _run_work(self) -> Any:
        self._token.raise_if_cancelled(self._what)
        work = self._work() if callable(self._work) and not inspect.isgenerator(self._work) else self._work
        self._token.raise_if_cancelled(self._what)
        if not inspect.isgenerator(work):
            return work
        return drive(cast("ProgressWork[Any]", work), self._publish, self._token, self._what)


class ProgressWorker(QObject):
    """Runs a progress generator on its own thread; signals arrive on the UI thread.

    ``work`` is a progress generator, or a callable (called on the worker thread, so heavy
    imports and set-up happen there) that returns a progress generator or a plain result.
    ``what`` names the work in messages ("segmentation"). Pass ``token`` to share a
    :class:`CancelToken` with work that checks it between yields.
    """

    progress = Signal(object)
    finished = Signal(object)
    errored = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, work: Work, *, what: str = "the work", token: CancelToken | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.token = token if token is not None else CancelToken()
        self.last_progress: Progress | None = None
        self.outcome: str | None = None
        self.result: Any = None
        self.error: str | None = None
        self._thread = _WorkThread(work, self.token, what)
        self._thread.poked.connect(self._on_poked)
        self._thread.outcome.connect(self._on_outcome)

    @classmethod
    def call(cls, function: Callable[..., Any], *args: Any, what: str = "the work", **kwargs: Any) -> "ProgressWorker":
        """A worker that calls ``function(*args, **kwargs)`` on the worker thread."""
        return cls(lambda: function(*args, **kwargs), what=what)

    # ---- control -------------------------------------------------------------------------------

    def start(self) -> "ProgressWorker":
        """Start the work on its thread (once); returns the worker."""
        if self.outcome is not None or self._thread.isRunning():
            raise RuntimeError(f"{self.what} was started already")
        _RUNNING.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next progress point; ``cancelled`` follows."""
        self.token.cancel()

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the outcome signal was delivered."""
        return self in _RUNNING

    def wait(self, timeout_seconds: float | None = None) -> bool:
        """Block until the thread has ended (True) or the timeout passed (False); signals still need
        the event loop to be delivered."""
        if timeout_seconds is None:
            return bool(self._thread.wait())
        return bool(self._thread.wait(max(int(timeout_seconds * 1000), 0)))

    def cancel_and_wait(self, timeout_seconds: float = 5.0) -> bool:
        """Cancel and wait for the thread to end (closing a window with work running)."""
        self.cancel()
        return self.wait(timeout_seconds)

    # ---- slots (UI thread) ------------------------------------------------------------------------

    def _on_poked(self) -> None:
        event = self._thread.take_latest()
        if event is not None and self.outcome is None:
            self.last_progress = event
            self.progress.emit(event)

    def _on_outcome(self, kind: str, payload: Any) -> None:
        self._thread.wait()
        self.outcome = kind
        _RUNNING.discard(self)
        if kind == "finished":
            self.result = payload
            self.finished.emit(payload)
        elif kind == "errored":
            self.error = str(payload)
            self.errored.emit(self.error)
        else:
            self.cancelled.emit()
        self.ended.emit()


def start_worker(work: Work, *, what: str = "the work", on_progress: Callable[[Progress], Any] | None = None,
                 on_finished: Callable[[Any], Any] | None = None, on_errored: Callable[[str], Any] | None = None,
                 on_cancelled: Callable[[], Any] | None = None, parent: QObject | None = None) -> ProgressWorker:
    """Create a :class:`ProgressWorker`, connect the given handlers, start it and return it."""
    worker = ProgressWorker(work, what=what, parent=parent)
    for signal, handler in ((worker.progress, on_progress), (worker.finished, on_finished),
                            (worker.errored, on_errored), (worker.cancelled, on_cancelled)):
        if handler is not None:
            signal.connect(handler)
    return worker.start()


def running_workers() -> list[ProgressWorker]:
    """The workers whose outcome has not been delivered yet."""
    return list(_RUNNING)


def shutdown_workers(timeout_seconds: float = 10.0) -> bool:
    """Cancel every running worker and wait for their threads (before the application exits, so no
    thread outlives its QThread object); True when all ended in time."""
    workers = running_workers()
    for worker in workers:
        worker.cancel()
    return all(worker.wait(timeout_seconds) for worker in workers)


atexit.register(shutdown_workers)  # a QThread destroyed while running aborts the interpreter
