"""The application window: open a case, paint with the mouse, undo, review live, accept, close, recover."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from legseg_core.review.session import EDIT
from legseg_core.store import CaseMetadata
from legseg_gui.app.main_window import CANCEL, DISCARD, PANEL_WIDTH, RESTORE, SAVE, MainWindowWidget
from legseg_gui.app.opening import open_scan
from tests.gui.app_helpers import background_row, drag, make_window, store_with_case, tiny_phantom


@pytest.fixture
def labelled(tmp_path):
    return store_with_case(tmp_path / "store")


@pytest.fixture
def window(qtbot, labelled) -> MainWindowWidget:
    return make_window(qtbot, labelled[0])


def double_click_case(qtbot, window: MainWindowWidget, case_id: str) -> None:
    row = window.worklist.case_ids().index(case_id)
    rect = window.worklist.visualItemRect(window.worklist.item(row, 0))
    qtbot.mouseClick(window.worklist.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.worklist.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_open_paint_undo_accept_through_the_window(qtbot, window, labelled) -> None:
    store, case_id = labelled
    synthetic = store.case(case_id).latest_version
    double_click_case(qtbot, window, case_id)
    qtbot.waitUntil(lambda: window.session is not None, timeout=5000)
    session = window.session
    before = session.editor.labels.copy()
    window.review_panel.choose(synthetic, EDIT)
    assert window.review_panel.dice_text("mean") == "1.000"
    z = window.view.view_state.z
    row = background_row(before, z)
    window.tool_state.select(3)
    window.tool_state.brush_radius = 1
    drag(qtbot, window, [(row, 5), (row, 30), (row, 60)])
    painted = session.editor.labels.copy()
    assert np.all(painted[z, row, 5:61] == 3) and session.dirty
    qtbot.waitUntil(lambda: window.review_panel.dice_text(3) != "1.000", timeout=2000)
    assert window.review_panel.tracker.map[z, row, 30] == 2  # predicted (edited) only: beige
    qtbot.keyClick(window.view.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(session.editor.labels, before) and not session.dirty
    qtbot.waitUntil(lambda: window.review_panel.dice_text(3) == "1.000", timeout=2000)
    session.editor.redo()
    with qtbot.waitSignal(window.saving_ended, timeout=10_000):
        window.actions["accept"].trigger()
    case = store.case(case_id)
    version = store.version(case.accepted_version)
    assert case.status == "accepted" and version.provenance == f"corrected:{synthetic}"
    assert np.array_equal(store.load_labels(version.id), painted)
    assert version.edits.slices_touched == (z,) and version.edits.added["SOL"] > 0
    assert window.worklist.column_texts("status") == ["accepted"]


def test_no_side_panel_needs_more_width_than_the_window_gives_the_docks(window) -> None:
    """The docks beside the image get PANEL_WIDTH; a panel whose widgets need more (a row of five buttons, a
    long model title) widens its dock and takes that width from the image the user corrects."""
    for panel in (window.edit_panel, window.segment_panel, window.review_panel, window.adapt_panel,
                  window.finetune_panel):
        assert panel.minimumSizeHint().width() <= PANEL_WIDTH, type(panel).__name__
    assert window.tabs.minimumSizeHint().width() <= PANEL_WIDTH


def test_checking_the_labels_on_screen_reports_the_edits_as_they_are(qtbot, window, labelled) -> None:
    """Labels opened from a file or corrected by hand have no stored quality report; the check makes one of
    the labels as they are now (here a muscle erased by hand shows up as missing in both legs)."""
    from legseg_core.labels import MUSCLE_BY_ABBR

    store, case_id = labelled
    assert not window.segment_panel.check_button.isEnabled(), "nothing to check before a case is open"
    window.open_case(case_id)
    window.segment_panel.check_button.click()
    qtbot.waitUntil(lambda: window.checking is not None and not window.checking.running, timeout=30_000)
    report = window.segment_panel.quality.report
    assert report is not None and window.segment_panel.quality.summary.text().startswith("The labels on screen")
    assert not any("missing" in flag for flag in report["flags"])
    tp = MUSCLE_BY_ABBR["TP"].id
    labels = window.session.editor.labels.copy()
    labels[labels == tp] = 0
    window.session.editor.replace_all(labels, "erase TP")
    window.segment_panel.check_button.click()
    qtbot.waitUntil(lambda: window.segment_panel.quality.report is not report, timeout=30_000)
    missing = [flag for flag in window.segment_panel.quality.report["flags"] if flag.startswith("missing") and "TP" in flag]
    assert len(missing) == len(window.segment_panel.quality.report["legs"]) >= 1, window.segment_panel.quality.report["flags"]


def test_number_keys_pick_the_muscle_and_zero_the_eraser(qtbot, window, labelled) -> None:
    window.open_case(labelled[1])
    window.view.canvas.setFocus()
    qtbot.keyClick(window.view.canvas, Qt.Key.Key_4)
    assert window.tool_state.active_label == 4 and window.tool_state.tool == "brush"
    qtbot.keyClick(window.view.canvas, Qt.Key.Key_0)
    assert window.tool_state.tool == "eraser"


def test_the_overlap_map_toggle_switches_the_overlay_and_shows_the_legend(qtbot, window, labelled) -> None:
    window.open_case(labelled[1])
    window.review_panel.overlap_check.setChecked(True)
    assert window.view.view_state.overlay == "overlap" and window.view.legend.isVisible()
    window.actions["overlay_labels"].trigger()
    assert not window.review_panel.overlap_check.isChecked()


def paint_a_stroke(window: MainWindowWidget) -> np.ndarray:
    session = window.session
    z = window.view.view_state.z
    session.editor.paint(z, (background_row(session.editor.labels, z), 10), radius=1, label=5)
    return session.editor.labels.copy()


def test_accept_runs_off_the_ui_thread_and_edits_made_meanwhile_stay_unsaved(qtbot, window, labelled) -> None:
    store, case_id = labelled
    window.open_case(case_id)
    accepted_labels = paint_a_stroke(window)
    worker = window.accept_case()
    assert worker is not None and worker.running and not window.actions["accept"].isEnabled()
    assert window.accept_case() is None  # one accept at a time
    window.session.editor.paint(window.view.view_state.z, (2, 2), radius=1, label=1)
    assert window.confirm_unsaved("open another case") is False  # the accept decides what stays unsaved
    with qtbot.waitSignal(window.saving_ended, timeout=10_000) as ended:
        pass
    assert ended.args == ["finished"]
    accepted = store.case(case_id).accepted_version
    assert np.array_equal(store.load_labels(accepted), accepted_labels)
    assert window.session.base_version == accepted and window.session.dirty
    assert window.actions["accept"].isEnabled() and window.actions["save"].isEnabled()


def test_the_save_action_stores_a_draft_off_the_ui_thread(qtbot, window, labelled) -> None:
    store, case_id = labelled
    window.open_case(case_id)
    base = window.session.base_version
    painted = paint_a_stroke(window)
    with qtbot.waitSignal(window.saving_ended, timeout=10_000) as ended:
        window.actions["save"].trigger()
        assert window.saving_running and not window.actions["save"].isEnabled()
    assert ended.args == ["finished"]
    draft = store.version(window.session.base_version)
    assert draft.provenance == f"corrected:{base}" and store.case(case_id).status == "in_review"
    assert np.array_equal(store.load_labels(draft.id), painted) and not window.session.dirty
    assert not window.actions["save"].isEnabled() and window.save_draft_in_background() is None


@pytest.mark.parametrize("answer", [CANCEL, DISCARD, SAVE])
def test_closing_with_unsaved_edits_asks_first(qtbot, labelled, answer) -> None:
    store, case_id = labelled
    window = make_window(qtbot, store, answer)
    window.open_case(case_id)
    edited = paint_a_stroke(window)
    window.close()
    assert window.ask.asked == ["Unsaved edits"]
    assert window.isVisible() == (answer == CANCEL)
    versions = store.history(case_id)
    if answer == SAVE:
        assert len(versions) == 2 and versions[-1].provenance == f"corrected:{versions[0].id}"
        assert np.array_equal(store.load_labels(versions[-1].id), edited)
    else:
        assert len(versions) == 1
    if answer == CANCEL:
        window.ask.answers = [DISCARD]
        window.close()


def test_unsaved_edits_are_autosaved_and_offered_back_after_a_crash(qtbot, labelled) -> None:
    store, case_id = labelled
    crashed = make_window(qtbot, store, autosave_seconds=0.05)
    crashed.open_case(case_id)
    edited = paint_a_stroke(crashed)
    qtbot.waitUntil(lambda: crashed.autosave.entry_for(case_id) is not None, timeout=5000)
    crashed.autosave.timer.stop()  # the process "dies" here: no save, no discard
    restarted = make_window(qtbot, store, RESTORE)
    restarted.offer_recovery_at_start()
    assert restarted.ask.asked == ["Unsaved edits found"]
    assert restarted.session.case_id == case_id and restarted.session.dirty
    assert np.array_equal(restarted.session.editor.labels, edited)
    with qtbot.waitSignal(restarted.saving_ended, timeout=10_000):
        restarted.accept_case()
    assert restarted.autosave.entry_for(case_id) is None
    assert np.array_equal(store.load_labels(store.case(case_id).accepted_version), edited)
    crashed.session.editor.mark_saved()


def test_opening_a_scan_adds_it_to_the_store_once(qtbot, tmp_path, monkeypatch, window) -> None:
    from legseg_core.io import save_image

    phantom = tiny_phantom(seed=5)
    path = save_image(phantom.images["t1w"].data, phantom.images["t1w"], tmp_path / "calf_t1.nii.gz")
    asked = []
    monkeypatch.setattr("legseg_gui.app.opening.ask_metadata",
                        lambda w, volume, p: asked.append(p.name) or CaseMetadata(contrast="t1w", health="patient",
                                                                                  diagnosis="pompe"))
    worker = open_scan(window, path)
    qtbot.waitUntil(lambda: window.session is not None and window.session.case.metadata.diagnosis == "pompe",
                    timeout=10_000)
    assert worker.outcome == "finished" and asked == ["calf_t1.nii.gz"]
    case_id = window.session.case_id
    assert window.store.case(case_id).metadata.health == "patient" and len(window.store.cases()) == 2
    open_scan(window, path, background=False)
    assert len(window.store.cases()) == 2 and window.session.case_id == case_id


def test_the_worklist_sorts_by_uncertainty_and_status(qtbot, tmp_path) -> None:
    store, first = store_with_case(tmp_path / "store", labelled=False)
    phantom = tiny_phantom(seed=2)
    cases = [first] + [store.add_case(phantom.images["t1w"].with_data(phantom.images["t1w"].data + k),
                                      contrast=c, health=h).id for k, c, h in ((1, "t2w", "patient"), (2, "pd", "healthy"))]
    for case_id, score in zip(cases[1:], (0.7, 0.2)):
        store.update_metadata(case_id, extra={"uncertainty_score": score})
    store.add_label_version(cases[2], phantom.labels.data, provenance="manual")
    store.accept(cases[2])
    window = make_window(qtbot, store)
    window.worklist.sort_by("uncertainty", descending=True)
    assert window.worklist.case_ids() == [cases[1], cases[2], first]
    assert window.worklist.column_texts("uncertainty") == ["0.700", "0.200", ""]
    window.worklist.sort_by("status")
    assert window.worklist.column_texts("status") == ["new", "new", "accepted"]
    window.worklist.sort_by("contrast")
    assert window.worklist.column_texts("contrast") == ["pd", "t1w", "t2w"]


def test_the_metadata_dialog_refuses_a_bad_contrast_with_the_stores_message(qtbot) -> None:
    from legseg_gui.app.metadata_dialog import CaseMetadataDialog

    dialog = CaseMetadataDialog(CaseMetadata(contrast="t1w"), source="scan.nii.gz")
    qtbot.addWidget(dialog)
    dialog.contrast_combo.setCurrentText("T1 weighted / fat sat!")
    dialog.accept()
    assert "is not a short name" in dialog.error_label.text() and dialog.result() == 0
    dialog.contrast_combo.setCurrentText("Dixon water")
    dialog.health_combo.setCurrentText("patient")
    dialog.accept()
    assert dialog.result() == 1 and dialog.metadata().contrast == "dixon_water"


def test_a_case_with_ground_truth_and_a_prediction_opens_on_their_overlap_map(qtbot, labelled) -> None:
    store, case_id = labelled
    synthetic = store.case(case_id).latest_version
    truth = store.load_labels(synthetic)
    predicted = np.where(truth == 3, 2, truth).astype(np.uint8)  # the model took SOL for GM
    prediction = store.add_label_version(case_id, predicted, provenance="predicted:model-x")
    window = make_window(qtbot, store)
    window.open_case(case_id)
    window.view.view_state.overlay = "overlap"
    window.show_panel("review")
    panel = window.review_panel
    assert window.tabs.currentWidget() is panel
    assert (panel.reference_key, panel.prediction_key) == (synthetic, EDIT)
    assert window.session.base_version == prediction.id and panel.overlap_check.isChecked()
    assert panel.dice_text(3) == "0.000" and panel.dice_text(1) == "1.000"
    voxel_ml = float(np.prod(window.session.image.spacing)) / 1000.0
    different = int((truth == 3).sum())  # in ml and percent of the reference's muscle voxels
    assert window.view.legend.count_text(3) == (f"{different * voxel_ml:.1f} ml · "
                                                f"{100 * different / int((truth > 0).sum()):.1f}% of ref.")
    worker = panel.compute_distances()
    with qtbot.waitSignal(worker.ended, timeout=30_000):
        pass
    assert panel.table.text(1, "ahd_mm") == "0.00" and panel.table.text(3, "ahd_mm") == "–"
    assert panel.status_label.text().startswith("mean AHD")
    window.session.editor.paint(window.view.view_state.z, (2, 2), radius=1, label=1)
    qtbot.waitUntil(lambda: panel.table.text(1, "ahd_mm") == "–", timeout=2000)  # an edit makes them stale


def test_sagittal_and_coronal_sections_follow_the_cursor_edits_and_clicks(qtbot, window, labelled) -> None:
    from legseg_gui.qimage import qimage_to_array

    store, case_id = labelled
    window.open_case(case_id)
    orthogonal, labels = window.orthogonal, window.session.editor.labels
    qtbot.waitUntil(lambda: not orthogonal.sagittal.grab().toImage().isNull(), timeout=2000)
    assert labels[:, orthogonal.position[0], orthogonal.position[1]].any()  # through a leg, not the gap
    canvas, z = window.view.canvas, window.view.view_state.z
    y, x = (int(v) for v in np.argwhere(labels[z] > 0)[0])
    qtbot.mouseMove(canvas.viewport(), canvas.viewport_point(y, x))
    assert orthogonal.position == (y, x)

    def colourful(section) -> bool:
        orthogonal.refresh()
        pixels = qimage_to_array(section.grab().toImage())[..., :3].astype(int)
        return bool(((pixels.max(axis=2) - pixels.min(axis=2)) > 40).any())

    assert colourful(orthogonal.coronal) and colourful(orthogonal.sagittal)
    window.session.editor.replace_all(np.zeros_like(labels))
    assert not colourful(orthogonal.coronal)
    rect = orthogonal.sagittal.picture_rect()
    qtbot.mouseClick(orthogonal.sagittal, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.center().x()), int(rect.top() + 2)))
    assert window.view.view_state.z == labels.shape[0] - 1  # the top row is the most superior slice


def test_a_dicom_folder_opens_with_its_dialog_defaulting_to_what_the_headers_say(qtbot, tmp_path, monkeypatch,
                                                                                window) -> None:
    from legseg_gui.app.metadata_dialog import CaseMetadataDialog
    from tests.dicom_factory import write_series

    pixels = (np.arange(6 * 40 * 48, dtype=np.uint16).reshape(6, 40, 48) % 900) + 100
    write_series(tmp_path / "series", pixels, description="mDIXON W calf")
    shown = []

    def accept_as_shown(dialog: CaseMetadataDialog) -> int:
        shown.append(dialog.contrast_combo.currentText())
        dialog.health_combo.setCurrentText("patient")
        return 1

    monkeypatch.setattr(CaseMetadataDialog, "exec", accept_as_shown)
    open_scan(window, tmp_path / "series")
    qtbot.waitUntil(lambda: window.session is not None and window.session.image.shape == (6, 40, 48), timeout=10_000)
    assert shown == ["dixon_water"]
    case = window.store.case(window.session.case_id)
    assert (case.metadata.contrast, case.metadata.health) == ("dixon_water", "patient")
    assert "Doe" not in json.dumps(case.to_dict()) and "PID-12345" not in json.dumps(case.to_dict())


def test_the_question_box_returns_the_button_clicked(qtbot, labelled) -> None:
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    window = MainWindowWidget(labelled[0])
    qtbot.addWidget(window)

    def click(text: str) -> None:
        box = QApplication.activeModalWidget()
        next(button for button in box.buttons() if button.text() == text).click()

    QTimer.singleShot(100, lambda: click(DISCARD))
    assert window.ask("Unsaved edits", "Save them?", (SAVE, DISCARD, CANCEL), SAVE) == DISCARD
    window.headless = True
    assert window.ask("Unsaved edits", "Save them?", (SAVE, DISCARD, CANCEL), SAVE) == SAVE
