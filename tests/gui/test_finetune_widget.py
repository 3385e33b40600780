"""The fine-tune widget: a real `legseg finetune` process followed to its verdict, cancel, errors, rollback."""

from __future__ import annotations

import json
import sys

import pytest

from legseg_core.training.registry import ModelRegistry
from legseg_gui.finetune_widget import QUICK_EPOCHS, FinetuneWidget, finetune_command, verdict_text
from tests.gui.app_helpers import TimerGaps, store_ready_to_finetune

FAST_FINETUNE = ("--epochs", "1", "--device", "cpu", "--recipe-option", "precision=fp32",
                 "--recipe-option", "min_epoch_steps=0",
                 "--recipe-option", "batch_size=2", "--mean-tolerance", "0.99", "--muscle-tolerance", "0.99")


@pytest.fixture(scope="module")
def ready(tmp_path_factory):
    return store_ready_to_finetune(tmp_path_factory.mktemp("finetune") / "store")


def fake_process(*lines: dict | str, exit_code: int = 0, sleep: float = 0.0):
    """A command that prints the given JSON lines (then sleeps, then exits) instead of fine-tuning."""
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    script = f"import sys, time\nprint({text!r}, flush=True)\ntime.sleep({sleep})\nsys.exit({exit_code})"
    return lambda store_root, extra: (sys.executable, ["-c", script])


def make_widget(qtbot, store, **options) -> FinetuneWidget:
    widget = FinetuneWidget(store, **options)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.counts is not None, timeout=10_000)
    return widget


def test_a_real_fine_tune_process_is_followed_to_its_verdict_and_rolled_back(qtbot, ready) -> None:
    store, base = ready
    widget = make_widget(qtbot, store, extra_arguments=FAST_FINETUNE)
    assert widget.unseen_label.text().startswith(f"1 accepted training case(s) that the active model {base}")
    assert widget.start_button.isEnabled()
    gaps = TimerGaps().start()
    with qtbot.waitSignal(widget.ended, timeout=180_000) as blocker:
        widget.start_button.click()
        assert widget.running and widget.progress.cancel_button.isEnabled()
    gaps.stop()
    result = blocker.args[0]
    assert result.get("decision") == "promoted" and result["base"] == base, (widget.progress.message, widget.errors)
    candidate = result["candidate"]
    assert ModelRegistry(store).require_active().id == candidate
    assert widget.verdict_label.text().startswith(f"Promoted: {candidate}")
    assert "mean Dice" in widget.verdict_label.text()
    assert len(widget.loss_plot.points("loss")) >= 1 and len(widget.dice_plot.points("dice")) == 1
    assert widget.progress.fraction == 1.0 and widget.progress.message == "fine-tuning: done"
    gaps.assert_responsive("fine-tuning ran")
    qtbot.waitUntil(lambda: widget.counts is not None and widget.counts["active"] == candidate, timeout=10_000)
    assert widget.counts["unseen"] == 0 and not widget.start_button.isEnabled()
    with qtbot.waitSignal(widget.models_changed):
        widget.rollback_button.click()
    assert ModelRegistry(store).require_active().id == base
    assert widget.verdict_label.text() == f"Rolled back: {base} is the active model again."


def test_cancel_terminates_the_process_and_says_so(qtbot, ready) -> None:
    store, _ = ready
    widget = make_widget(qtbot, store, command=fake_process({"event": "start", "done": 0, "total": 1,
                                                             "message": "fine-tuning"}, sleep=60))
    widget.start_button.setEnabled(True)
    widget.start()
    qtbot.waitUntil(lambda: widget.progress.message == "fine-tuning: fine-tuning", timeout=10_000)
    with qtbot.waitSignal(widget.ended, timeout=10_000) as blocker:
        widget.progress.cancel_button.click()
    assert blocker.args[0] == {} and not widget.running
    assert "cancelled" in widget.progress.message and widget.progress.fraction < 1.0


