"""A small thread pool for the numpy stages of the pipeline (resampling, argmax, entropy).

numpy releases the GIL inside its array loops, so splitting a large array operation into
independent pieces (class channels, runs of slices) and running them on threads uses every core
where a single numpy call would use one. The pieces must write to disjoint parts of their
outputs. The number of threads is the number of cores this process may use, at most four
(beyond that the memory bandwidth, not the cores, limits these operations); ``LEGSEG_THREADS``
overrides it, and 1 runs everything on the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from legseg_core.errors import LegsegError

Item = TypeVar("Item")
MAX_THREADS = 4


def worker_count() -> int:
    """Threads for the numpy stages: ``LEGSEG_THREADS`` if set, else the usable cores (at most 4)."""
    text = os.environ.get("LEGSEG_THREADS", "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise LegsegError(f"LEGSEG_THREADS={text!r} must be a whole number >= 1")
        return int(text)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


def run_each(function: Callable[[Item], object], items: Iterable[Item]) -> None:
    """Call ``function(item)`` for every item, on up to :func:`worker_count` threads; errors propagate."""
    items = list(items)
    workers = min(worker_count(), len(items))
    if workers <= 1:
        for item in items:
            function(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="legseg-numpy") as pool:
        for future in [pool.submit(function, item) for item in items]:
            future.result()

