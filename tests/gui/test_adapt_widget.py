"""The application's adapt panel: "Learn from my corrections" runs `legseg adapt` in its own process with a
progress bar; corrected slices never change, the others are relabelled, the model stays; cancel changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.adapt import LegColumns, LegSlice
from legseg_core.training.registry import ModelRegistry
from tests.gui.app_helpers import TimerGaps, make_window, store_with_case


@pytest.fixture
def window(qtbot, tmp_path):
    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    assert window.open_case(case_id)
    window.adapt_panel.steps, window.adapt_panel.device = 1, "cpu"
    return window


def correct_one_slice(window) -> tuple[np.ndarray, np.ndarray]:
    """Relabel the right leg's muscles on slice 8 as soleus (an 'expert correction'); returns the labels and
    the mask of that leg slice."""
    session = window.session
    legs = LegColumns.of(session.image)
    mask = legs.mask([LegSlice(8, "right")], session.image.shape)
    labels = session.editor.labels.copy()
    labels[mask & (labels > 0)] = 3
    session.editor.replace_all(labels, kind="test correction")
    return session.editor.labels.copy(), mask


def test_learning_from_corrections_keeps_them_and_relabels_the_rest(qtbot, window) -> None:
    panel, session = window.adapt_panel, window.session
    corrected, mask = correct_one_slice(window)
    assert panel.button.text() == "Learn from my corrections" and panel.button.isEnabled()
    gaps = TimerGaps().start()
    with qtbot.waitSignal(panel.ended, timeout=300_000) as ended:
        panel.button.click()
        assert panel.running and panel.progress.cancel_button.isEnabled() and not panel.button.isEnabled()
    longest_gap = gaps.stop()
    result = ended.args[0]
    assert result.get("event") == "result", panel.status.text()
    assert result["corrected"] == ["right:8"]
    labels = session.editor.labels
    assert np.array_equal(labels[mask], corrected[mask])  # voxel for voxel
    assert panel.status.text().startswith("Learnt from 1 corrected leg slice(s)")
    model = panel.case.model_path
    assert model.is_file() and model.parent.name == "recovery" and model.name == f"case-{session.case_id}.adapted.pt"
    assert ModelRegistry(window.store).active() is None and not ModelRegistry(window.store).models()
    assert longest_gap < 1.0, f"the event loop stalled for {longest_gap:.3f} s while the adaptation ran"
    if result["replaced_voxels"]:
        session.editor.undo()  # one undoable step
        assert np.array_equal(session.editor.labels, corrected)


def test_cancel_leaves_labels_and_models_as_they_were(qtbot, window) -> None:
    panel, session = window.adapt_panel, window.session
    corrected, _ = correct_one_slice(window)
    with qtbot.waitSignal(panel.ended, timeout=120_000) as ended:
        panel.button.click()
        panel.progress.cancel_button.click()
    assert ended.args[0] == {}
    assert "cancelled" in panel.status.text() and "unchanged" in panel.status.text()
    assert np.array_equal(session.editor.labels, corrected)
    assert not panel.case.model_path.exists()


def test_without_a_corrected_slice_nothing_starts(window) -> None:
    panel = window.adapt_panel
    assert not panel.start()
    assert not panel.running and panel.status.text().endswith("no corrected slices yet; correct a few slices "
                                                                "(any muscles), then learn from them")
