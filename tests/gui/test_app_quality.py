"""Quality control and legs in the application: the worklist ordered by expected correction effort,
QC flag and effort columns, the open case's flags and per-leg volumes, Dice per leg in the review table."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from legseg_core.evaluation.legs import split_labels
from legseg_core.evaluation.qc import check_segmentation
from legseg_core.review.session import EDIT
from legseg_core.store.quality import case_qualities, record_quality, version_quality
from legseg_gui.app.worklist import COLUMNS
from tests.gui.app_helpers import make_window, store_with_case, tiny_phantom


def predicted_case(store, seed: int, damage: str | None = None) -> tuple[str, str]:
    """A phantom case whose 'prediction' is its ground truth, damaged to raise flags; (case id, version id).
    The tiny phantom's own labels already raise flags (its muscles are too small and fragmented for a calf)."""
    phantom = tiny_phantom(seed)
    labels = phantom.labels.data.copy()
    if damage == "no TA on the left":
        labels[split_labels(labels).mask("left", labels.shape) & (labels == 4)] = 0
    elif damage == "no SOL or GM on the left":
        labels[split_labels(labels).mask("left", labels.shape) & np.isin(labels, (2, 3))] = 0
    image = phantom.images["t1w"]
    case = store.add_case(image.with_data(image.data + seed), contrast="t1w", health="patient")
    version = store.add_label_version(case.id, labels, provenance="predicted:test-model")
    uncertainty = np.full(labels.shape, 0.1 * seed, np.float32)
    record_quality(store, version.id, check_segmentation(labels, image.spacing, uncertainty=uncertainty))
    return case.id, version.id


@pytest.fixture
def store_with_reports(tmp_path):
    store, unsegmented = store_with_case(tmp_path / "store", labelled=False)
    cases = {"clean": predicted_case(store, 1)[0], "one flag": predicted_case(store, 2, "no TA on the left")[0],
             "two missing": predicted_case(store, 3, "no SOL or GM on the left")[0], "unsegmented": unsegmented}
    return store, cases


def test_the_worklist_opens_ordered_by_effort_with_the_flags_in_columns(qtbot, store_with_reports) -> None:
    store, cases = store_with_reports
    reports = case_qualities(store)
    assert set(reports) == {cases["clean"], cases["one flag"], cases["two missing"]}
    assert any(f.startswith("missing: TA in the left leg") for f in reports[cases["one flag"]].flags)
    assert any(f.startswith("missing: GM, SOL in the left leg") for f in reports[cases["two missing"]].flags)
    assert not any(f.startswith("missing") for f in reports[cases["clean"]].flags)
    window = make_window(qtbot, store)
    shown = window.worklist.case_ids()
    efforts = {case_id: report.effort for case_id, report in reports.items()}
    assert shown == [*sorted(efforts, key=efforts.get, reverse=True), cases["unsegmented"]]
    assert window.worklist.column_texts("flags") == [str(reports[c].flag_count) for c in shown[:3]] + [""]
    assert window.worklist.column_texts("effort")[:3] == [f"{efforts[c]:.2f}" for c in shown[:3]]
    row = shown.index(cases["one flag"])
    tooltip = window.worklist.item(row, COLUMNS.index("flags")).toolTip()
    assert all(flag in tooltip for flag in reports[cases["one flag"]].flags)
    window.worklist.sort_by("flags", descending=True)
    counts = [int(text) for text in window.worklist.column_texts("flags")[:3]]
    assert counts == sorted(counts, reverse=True)


def test_accepted_cases_sort_after_those_still_to_correct(qtbot, store_with_reports) -> None:
    store, cases = store_with_reports
    reports = case_qualities(store)
    most = max(reports, key=lambda case_id: reports[case_id].effort)
    store.accept(most)  # the most effort, but done
    window = make_window(qtbot, store)
    assert window.worklist.case_ids()[-1] == most and window.worklist.column_texts("status")[-1] == "accepted"
    waiting = [c for c in reports if c != most]
    assert window.worklist.case_ids()[:2] == sorted(waiting, key=lambda c: reports[c].effort, reverse=True)


def test_the_open_cases_flags_and_volumes_per_leg_are_shown(qtbot, store_with_reports) -> None:
    store, cases = store_with_reports
    window = make_window(qtbot, store)
    window.open_case(cases["one flag"])
    report = version_quality(store, store.case(cases["one flag"]).latest_version).report
    panel = window.segment_panel.quality
    assert panel.flag_texts() == report["flags"]
    assert any(panel.flags.item(row).text().startswith("⚠ missing: TA") for row in range(panel.flags.count()))
    assert panel.cell("TA", "Left (ml)") == "0.0" and panel.cell("TA", "Right (ml)") != "0.0"
    assert panel.cell("TA", "L/R") == "–" and panel.cell("SOL", "L/R") != "–"
    window.open_case(cases["unsegmented"])
    assert panel.flag_texts() == [] and "no report" in panel.summary.text()


