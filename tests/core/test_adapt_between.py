"""Between corrected slices: the muscles both show are interpolated over the adapted labels, nothing else is."""

from __future__ import annotations

import numpy as np
import pytest

from legseg_core.adapt import AdaptError, AdaptSettings, LegColumns, LegSlice
from legseg_core.adapt.adapt import MAX_STEPS
from legseg_core.adapt.between import interpolate_between_corrected


def disc(centre, radius, shape=(40, 80)) -> np.ndarray:
    y, x = np.ogrid[: shape[0], : shape[1]]
    return (y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= radius ** 2


def two_legs():
    """Seven slices of two legs; slices 1 and 5 of the right leg corrected: SOL (3) on both, PER (5) on 1 only."""
    legs = LegColumns({"right": [(0, 40)] * 7, "left": [(40, 80)] * 7}, 7)
    corrected = np.zeros((7, 40, 80), dtype=np.uint8)
    for z in (1, 5):
        corrected[z][disc((20, 20), 8)] = 3
    corrected[1][disc((20, 33), 3)] = 5
    adapted = np.zeros_like(corrected)
    for z in range(7):
        adapted[z][disc((22, 16), 9)] = 3  # the network's SOL: too far down and left
        adapted[z][disc((8, 34), 3)] = 5  # the network's PER: it may start between the corrected slices
        adapted[z][disc((20, 60), 8)] = 3  # the left leg
    adapted[1], adapted[5] = corrected[1], corrected[5]
    return legs, corrected, adapted


def test_muscles_on_both_corrected_slices_are_interpolated_between_them():
    legs, corrected, adapted = two_legs()
    chosen = [LegSlice(1, "right"), LegSlice(5, "right")]
    result = interpolate_between_corrected(adapted, corrected, chosen, legs, (5.0, 2.0, 2.0))
    assert np.array_equal(result[[0, 1, 5, 6]], adapted[[0, 1, 5, 6]])  # corrected slices and those beyond them
    assert np.array_equal(result[2:5, :, 40:], adapted[2:5, :, 40:])  # the other leg
    for z in range(2, 5):
        right = result[z, :, :40]
        assert np.array_equal(right == 3, disc((20, 20), 8)[:, :40])  # SOL: the corrected shape, carried over
        assert np.array_equal(right == 5, disc((8, 34), 3)[:, :40])  # PER (on one end only): the network's
    assert not np.array_equal(result, adapted)
    near = interpolate_between_corrected(adapted, corrected, chosen, legs, (5.0, 2.0, 2.0), reach_mm=5.0)
    assert np.array_equal(near[[2, 4]], result[[2, 4]])  # 5 mm from a corrected slice
    assert np.array_equal(near[3], adapted[3])  # 10 mm from both: the network's


def test_neighbouring_corrected_slices_and_a_lone_one_change_nothing():
    legs, corrected, adapted = two_legs()
    for chosen in ([LegSlice(1, "right")], [LegSlice(1, "right"), LegSlice(2, "right")]):
        assert np.array_equal(interpolate_between_corrected(adapted, corrected, chosen, legs, (5.0, 2.0, 2.0)),
                              adapted)


def test_steps_grow_with_the_corrected_leg_slices():
    automatic = AdaptSettings()
    assert automatic.steps_for(1) < automatic.steps_for(6) < automatic.steps_for(10) <= MAX_STEPS
    assert automatic.steps_for(1000) == MAX_STEPS
    assert AdaptSettings(steps=7).steps_for(30) == 7 and AdaptSettings(steps=7).recipe(30).max_steps == 7
    with pytest.raises(AdaptError, match="steps=0 must be a whole number"):
        AdaptSettings(steps=0)
