"""The lookup-table rendering of slices: grey from window/level, label colours, outlines."""

from __future__ import annotations

import numpy as np

from legseg_core.labels import MUSCLE_BY_ID, OVERLAP_BY_ID
from legseg_gui.rendering import MUSCLE_TABLE, OVERLAP_TABLE, auto_window, outline_mask, overlay_rgba, window_to_gray


def test_window_and_level_map_to_black_and_white() -> None:
    image = np.array([[0.0, 40.0, 50.0, 60.0, 100.0]])
    assert window_to_gray(image, 20.0, 50.0).tolist() == [[0, 0, 127, 255, 255]]


def test_auto_window_spans_the_bulk_of_the_intensities() -> None:
    data = np.random.default_rng(0).uniform(100, 200, (20, 30, 30))
    window, level = auto_window(data)
    assert abs(level - 150) < 2 and 95 < window < 100


def test_labels_take_the_paper_colours_and_background_is_transparent() -> None:
    values = np.array([[0, 1, 4, 9]], np.uint8)
    rgba = overlay_rgba(values, MUSCLE_TABLE)
    assert rgba.shape == (1, 4, 4) and rgba[0, 0, 3] == 0 and rgba[0, 3, 3] == 0
    assert tuple(rgba[0, 1]) == (*MUSCLE_BY_ID[1].color, 255) and tuple(rgba[0, 2]) == (*MUSCLE_BY_ID[4].color, 255)
    assert tuple(overlay_rgba(np.array([[3]], np.uint8), OVERLAP_TABLE)[0, 0]) == (*OVERLAP_BY_ID[3].color, 255)


def test_outlines_keep_only_the_edge_of_each_region() -> None:
    values = np.zeros((7, 7), np.uint8)
    values[1:6, 1:6] = 2
    values[3, 3] = 5
    edge = outline_mask(values)
    assert edge[1, 1] and edge[3, 3] and edge[2, 3] and not edge[2, 2] and not edge[0, 0]
    rgba = overlay_rgba(values, MUSCLE_TABLE, outline=True)
    assert rgba[2, 2, 3] == 0 and rgba[1, 3, 3] == 255