def test_the_review_table_gives_dice_per_leg(qtbot, tmp_path) -> None:
    store, case_id = store_with_case(tmp_path / "store")
    window = make_window(qtbot, store)
    window.open_case(case_id)
    labels = window.session.editor.labels
    left = split_labels(labels).mask("left", labels.shape)
    edited = np.where(left & (labels == 3), 0, labels).astype(np.uint8)  # SOL erased in the left leg
    window.session.editor.replace_all(edited, "test")
    window.review_panel.choose(window.session.base_version, EDIT)
    qtbot.waitUntil(lambda: window.review_panel.dice_text(3, "left") == "0.000", timeout=2000)
    assert window.review_panel.dice_text(3, "right") == "1.000"
    assert window.review_panel.dice_text(2, "right") == window.review_panel.dice_text(2, "left") == "1.000"
    agreement = window.review_panel.leg_agreement()
    assert agreement["left"][3]["volume_difference_ml"] < 0 == agreement["right"][3]["volume_difference_ml"]
    rows = list(csv.DictReader(window.review_panel.export_table(str(tmp_path / "table.csv")).open()))
    assert [row["leg"] for row in rows] == ["both"] * 7 + ["right"] * 7 + ["left"] * 7
    by_key = {(row["leg"], row["muscle"]): row for row in rows}
    assert float(by_key[("left", "SOL")]["dice"]) == 0.0 and float(by_key[("right", "SOL")]["dice"]) == 1.0
    assert float(by_key[("left", "SOL")]["volume_difference_ml"]) == pytest.approx(
        -float(by_key[("left", "SOL")]["reference_ml"]), abs=1e-3)
    assert float(by_key[("both", "SOL")]["reference_ml"]) == pytest.approx(
        float(by_key[("right", "SOL")]["reference_ml"]) + float(by_key[("left", "SOL")]["reference_ml"]), abs=1e-3)
    written = window.review_panel.export_table(str(tmp_path / "table.json"))
    data = json.loads(written.read_text())
    assert data["compared"]["case"] == case_id and len(data["rows"]) == 21
    assert window.review_panel.export_table(str(tmp_path / "table.txt")) is None
    assert "written as .csv or .json" in window.review_panel.status_label.text()


def test_the_real_scans_segmented_by_the_starter_unet_are_ranked_and_the_t2_result_flagged(
        qtbot, tmp_path, real_data) -> None:
    """The T2 scan's last echo (little signal left): the starter U-Net leaves a muscle out; the worklist ranks it
    by effort, its flags name it, and a screenshot shows the columns and the panel."""
    from legseg_core.io import load_volume
    from legseg_core.store import Store

    store = Store.init(tmp_path / "store")
    scans = {"dwi": load_volume(real_data / "dwi_mean.nii.gz"),
             "t2": load_volume(real_data / "t2_mese.nii.gz", frame=17),
             "dixon_water": load_volume(real_data / "dixon_water.nii.gz")}
    cases = {name: store.add_case(volume, contrast=name, health="healthy").id for name, volume in scans.items()}
    window = make_window(qtbot, store)
    window.resize(1500, 900)
    from legseg_core.model_lookup import resolve_model

    window.segment_panel.picker.add_model_file(resolve_model("unet-lite-starter"))
    window.segment_panel.picker.set_device("cpu")
    with qtbot.waitSignal(window.segmentation_ended, timeout=600_000) as ended:
        window.segment_panel.segment_new_button.click()
    assert ended.args == ["finished"], window.segment_panel.progress.message
    reports = case_qualities(store)
    assert set(reports) == set(cases.values())
    t2 = reports[cases["t2"]]
    assert any(flag.startswith("missing:") and "left leg" in flag for flag in t2.flags), t2.flags
    assert t2.effort > reports[cases["dwi"]].effort
    efforts = {case_id: report.effort for case_id, report in reports.items()}
    assert window.worklist.case_ids() == sorted(efforts, key=efforts.get, reverse=True)
    window.open_case(cases["t2"])
    assert window.segment_panel.quality.flag_texts() == t2.flags
    assert window.segment_panel.quality.cell("TP", "Left (ml)") == "0.0"
    window.show_panel("segment")
    qtbot.wait(200)
    shot = tmp_path / "worklist-quality.png"
    assert window.grab().save(str(shot)) and shot.stat().st_size > 10_000
