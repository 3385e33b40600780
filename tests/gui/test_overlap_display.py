"""With the overlap map on, the muscles show as outlines in their own colours over it: every overlay pixel is
either an overlap colour or a muscle colour, never a blend of the two."""

from __future__ import annotations

import numpy as np

from legseg_core.evaluation import overlap_map
from legseg_core.labels import MUSCLES, OVERLAP_CLASSES
from legseg_gui.rendering import outline_mask, overlap_rgba
from legseg_gui.slice_view import SliceViewWidget, overlay_slice
from tests.gui.conftest import show


def test_outlines_replace_the_overlap_colour_on_their_pixels(scene) -> None:
    _, labels = scene
    predicted = np.roll(labels, 3, axis=2)
    overlap = overlap_map(labels, predicted)[5]
    rgba = overlap_rgba(overlap, predicted[5])
    edge = outline_mask(predicted[5])
    allowed = {(*c.color, 255) for c in (*MUSCLES, *OVERLAP_CLASSES)} | {(0, 0, 0, 0)}
    assert {tuple(p) for p in rgba.reshape(-1, 4)} <= allowed
    muscle_colors = {(*m.color, 255) for m in MUSCLES}
    assert all(tuple(p) in muscle_colors for p in rgba[edge])
    inside = (overlap > 0) & ~edge
    overlap_colors = {(*c.color, 255) for c in OVERLAP_CLASSES}
    assert inside.any() and all(tuple(p) in overlap_colors for p in rgba[inside])


def test_the_view_draws_the_overlap_map_with_the_edited_labels_outlined(qtbot, scene, editor) -> None:
    volume, labels = scene
    view = show(qtbot, SliceViewWidget(volume, editor))
    view.set_overlap(overlap_map(labels, editor.labels))
    view.view_state.z = 5
    view.view_state.overlay = "overlap"
    rgba = overlay_slice(view, (5,))
    edge = outline_mask(editor.labels[5])
    np.testing.assert_array_equal(rgba[edge, :3], np.array([MUSCLES[v - 1].color for v in editor.labels[5][edge]]))
    view.view_state.overlay = "labels"
    assert {tuple(p) for p in overlay_slice(view, (5,))[editor.labels[5] > 0, :3]} <= {m.color for m in MUSCLES}