def test_an_error_line_is_shown_and_no_verdict_is_claimed(qtbot, ready) -> None:
    store, _ = ready
    widget = make_widget(qtbot, store, command=fake_process(
        "warming up (not JSON)", {"event": "error", "message": "model model-x has seen every accepted label version"},
        exit_code=2))
    widget.start()
    with qtbot.waitSignal(widget.ended, timeout=10_000):
        pass
    assert widget.progress.message == "model model-x has seen every accepted label version"
    assert widget.verdict_label.text() == "" and widget.result is None


def test_a_crashed_process_reports_its_last_error_output(qtbot, ready) -> None:
    store, _ = ready
    widget = make_widget(qtbot, store, command=lambda root, extra: (
        sys.executable, ["-c", "import sys; sys.stderr.write('Segmentation fault somewhere\\n'); sys.exit(139)"]))
    widget.start()
    with qtbot.waitSignal(widget.ended, timeout=10_000):
        pass
    assert widget.progress.message == "fine-tuning stopped (exit status 139) Segmentation fault somewhere"


def test_quick_runs_half_the_epochs_and_is_locked_while_it_runs(qtbot, ready) -> None:
    started = []

    def command(store_root, extra):
        started.append(list(extra))
        return fake_process({"event": "step", "done": 1, "total": 2}, sleep=1.0)(store_root, extra)

    widget = make_widget(qtbot, ready[0], extra_arguments=("--device", "cpu"), command=command)
    assert QUICK_EPOCHS == 2 and not widget.quick_check.isChecked() and "0.864" in widget.quick_check.toolTip()
    assert widget.arguments() == ["--device", "cpu"]
    widget.quick_check.setChecked(True)
    with qtbot.waitSignal(widget.ended, timeout=30_000):
        widget.start_button.click()
        assert not widget.quick_check.isEnabled()
    assert started == [["--device", "cpu", "--epochs", "2"]]
    qtbot.waitUntil(lambda: widget.quick_check.isEnabled(), timeout=10_000)
    named = make_widget(qtbot, ready[0], extra_arguments=("--epochs", "1"))
    named.quick_check.setChecked(True)
    assert named.arguments() == ["--epochs", "1"]  # epochs named by the caller win


def test_plot_points_come_from_step_and_epoch_lines(qtbot, ready) -> None:
    widget = make_widget(qtbot, ready[0])
    for line in ({"event": "step", "step": 1, "done": 1, "total": 4, "loss": 2.0, "message": "epoch 1/2"},
                 {"event": "step", "step": 2, "done": 2, "total": 4, "loss": 1.5},
                 {"event": "epoch", "step": 2, "done": 2, "total": 4, "validation_mean_dice": 0.4},
                 {"event": "evaluate", "done": 0, "total": 1, "message": "candidate: case 1/1"}):
        widget.handle_line(json.dumps(line))
    assert widget.loss_plot.points("loss") == [(1.0, 2.0), (2.0, 1.5)]
    assert widget.dice_plot.points("dice") == [(2.0, 0.4)]
    assert widget.progress.message == "fine-tuning: candidate: case 1/1"


@pytest.mark.parametrize("decision, start", [("promoted", "Promoted: model-c is now the active model."),
                                             ("rejected", "Not promoted: model-c was rejected; model-b stays active."),
                                             ("kept as candidate", "Not promoted: model-c is kept as a candidate.")])
def test_the_verdict_says_whether_and_why(decision: str, start: str) -> None:
    text = verdict_text({"decision": decision, "candidate": "model-c", "base": "model-b", "reason": "because",
                         "verdict": {"reasons": ["FAIL mean Dice 0.5 >= active 0.7 - 0.01"]}})
    assert text.startswith(start) and "because" in text and "• FAIL mean Dice" in text


def test_the_process_runs_legseg_finetune_with_json_progress() -> None:
    program, arguments = finetune_command("/data/store", ["--epochs", "2"])
    assert program == sys.executable
    assert arguments == ["-m", "legseg_core.cli", "finetune", "--json-progress", "--store", "/data/store",
                         "--epochs", "2"]
