"""The label editor's operations: brush, eraser, fill, relabel and shape-based interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.editing import EditingError, LabelEditor
from legseg_core.editing.shapes import capsule_mask, interpolate_masks
from legseg_core.errors import ImageShapeError, ImageValueError


def disc(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


@pytest.fixture
def editor() -> LabelEditor:
    return LabelEditor(np.zeros((6, 32, 40), np.uint8), spacing=(3.0, 1.0, 1.0))


def test_brush_paints_a_disc_on_one_slice_and_reports_its_box(editor: LabelEditor) -> None:
    region = editor.paint(2, (10, 12), radius=2, label=3)
    assert np.array_equal(editor.labels[2] == 3, disc((32, 40), (10, 12), 2))
    assert int((editor.labels == 3).sum()) == 13
    assert region == (slice(2, 3), slice(8, 13), slice(10, 15))
    assert not editor.labels[[0, 1, 3, 4, 5]].any()


def test_radius_zero_paints_the_voxel_under_the_point(editor: LabelEditor) -> None:
    editor.paint(0, (4.2, 5.9), radius=0, label=1)
    assert list(zip(*np.nonzero(editor.labels))) == [(0, 4, 6)]


def test_a_drag_between_two_points_leaves_no_gap(editor: LabelEditor) -> None:
    editor.paint(1, (5, 2), (25, 35), radius=1, label=4)
    line = np.linspace((5, 2), (25, 35), 200).round().astype(int)
    assert np.all(editor.labels[1][line[:, 0], line[:, 1]] == 4)


def test_brush_clips_at_the_slice_edge_and_ignores_points_far_outside(editor: LabelEditor) -> None:
    region = editor.paint(0, (0, 0), radius=3, label=2)
    assert region == (slice(0, 1), slice(0, 4), slice(0, 4))
    assert editor.paint(0, (-50, -50), radius=3, label=2) is None
    assert capsule_mask((32, 40), (100, 100), (120, 100), 2) is None


def test_paint_over_background_keeps_muscles_and_eraser_can_spare_other_muscles(editor: LabelEditor) -> None:
    editor.labels[0, 10:20, 10:20] = 5
    editor.labels[0, 10:20, 20:30] = 6
    editor.paint(0, (15, 20), radius=8, label=1, paint_over=0)
    assert int((editor.labels[0] == 5).sum()) == 100 and int((editor.labels[0] == 6).sum()) == 100
    assert (editor.labels[0] == 1).any()
    editor.paint(0, (15, 20), radius=12, label=0, paint_over=6)
    assert not (editor.labels[0] == 6).any()
    assert int((editor.labels[0] == 5).sum()) == 100 and (editor.labels[0] == 1).any()


def test_painting_what_is_already_there_changes_nothing(editor: LabelEditor) -> None:
    editor.paint(0, (10, 10), radius=3, label=2)
    count = editor.edit_count
    assert editor.paint(0, (10, 10), radius=3, label=2) is None
    assert editor.edit_count == count


def test_fill_is_four_connected_and_stays_on_its_slice(editor: LabelEditor) -> None:
    ring = disc((32, 40), (16, 20), 8) & ~disc((32, 40), (16, 20), 6)
    editor.labels[:, ring] = 3
    editor.fill(2, (16, 20), 3)
    assert np.all(editor.labels[2][disc((32, 40), (16, 20), 6)] == 3)
    assert not (editor.labels[2][~disc((32, 40), (16, 20), 8)]).any()
    assert not (editor.labels[3][disc((32, 40), (16, 20), 5)]).any()
    editor.labels[4] = 0
    editor.labels[4, 5, 5] = editor.labels[4, 6, 6] = 1
    editor.fill(4, (5, 5), 2)
    assert editor.labels[4, 5, 5] == 2 and editor.labels[4, 6, 6] == 1


def test_relabel_in_the_slice_or_through_the_volume(editor: LabelEditor) -> None:
    editor.labels[1:4, 5:10, 5:10] = 2
    editor.labels[1:4, 20:25, 20:25] = 2
    editor.relabel((2, 7, 7), 4)
    assert np.all(editor.labels[2, 5:10, 5:10] == 4) and np.all(editor.labels[[1, 3], 5:10, 5:10] == 2)
    assert np.all(editor.labels[2, 20:25, 20:25] == 2)
    region = editor.relabel((1, 22, 22), 7, three_d=True)
    assert np.all(editor.labels[1:4, 20:25, 20:25] == 7) and np.all(editor.labels[1, 5:10, 5:10] == 2)
    assert region == (slice(1, 4), slice(20, 25), slice(20, 25))


def test_interpolation_blends_two_discs_into_a_cone(editor: LabelEditor) -> None:
    editor.labels[0][disc((32, 40), (16, 20), 3)] = 5
    editor.labels[4][disc((32, 40), (16, 20), 11)] = 5
    region = editor.interpolate(5, 4, 0)
    assert region is not None and (region[0].start, region[0].stop) == (1, 4)
    for z, radius in ((1, 5), (2, 7), (3, 9)):
        expected = disc((32, 40), (16, 20), radius)
        got = editor.labels[z] == 5
        assert 2 * (got & expected).sum() / (got.sum() + expected.sum()) > 0.93, z
    assert not editor.labels[5].any()


def test_interpolation_moves_a_shape_and_replaces_only_its_own_muscle(editor: LabelEditor) -> None:
    editor.labels[0][disc((32, 40), (16, 12), 8)] = 1
    editor.labels[4][disc((32, 40), (16, 24), 8)] = 1
    editor.labels[2, 0:3, :] = 1  # a stale piece of the muscle, replaced
    editor.labels[2, 14:19, 16:21] = 6  # another muscle, kept
    editor.interpolate(1, 0, 4)
    ys, xs = np.nonzero(editor.labels[2] == 1)
    assert abs(xs.mean() - 18) < 1.0 and abs(ys.mean() - 16) < 1.0 and ys.min() > 3
    assert np.all(editor.labels[2, 14:19, 16:21] == 6)


def test_interpolated_masks_reproduce_the_end_slices_exactly() -> None:
    rng = np.random.default_rng(3)
    first, second = rng.random((20, 24)) > 0.6, rng.random((20, 24)) > 0.7
    start, end = interpolate_masks(first, second, [0.0, 1.0], spacing=(0.8, 1.3))
    assert np.array_equal(start, first) and np.array_equal(end, second)


def test_interpolate_edited_uses_the_slices_drawn_by_hand(editor: LabelEditor) -> None:
    editor.paint(0, (16, 20), radius=4, label=2)
    editor.paint(3, (16, 20), radius=4, label=2)
    editor.paint(5, (16, 20), radius=6, label=2)
    assert editor.edited_slices(2) == (0, 3, 5)
    regions = editor.interpolate_edited(2)
    assert [r[0] for r in regions] == [slice(1, 3), slice(4, 5)]
    assert all((editor.labels[z] == 2).any() for z in range(6))
    editor.undo()
    assert not editor.labels[[1, 2, 4]].any() and editor.edited_slices(2) == (0, 3, 5)


def test_adjacent_slices_have_nothing_between_them(editor: LabelEditor) -> None:
    editor.labels[1:3, 4:8, 4:8] = 3
    assert editor.interpolate(3, 1, 2) is None


@pytest.mark.parametrize("call, error, match", [
    (lambda e: e.paint(6, (1, 1), radius=1, label=1), EditingError, "slice 6 is outside"),
    (lambda e: e.paint(0, (1, 1), radius=1, label=8), EditingError, "label 8"),
    (lambda e: e.paint(0, (1, 1), radius=1, label=1, paint_over=9), EditingError, "paint_over .* got 9"),
    (lambda e: e.fill(0, (40, 1), 1), EditingError, r"\(0, 40, 1\) is outside"),
    (lambda e: e.relabel((0, 1, 1), 2), EditingError, r"voxel \(z, y, x\) = \(0, 1, 1\) is background"),
    (lambda e: e.interpolate(3, 0, 4), EditingError, "SOL .*slice 0 holds none"),
    (lambda e: e.interpolate(0, 0, 4), EditingError, "label 0 is not a muscle"),
    (lambda e: e.interpolate_edited(4), EditingError, "at least two slices"),
])
def test_impossible_edits_are_refused_with_the_value(editor: LabelEditor, call, error, match) -> None:
    with pytest.raises(error, match=match):
        call(editor)


@pytest.mark.parametrize("labels, error, match", [
    (np.zeros((4, 4), np.uint8), ImageShapeError, r"3D \[z, y, x\] array, got shape \(4, 4\)"),
    (np.zeros((2, 4, 4), np.int16), ImageValueError, "must be uint8.*int16"),
    (np.full((2, 4, 4), 9, np.uint8), ImageValueError, "0..7, found 9"),
    (np.broadcast_to(np.zeros(1, np.uint8), (2, 4, 4)), ImageValueError, "writable"),
])
def test_label_maps_that_cannot_be_edited_are_refused(labels, error, match) -> None:
    with pytest.raises(error, match=match):
        LabelEditor(labels)
