"""The worker runs progress generators off the UI thread; the progress widget follows it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from qtpy.QtCore import QThread

from legseg_core.errors import StoreError
from legseg_core.progress import CancelToken, Progress
from legseg_gui.progress_widget import ProgressWidget, timing_text
from legseg_gui.worker import ProgressWorker, start_worker


def counting(steps: int, seconds: float = 0.0, log: list | None = None):
    """Yield ``steps`` events, then return the thread the work ran on."""
    try:
        for step in range(steps):
            time.sleep(seconds)
            yield Progress(step + 1, steps, f"step {step + 1}")
        return threading.get_ident()
    finally:
        if log is not None:
            log.append("closed")


def test_the_work_runs_on_another_thread_and_the_result_arrives_on_the_ui_thread(qtbot) -> None:
    worker = ProgressWorker(counting(5), what="counting")
    events, delivered_on = [], []
    worker.progress.connect(lambda event: (events.append(event), delivered_on.append(QThread.currentThread())))
    with qtbot.waitSignals([worker.finished, worker.ended], timeout=5000):
        worker.start()
    assert worker.outcome == "finished" and not worker.running
    assert worker.result != threading.get_ident()
    assert events and events[-1].done == 5 and worker.last_progress == events[-1]
    assert all(thread is QThread.currentThread() for thread in delivered_on)


def test_a_callable_is_called_on_the_worker_thread_and_may_return_a_plain_result(qtbot) -> None:
    worker = ProgressWorker.call(lambda a, b: (a + b, threading.get_ident()), 2, 3, what="adding")
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.start()
    total, thread = blocker.args[0]
    assert total == 5 and thread != threading.get_ident()


def test_cancel_closes_the_generator_at_its_next_yield(qtbot) -> None:
    log: list[str] = []
    worker = ProgressWorker(counting(10_000, 0.001, log), what="a long count")
    worker.progress.connect(lambda event: worker.cancel() if event.done >= 3 else None)
    finished = []
    worker.finished.connect(finished.append)
    with qtbot.waitSignals([worker.cancelled, worker.ended], timeout=5000):
        worker.start()
    assert log == ["closed"] and not finished
    assert worker.outcome == "cancelled" and worker.last_progress.done < 10_000


def test_work_that_checks_the_shared_token_is_cancelled_between_yields(qtbot) -> None:
    token = CancelToken()
    started = threading.Event()

    def waits_for_cancel():
        started.set()
        while True:
            token.raise_if_cancelled("waiting")
            time.sleep(0.005)

    worker = ProgressWorker(waits_for_cancel, what="waiting", token=token).start()
    assert started.wait(5)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        worker.cancel()


def test_a_legseg_error_arrives_as_its_message(qtbot) -> None:
    def fails():
        yield Progress(0, 1, "about to fail")
        raise StoreError("no case case-123 in the store")

    worker = ProgressWorker(fails(), what="loading")
    with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["no case case-123 in the store"] and worker.outcome == "errored"


def test_an_unexpected_error_is_relayed_with_its_type_and_logged(qtbot, caplog) -> None:
    worker = ProgressWorker(lambda: 1 / 0, what="dividing")
    with qtbot.waitSignal(worker.errored, timeout=5000) as blocker:
        worker.start()
    assert blocker.args[0].startswith("unexpected error in dividing: ZeroDivisionError")
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


def test_a_worker_starts_once(qtbot) -> None:
    worker = start_worker(counting(1), what="once")
    with pytest.raises(RuntimeError, match="once was started already"):
        worker.start()
    assert worker.wait(5)
    qtbot.waitUntil(lambda: worker.outcome == "finished", timeout=5000)


def test_fast_work_is_coalesced_so_the_ui_thread_is_not_flooded(qtbot) -> None:
    worker = ProgressWorker(counting(5_000), what="fast")
    events = []

    def slow_ui(event) -> None:  # a UI slower than the work, so it cannot keep up by chance of scheduling
        events.append(event)
        time.sleep(0.001)

    worker.progress.connect(slow_ui)
    with qtbot.waitSignal(worker.ended, timeout=10_000):
        worker.start()
    assert 1 <= len(events) < 5_000 and events[-1].done == 5_000


def test_the_progress_widget_follows_a_worker_to_its_end(qtbot) -> None:
    widget = ProgressWidget()
    qtbot.addWidget(widget)
    gate = threading.Event()

    def halts():
        yield Progress(1, 4, "one of four")
        gate.wait(5)
        yield Progress(4, 4, "four of four")
        return "ok"

    worker = widget.attach(ProgressWorker(halts(), what="segmentation"))
    assert widget.cancel_button.isEnabled()
    worker.start()
    qtbot.waitUntil(lambda: widget.fraction == pytest.approx(0.25), timeout=5000)
    assert widget.message == "one of four"
    with qtbot.waitSignal(worker.ended, timeout=5000):
        gate.set()
    assert widget.fraction == 1.0 and widget.message == "segmentation: done"
    assert not widget.cancel_button.isEnabled() and widget.worker is None


def test_the_cancel_button_cancels_the_attached_worker(qtbot) -> None:
    widget = ProgressWidget()
    qtbot.addWidget(widget)
    worker = widget.attach(ProgressWorker(counting(100_000, 0.001), what="inference"))
    requested = []
    widget.cancel_requested.connect(lambda: requested.append(True))
    worker.start()
    qtbot.waitUntil(lambda: worker.last_progress is not None, timeout=5000)
    with qtbot.waitSignal(worker.cancelled, timeout=5000):
        widget.cancel_button.click()
    assert requested and widget.message == "inference: cancelled" and widget.fraction < 1.0


def test_the_progress_widget_shows_an_error_in_red(qtbot) -> None:
    widget = ProgressWidget()
    qtbot.addWidget(widget)
    worker = widget.attach(ProgressWorker(lambda: (_ for _ in ()).throw(StoreError("bad store /x")), what="opening"))
    with qtbot.waitSignal(worker.ended, timeout=5000):
        worker.start()
    assert widget.message == "bad store /x" and "c62828" in widget.message_label.styleSheet()


def test_without_a_worker_the_widget_shows_what_it_is_given(qtbot) -> None:
    widget = ProgressWidget(title="fine-tuning")
    qtbot.addWidget(widget)
    requested = []
    widget.cancel_requested.connect(lambda: requested.append(True))
    widget.begin("starting")
    assert widget.bar.maximum() == 0
    widget.show_progress(Progress(3, 10, "epoch 1/3"))
    assert widget.fraction == pytest.approx(0.3) and widget.message == "fine-tuning: epoch 1/3"
    widget.cancel_button.click()
    assert requested
    widget.end("stopped", success=False)
    assert widget.fraction == pytest.approx(0.3) and widget.message == "stopped"


def test_long_work_shows_the_time_elapsed_and_about_how_long_is_left(qtbot) -> None:
    now = [100.0]
    widget = ProgressWidget(title="fine-tuning", clock=lambda: now[0])
    qtbot.addWidget(widget)
    widget.begin("starting")
    now[0] += 4
    widget.show_progress(Progress(1, 100, "step 1/100"))
    assert widget.time_label.text() == ""  # short so far: no times
    now[0] += 116
    widget.show_progress(Progress(20, 100, "step 20/100"))
    assert widget.time_label.text() == "2:00 elapsed · about 8 min left"
    now[0] += 450
    widget.show_progress(Progress(95, 100, "step 95/100"))
    assert widget.time_label.text() == "9:30 elapsed · less than a minute left"
    assert widget.message == "fine-tuning: step 95/100"  # the message is left as it was
    now[0] += 33
    widget.end("fine-tuning: done")
    assert widget.time_label.text() == "took 10:03"
    widget.begin("again")
    assert widget.time_label.text() == ""


def test_the_time_left_waits_for_a_twentieth_of_the_work_and_hours_read_as_hours() -> None:
    assert timing_text(9.9, 0.5) == ""
    assert timing_text(30, 0.04) == "0:30 elapsed"
    assert timing_text(30, 0.0) == "0:30 elapsed"
    assert timing_text(3725, 0.5) == "1:02:05 elapsed · about 63 min left"


def test_many_signal_emits_do_not_crash_the_interpreter() -> None:
    """PySide6 6.12.0 under Python 3.11 loses a reference to True per emit (hence the pin below 6.12)."""
    script = ("import legseg_gui\n"
              "from qtpy.QtCore import QObject, Signal\n"
              "class Source(QObject):\n    poked = Signal()\n"
              "source = Source()\n"
              "for _ in range(100_000):\n    source.poked.emit()\n"
              "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
