"""Fine-tune dock in napari: a real, short `legseg finetune` process followed to its verdict while the
event loop stays responsive, then rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from legseg_core.training.registry import ModelRegistry
from tests.gui.app_helpers import TimerGaps, store_ready_to_finetune

FAST_FINETUNE = ["--epochs", "1", "--device", "cpu", "--recipe-option", "precision=fp32",
                 "--recipe-option", "min_epoch_steps=0",
                 "--recipe-option", "batch_size=2", "--mean-tolerance", "0.99", "--muscle-tolerance", "0.99"]


def test_a_real_fine_tune_runs_from_the_dock_to_its_verdict(make_napari_viewer, qtbot, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from legseg_napari._qt.finetune_dock import FinetuneDockWidget

    store, base = store_ready_to_finetune(tmp_path / "store")
    store.close()
    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "store"))
    viewer = make_napari_viewer()
    dock = FinetuneDockWidget(viewer)
    viewer.window.add_dock_widget(dock)
    qtbot.addWidget(dock)
    panel = dock.finetune
    panel.extra_arguments = list(FAST_FINETUNE)
    qtbot.waitUntil(lambda: panel.counts is not None and panel.start_button.isEnabled(), timeout=20_000)
    assert panel.unseen_label.text().startswith(f"1 accepted training case(s) that the active model {base}")
    gaps = TimerGaps().start()
    with qtbot.waitSignal(panel.ended, timeout=240_000) as ended:
        panel.start_button.click()
        assert panel.running and panel.progress.cancel_button.isEnabled()
    gaps.stop()
    result = ended.args[0]
    assert result.get("decision") == "promoted", (panel.progress.message, panel.errors)
    assert panel.verdict_label.text().startswith(f"Promoted: {result['candidate']}")
    assert panel.loss_plot.points("loss") and panel.dice_plot.points("dice")
    gaps.assert_responsive("napari fine-tuning ran")
    qtbot.waitUntil(lambda: panel.counts is not None and panel.counts["active"] == result["candidate"],
                    timeout=20_000)
    with qtbot.waitSignal(panel.models_changed):
        panel.rollback_button.click()
    assert ModelRegistry(dock.store).require_active().id == base


def test_another_store_path_is_followed(make_napari_viewer, qtbot, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from legseg_core.store import Store
    from legseg_napari._qt.finetune_dock import FinetuneDockWidget

    monkeypatch.setenv("LEGSEG_STORE", str(tmp_path / "none"))
    dock = FinetuneDockWidget(make_napari_viewer())
    qtbot.addWidget(dock)
    assert dock.store is None and "no store at" in dock.status.text()
    Store.init(tmp_path / "other").close()
    dock.store_path.set_path(tmp_path / "other")
    assert dock.store is not None and dock.status.text() == ""
    qtbot.waitUntil(lambda: "no active model" in dock.finetune.unseen_label.text(), timeout=20_000)
