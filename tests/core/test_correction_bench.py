"""The simulated expert's action model, the effort count, interpolation, and `legseg bench correction` (quick)."""

from __future__ import annotations

import numpy as np

from legseg_core.adapt import LegColumns, LegSlice
from legseg_core.adapt.expert import ActionModel, SliceTable, effort_to_reach, interpolate_between, slice_actions, \
    spread_slices


def disc(shape, centre, radius) -> np.ndarray:
    y, x = np.ogrid[: shape[0], : shape[1]]
    return (y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= radius ** 2


def test_actions_follow_the_documented_model():
    reference = np.zeros((60, 120), dtype=np.uint8)
    reference[disc(reference.shape, (30, 30), 10)] = 1
    reference[disc(reference.shape, (30, 80), 10)] = 2
    assert slice_actions(reference, reference) == 0
    swapped = reference.copy()
    swapped[reference == 2] = 3  # a whole muscle with another muscle's id: one relabel click
    assert slice_actions(swapped, reference) == 1
    missing = reference.copy()
    missing[disc(reference.shape, (30, 80), 10)] = 0  # a missing muscle inside background: paint it
    assert slice_actions(missing, reference) == 2  # 317 voxels: two 40-voxel sweeps of a 7-voxel brush
    assert slice_actions(missing, reference, ActionModel(brush_radius=6)) == 1
    band = np.zeros((60, 120), dtype=np.uint8)
    band[10:30, 5:115] = 4
    thinner = band.copy()
    thinner[29, 5:115] = 0  # a one-voxel boundary sliver 110 voxels long: three 40-voxel strokes
    assert slice_actions(thinner, band) == 3
    scattered = reference.copy()
    scattered[30, 21] = scattered[30, 39] = 0  # two far-apart one-voxel holes: two fill clicks
    assert slice_actions(scattered, reference) == 2
    near = reference.copy()
    near[30, 20] = near[31, 22] = 0  # within the brush's reach of each other: one stroke
    assert slice_actions(near, reference, ActionModel(brush_radius=3)) == 1


def leg_case():
    """Two legs of four slices; labels wrong on slices 1 and 2 of the right leg."""
    from legseg_core.io import Volume

    reference = np.zeros((6, 40, 80), dtype=np.uint8)
    for z in range(1, 5):
        reference[z][disc((40, 80), (20, 20), 8)] = 3
        reference[z][disc((40, 80), (20, 60), 8)] = 3
    legs = LegColumns({"right": [(0, 40)] * 6, "left": [(40, 80)] * 6}, 6)
    volume = Volume.from_array(np.zeros(reference.shape, dtype=np.float32), (5.0, 2.0, 2.0))
    return volume, reference, legs


def test_effort_counts_actions_until_each_target():
    _, reference, legs = leg_case()
    labels = reference.copy()
    labels[1:3, :, :40][labels[1:3, :, :40] == 3] = 4
    table = SliceTable.of(labels, reference, legs)
    nothing = np.zeros(len(table.leg_slices), dtype=bool)
    assert table.mean_dice(nothing) < 0.9 and table.mean_dice(np.ones_like(nothing)) == 1.0
    first, second = effort_to_reach(table, (0.90, 1.0))  # SOL 0.857 at the start, 0.933 after one slice
    assert (first.actions, first.slices) == (1, 1) and (second.actions, second.slices) == (2, 2)
    done = table.index([LegSlice(1, "right")])
    assert effort_to_reach(table, (1.0,), done, spent=5)[0].actions == 6


def test_spread_slices_and_interpolation_between_them():
    volume, reference, legs = leg_case()
    chosen = spread_slices(reference, legs, 2)
    assert [s.z for s in chosen if s.leg == "right"] == [2, 3] or len(chosen) == 4
    labels = np.zeros_like(reference)
    for z in (1, 4):
        labels[z] = reference[z]
    filled = interpolate_between(labels, [LegSlice(1, "right"), LegSlice(4, "right")], legs, (2.0, 2.0))
    assert np.array_equal(filled[2:4, :, :40], reference[2:4, :, :40])
    assert not filled[2:4, :, 40:].any()  # the other leg was not interpolated


def test_the_quick_benchmark_runs_every_strategy():
    from legseg_core.bench.correction import quick_arguments, run

    result = run(quick_arguments())
    strategies = {(row["strategy"], row["k"]) for row in result.rows}
    assert strategies == {("a", 0), ("b", 0), ("b0", 0), ("c", 0), ("b", 2), ("b0", 2), ("c", 2)}
    adapted = next(row for row in result.rows if row["strategy"] == "b" and row["k"] == 2)
    assert adapted["adapt_s"] > 0 and 0.0 <= adapted["dice"] <= 1.0 and adapted["steps"] == 3
    by_hand = next(row for row in result.rows if row["strategy"] == "a")
    assert by_hand["actions@0.95"] >= by_hand["actions@0.90"]
