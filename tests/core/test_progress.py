"""Progress generators: drive runs them, share re-scales one part of a larger piece of work."""

from __future__ import annotations

import pytest

from legseg_core.errors import CancelledError
from legseg_core.progress import CancelToken, Progress, ProgressWork, drive, share


def steps(count: int, result: str) -> ProgressWork[str]:
    for done in range(1, count + 1):
        yield Progress(done, count, f"step {done}", {"step": done})
    return result


def batch() -> ProgressWork[list[str]]:
    results = []
    for index, name in enumerate(("a", "b")):
        results.append((yield from share(steps(2, name), index, 2, f"case {name}", {"case": name})))
    return results


def test_share_rescales_each_part_and_keeps_its_result() -> None:
    events: list[Progress] = []
    assert drive(batch(), events.append) == ["a", "b"]
    assert [(event.done, event.total) for event in events] == [(0.5, 2), (1.0, 2), (1.5, 2), (2.0, 2)]
    assert events[2].message == "case b: step 1" and events[2].details == {"step": 1, "case": "b"}


def test_drive_stops_at_the_progress_point_after_a_cancel() -> None:
    token, events, closed = CancelToken(), [], []

    def work() -> ProgressWork[None]:
        try:
            yield from steps(5, "")
        finally:
            closed.append(True)

    def cancel_at_two(event: Progress) -> None:
        events.append(event)
        if event.done == 2:
            token.cancel()

    with pytest.raises(CancelledError, match="counting was cancelled"):
        drive(work(), cancel_at_two, token, what="counting")
    assert len(events) == 2 and closed == [True]
