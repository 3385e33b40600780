"""The numpy thread pool: every item runs once, errors reach the caller, the thread count is checked."""

from __future__ import annotations

import threading

import pytest

from legseg_core.errors import LegsegError
from legseg_core.threads import run_each, worker_count


def test_run_each_runs_every_item_once_on_several_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGSEG_THREADS", "3")
    seen, names = [], set()
    lock = threading.Lock()

    def record(item: int) -> None:
        with lock:
            seen.append(item)
            names.add(threading.current_thread().name)

    run_each(record, range(12))
    assert sorted(seen) == list(range(12))
    assert all(name.startswith("legseg-numpy") for name in names)


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGSEG_THREADS", "2")

    def fail(item: int) -> None:
        if item == 3:
            raise ValueError("item 3 failed")

    with pytest.raises(ValueError, match="item 3 failed"):
        run_each(fail, range(5))


def test_thread_count_comes_from_the_environment_or_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGSEG_THREADS", "1")
    assert worker_count() == 1
    monkeypatch.delenv("LEGSEG_THREADS")
    assert 1 <= worker_count() <= 4
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("LEGSEG_THREADS", bad)
        with pytest.raises(LegsegError, match=f"LEGSEG_THREADS={bad!r}"):
            worker_count()
