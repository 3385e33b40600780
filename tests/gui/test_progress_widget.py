"""The progress widget: what an idle bar and a running one show."""

from __future__ import annotations


def test_an_idle_bar_shows_no_percentage_until_work_starts(qtbot):
    from legseg_core.progress import Progress
    from legseg_gui.progress_widget import ProgressWidget

    widget = ProgressWidget()
    qtbot.addWidget(widget)
    assert not widget.bar.isTextVisible()
    widget.show_progress(Progress(1, 4, "a quarter"))
    assert widget.bar.isTextVisible() and widget.bar.value() == 250
