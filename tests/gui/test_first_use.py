"""The first-use loop in the application, from an empty store: open the real scan, segment with the
default model, correct, accept, fine-tune with the button, and put the new model to use with one
confirmed click (the store has no held-out case, and the panel says why)."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.io import load_labels
from legseg_core.store import CaseMetadata, Store
from legseg_core.training.registry import ModelRegistry
from legseg_gui.app.opening import open_scan
from tests.gui.app_helpers import make_window
from tests.gui.first_use_helpers import FIRST_USE_FINETUNE, check_unvalidated_result, right_leg_case


@pytest.fixture(scope="module")
def right_leg(real_data, tmp_path_factory):
    return right_leg_case(real_data, tmp_path_factory.mktemp("right-leg"))


def test_a_new_user_corrects_one_case_fine_tunes_and_uses_the_model(qtbot, tmp_path, right_leg) -> None:
    store = Store.open(tmp_path / "store", create=True)  # what `legseg app --store NEW` does
    registry = ModelRegistry(store)
    starter = registry.require_active()
    assert starter.training["shipped"] == "unet-lite-starter"
    window = make_window(qtbot, store, finetune_arguments=FIRST_USE_FINETUNE)
    picker = window.segment_panel.picker
    qtbot.waitUntil(lambda: picker.current_choice() is not None and picker.current_choice().model_id == starter.id,
                    timeout=20_000)
    open_scan(window, right_leg["scan"], metadata=CaseMetadata(contrast="dwi", health="healthy"), background=False)
    assert window.session is not None
    with qtbot.waitSignal(window.segmentation_ended, timeout=120_000) as ended:
        window.segment()
    assert ended.args == ["finished"]
    predicted = store.version(window.session.base_version)
    assert predicted.provenance == f"predicted:{starter.id}"
    reference = load_labels(right_leg["labels"], like=window.session.image).data
    assert not np.array_equal(window.session.editor.labels, reference)
    window.session.editor.replace_all(reference, "paint")  # the expert's correction of the leg
    accepted = window.accept_case()
    assert accepted.provenance == f"corrected:{predicted.id}"
    panel = window.finetune_panel
    qtbot.waitUntil(lambda: bool(panel.counts and panel.counts["unseen"] == 1), timeout=20_000)
    assert "No accepted validation or test case yet" in panel.unseen_label.text()
    assert panel.start_button.isEnabled() and not panel.use_button.isEnabled()
    with qtbot.waitSignal(panel.ended, timeout=240_000) as finished:
        panel.start_button.click()
    text = panel.verdict_label.text()
    candidate = check_unvalidated_result(finished.args[0], starter.id, text)
    assert registry.require_active().id == starter.id
    qtbot.waitUntil(lambda: panel.use_button.isEnabled(), timeout=20_000)
    asked = []
    panel.confirm = lambda title, question: asked.append(question) or True
    with qtbot.waitSignal(panel.models_changed):
        panel.use_button.click()
    assert asked and candidate in asked[0]
    assert registry.require_active().id == candidate
    assert registry.events(candidate)[-1]["reason"].startswith("used unvalidated (fine-tune panel)")
    assert panel.verdict_label.text().startswith(f"In use, unvalidated (your recorded choice): {candidate}")
    with qtbot.waitSignal(panel.models_changed):
        panel.rollback_button.click()  # one click back
    assert registry.require_active().id == starter.id


def test_the_panel_names_missing_model_files_and_offers_no_fine_tuning(qtbot, tmp_path) -> None:
    from legseg_gui.finetune_widget import FinetuneWidget

    store = Store.open(tmp_path / "store", create=True)
    registry = ModelRegistry(store)
    active = registry.require_active()
    registry.path(active).unlink()
    panel = FinetuneWidget(store)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.counts is not None, timeout=10_000)
    assert panel.unseen_label.text() == (f"Cannot fine-tune: {registry.path(active)}: the file of model {active.id} "
                                         "is missing or does not match its checksum")
    assert not panel.start_button.isEnabled() and not panel.use_button.isEnabled()
