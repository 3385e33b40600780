"""Undo, redo, change events, the dirty flag and the editing state of the label editor."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.editing import EditingError, EditingState, EventEmitter, LabelEditor
from legseg_core.evaluation.overlap import OverlapTracker, overlap_map
from legseg_core.evaluation.metrics import confusion_counts, dice_from_counts


def random_edits(editor: LabelEditor, rng: np.random.Generator, count: int) -> None:
    """A mix of strokes, fills, relabels and interpolations at random places."""
    depth, height, width = editor.shape
    for _ in range(count):
        z, y, x = int(rng.integers(depth)), float(rng.uniform(0, height)), float(rng.uniform(0, width))
        kind = rng.integers(4)
        if kind == 0:
            editor.begin_stroke("brush")
            for _ in range(3):
                editor.paint(z, (y, x), (y + rng.normal(0, 4), x + rng.normal(0, 4)), radius=int(rng.integers(0, 4)),
                             label=int(rng.integers(0, 8)))
            editor.end_stroke()
        elif kind == 1:
            editor.fill(z, (int(y), int(x)), int(rng.integers(0, 8)))
        elif kind == 2 and editor.labels[z, int(y), int(x)]:
            editor.relabel((z, int(y), int(x)), int(rng.integers(0, 8)), three_d=bool(rng.integers(2)))
        elif kind == 3:
            label = int(rng.integers(1, 8))
            ends = [k for k in range(depth) if (editor.labels[k] == label).any()]
            if len(ends) >= 2:
                editor.interpolate(label, ends[0], ends[-1])


@pytest.fixture
def scene() -> np.ndarray:
    rng = np.random.default_rng(0)
    labels = np.zeros((8, 30, 30), np.uint8)
    for label in range(1, 8):
        z, y, x = rng.integers(0, 6), rng.integers(0, 24), rng.integers(0, 24)
        labels[z:z + 3, y:y + 6, x:x + 6] = label
    return labels


def test_undo_all_and_redo_all_round_trip(scene: np.ndarray) -> None:
    original = scene.copy()
    editor = LabelEditor(scene)
    random_edits(editor, np.random.default_rng(1), 30)
    final = editor.labels.copy()
    while editor.undo() is not None:
        pass
    assert np.array_equal(editor.labels, original)
    while editor.redo() is not None:
        pass
    assert np.array_equal(editor.labels, final)


def test_every_reported_region_holds_every_change(scene: np.ndarray) -> None:
    editor = LabelEditor(scene)
    mirror = scene.copy()
    editor.events.labels_changed.connect(lambda region: mirror.__setitem__(region, editor.labels[region]))
    random_edits(editor, np.random.default_rng(2), 25)
    assert np.array_equal(mirror, editor.labels)
    for step in (editor.undo, editor.undo, editor.redo, editor.undo):
        step()
        assert np.array_equal(mirror, editor.labels)


def test_the_overlap_tracker_follows_edits_live(scene: np.ndarray) -> None:
    reference = scene.copy()
    editor = LabelEditor(scene)
    tracker = OverlapTracker(reference, editor.labels)
    editor.events.labels_changed.connect(tracker.apply_edit)
    random_edits(editor, np.random.default_rng(4), 12)
    editor.undo()
    assert np.array_equal(tracker.map, overlap_map(reference, editor.labels))
    counts = confusion_counts(reference, editor.labels)
    for label, dice in tracker.dice().items():
        expected = dice_from_counts(counts[label].sum(), counts[:, label].sum(), counts[label, label])
        assert dice == pytest.approx(expected, nan_ok=True)


def test_a_stroke_is_one_undo_step_and_its_record_holds_only_its_box() -> None:
    editor = LabelEditor(np.zeros((90, 320, 320), np.uint8))
    editor.begin_stroke("brush")
    for x in range(100, 140, 4):
        editor.paint(45, (150, x - 4), (150, x), radius=5, label=2)
    record = editor.end_stroke()
    assert record is not None and record.region == (slice(45, 46), slice(145, 156), slice(91, 142))
    assert record.nbytes == 2 * 11 * 51
    assert editor.edited_slices(2) == (45,)
    editor.undo()
    assert not editor.labels.any() and not editor.can_undo and editor.can_redo


def test_an_empty_stroke_leaves_no_undo_step() -> None:
    editor = LabelEditor(np.zeros((2, 8, 8), np.uint8))
    editor.begin_stroke("brush")
    assert editor.end_stroke() is None
    assert not editor.can_undo and not editor.dirty


def test_dirty_follows_the_saved_state_through_undo_and_redo() -> None:
    editor = LabelEditor(np.zeros((3, 16, 16), np.uint8))
    assert not editor.dirty and editor.edit_count == 0
    editor.paint(1, (8, 8), radius=2, label=4)
    assert editor.dirty and editor.edit_count == 1
    editor.mark_saved()
    assert not editor.dirty
    editor.undo()
    assert editor.dirty and editor.edit_count == 2
    editor.redo()
    assert not editor.dirty
    editor.undo()
    editor.paint(2, (3, 3), radius=1, label=1)
    assert editor.dirty and not editor.can_redo


def test_the_history_drops_its_oldest_steps_past_its_memory_cap() -> None:
    editor = LabelEditor(np.zeros((10, 20, 20), np.uint8), max_history_bytes=1000)
    for z in range(10):
        editor.fill(z, (0, 0), 3)  # 800 bytes per step
    assert len(editor.history.undo_records) == 1 and editor.history.nbytes <= 1000
    editor.undo()
    assert not editor.labels[9].any() and editor.labels[8].all() and not editor.can_undo
    assert editor.dirty, "the labels still differ from the state the editor started from"


def test_reset_takes_new_labels_and_forgets_the_history() -> None:
    editor = LabelEditor(np.zeros((2, 8, 8), np.uint8))
    regions = []
    editor.events.labels_changed.connect(regions.append)
    editor.paint(0, (4, 4), radius=1, label=1)
    editor.reset(np.ones((3, 8, 8), np.uint8))
    assert editor.shape == (3, 8, 8) and not editor.can_undo and not editor.dirty
    assert regions[-1] == (slice(0, 3), slice(0, 8), slice(0, 8))


def test_history_events_announce_undo_availability() -> None:
    editor = LabelEditor(np.zeros((2, 8, 8), np.uint8))
    calls = []
    editor.events.history_changed.connect(lambda: calls.append(editor.can_undo))
    editor.paint(0, (4, 4), radius=1, label=1)
    editor.undo()
    assert calls == [True, False]


def test_a_second_open_stroke_is_refused() -> None:
    editor = LabelEditor(np.zeros((2, 8, 8), np.uint8))
    editor.begin_stroke("brush")
    with pytest.raises(EditingError, match="brush stroke is still open"):
        editor.begin_stroke("eraser")


def test_editing_state_palette_keys_and_events() -> None:
    state = EditingState()
    changes = []
    state.events.changed.connect(changes.append)
    state.select(0)
    assert state.tool == "eraser" and state.painting_label == 0
    state.select(5)
    assert (state.tool, state.active_label, state.painting_label) == ("brush", 5, 5)
    state.select(5)
    state.brush_radius = 7
    assert changes == ["tool", "active_label", "tool", "brush_radius"]


@pytest.mark.parametrize("field, value, match", [
    ("tool", "lasso", "unknown editing tool 'lasso'"),
    ("active_label", 0, "active muscle must be one of .* got 0"),
    ("brush_radius", 51, "0..50 voxels, got 51"),
    ("paint_over", 8, "got 8"),
])
def test_editing_state_refuses_bad_values(field: str, value: object, match: str) -> None:
    with pytest.raises(EditingError, match=match):
        setattr(EditingState(), field, value)


def test_event_emitter_connects_each_callback_once() -> None:
    emitter, calls = EventEmitter("test"), []
    emitter.connect(calls.append)
    emitter.connect(calls.append)
    emitter.emit(1)
    emitter.disconnect(calls.append)
    emitter.disconnect(calls.append)
    emitter.emit(2)
    assert calls == [1] and len(emitter) == 0


def test_the_editing_benchmark_reports_every_figure_and_its_target() -> None:
    import argparse

    from legseg_core.bench import editing

    result = editing.run(argparse.Namespace(shape=(12, 48, 48), radius=2, repeats=1))
    row = result.rows[0]
    assert row["shape (z, y, x)"] == "12 x 48 x 48"
    assert 0 < row["history MB / 100 strokes"] * 2**20 <= 100 * 2 * 48 * 48, "each stroke keeps at most a slice's box"
    assert all(row[name] > 0 for name in ("brush dab ms", "40-dab stroke ms", "fill slice ms", "relabel 3D ms"))
    assert [t["what"] for t in result.targets] == ["brush dab"]
