"""The responsiveness check of the GUI tests passes through a hiccup and fails when the UI thread does the work."""

from __future__ import annotations

import time

import pytest

from tests.gui.app_helpers import TimerGaps


def run_event_loop(qtbot, seconds: float) -> None:
    qtbot.wait(int(seconds * 1000))


def test_a_hiccup_of_the_event_loop_passes(qtbot) -> None:
    gaps = TimerGaps().start()
    run_event_loop(qtbot, 0.8)
    time.sleep(0.3)  # the scheduler or the garbage collector holds the UI thread once
    run_event_loop(qtbot, 0.8)
    gaps.stop()
    assert gaps.max_gap >= 0.3
    gaps.assert_responsive("the work ran")


def test_work_done_on_the_ui_thread_fails(qtbot) -> None:
    gaps = TimerGaps().start()
    run_event_loop(qtbot, 0.05)
    time.sleep(1.0)  # the whole work on the UI thread
    run_event_loop(qtbot, 0.05)
    gaps.stop()
    with pytest.raises(AssertionError, match=r"stalled for \d+% of the"):
        gaps.assert_responsive("the work ran")
