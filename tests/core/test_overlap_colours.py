"""The four overlap colours stay apart (CIEDE2000) from the muscle colours, from bright and dark backgrounds,
and from each other, so the overlap map reads right beside muscle outlines, on fat and on air."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from legseg_core.labels import MUSCLES, OVERLAP_CLASSES

#: A CIEDE2000 difference of about 2 is just noticeable; 25 is an unmistakably different colour.
MIN_DIFFERENCE = 25.0
BRIGHT, DARK = (245, 245, 245), (15, 15, 15)  # bright fat, air


def delta_e_2000(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """CIEDE2000 difference of two sRGB colours (0..255)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab = [rgb2lab(np.asarray(c, float).reshape(1, 1, 3) / 255.0).reshape(3) for c in (first, second)]
    return float(deltaE_ciede2000(*lab))


def test_the_difference_is_the_published_ciede2000() -> None:
    # Sharma, Wu and Dalal (2005), pair 1 of their test data, given in CIELAB.
    from skimage.color import deltaE_ciede2000

    assert float(deltaE_ciede2000([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485])) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e_2000((0, 0, 0), (255, 255, 255)) == pytest.approx(100.0, abs=0.01)


@pytest.mark.parametrize("overlap", OVERLAP_CLASSES, ids=lambda c: c.abbr)
def test_each_overlap_colour_differs_from_every_muscle_colour(overlap) -> None:
    closest = min(MUSCLES, key=lambda m: delta_e_2000(overlap.color, m.color))
    assert delta_e_2000(overlap.color, closest.color) >= MIN_DIFFERENCE, f"{overlap.abbr} looks like {closest.abbr}"


@pytest.mark.parametrize("overlap", OVERLAP_CLASSES, ids=lambda c: c.abbr)
def test_each_overlap_colour_shows_on_bright_fat_and_on_dark_air(overlap) -> None:
    assert delta_e_2000(overlap.color, BRIGHT) >= MIN_DIFFERENCE
    assert delta_e_2000(overlap.color, DARK) >= MIN_DIFFERENCE


def test_the_overlap_colours_differ_from_each_other() -> None:
    for first, second in itertools.combinations(OVERLAP_CLASSES, 2):
        assert delta_e_2000(first.color, second.color) >= MIN_DIFFERENCE, (first.abbr, second.abbr)
