"""Wall and CPU seconds per named stage of one run, for the inference benchmark and the Segmenter.

A :class:`StageClock` times consecutive stages (``with clock.stage("forward"): ...``): the wall
seconds of each, and the CPU seconds of the whole process over the same span (every thread,
the thread pools of numpy stages and of torch included). Stages run on a thread pool at the
same time as each other (the way back and the argmax, fused a few slices at a time) are timed
with :meth:`StageClock.split`: their CPU seconds are summed per stage from each thread's own
clock, and the wall seconds of the span are shared out in proportion to them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple


class StageTime(NamedTuple):
    """Seconds of one stage: ``wall`` as on a clock, ``cpu`` summed over the process's threads."""

    wall: float
    cpu: float


class StageClock:
    """Stage seconds of one run, in the order the stages first ran; a stage run twice adds up."""

    def __init__(self) -> None:
        self.stages: dict[str, StageTime] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Add ``wall`` and ``cpu`` seconds to stage ``name``."""
        before = self.stages.get(name, StageTime(0.0, 0.0))
        self.stages[name] = StageTime(before.wall + wall, before.cpu + cpu)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body of the ``with`` block as stage ``name``."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

    @contextmanager
    def split(self, names: tuple[str, ...]) -> Iterator[ThreadShares]:
        """Time a span whose work several threads share among ``names``: the body records each
        thread's CPU seconds per stage in the :class:`ThreadShares` it is given."""
        shares = ThreadShares(names)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield shares
        finally:
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            total = sum(shares.cpu.values())
            for name in names:
                part = shares.cpu[name] / total if total > 0 else 1.0 / len(names)
                self.add(name, wall * part, cpu * part)

    def total(self) -> StageTime:
        """The sum over the stages."""
        return StageTime(sum(t.wall for t in self.stages.values()), sum(t.cpu for t in self.stages.values()))


class ThreadShares:
    """CPU seconds per stage added up from many threads (each measures itself with ``time.thread_time``)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.cpu = {name: 0.0 for name in names}
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Count this thread's CPU seconds in the ``with`` block towards stage ``name``."""
        start = time.thread_time()
        try:
            yield
        finally:
            spent = time.thread_time() - start
            with self._lock:
                self.cpu[name] += spent
