"""Domain randomisation of intensities, for training models that must transfer to real scans.

With ``randomize_intensity=True`` a case's images no longer follow the signal equations: each
tissue class gets a random intensity (muscles share one, so labels still match texture), and
the image then goes through a random gamma, a contrast inversion now and then, a random blur and
a bias field several times stronger than a scanner's. Anatomy, labels and fat infiltration stay
those of the case, so a network learns shape rather than one scanner's grey values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.phantom.tissue import AIR, MUSCLE_FIRST, NUM_TISSUE_CLASSES


@dataclass(frozen=True)
class IntensityRandomization:
    """Ranges of the random intensity transforms (gamma, inversion chance, blur in voxels, bias)."""

    gamma: tuple[float, float] = (0.6, 1.7)
    inversion_probability: float = 0.2
    blur_voxels: tuple[float, float] = (0.0, 1.2)
    bias_strength: float = 0.35


DEFAULT_RANDOMIZATION = IntensityRandomization()


def random_class_table(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random (water, fat) intensity per tissue class: all muscle classes equal, air black.

    The whole intensity sits in the first (water) table, so the image is their sum.
    """
    water = rng.uniform(0.05, 1.0, NUM_TISSUE_CLASSES)
    water[MUSCLE_FIRST:] = water[MUSCLE_FIRST]
    water[AIR] = 0.0  # outside the legs there is nothing to randomise
    return water, np.zeros(NUM_TISSUE_CLASSES)


def randomize_image(rng: np.random.Generator, image: np.ndarray,
                    settings: IntensityRandomization = DEFAULT_RANDOMIZATION) -> np.ndarray:
    """Random gamma, optional inversion and blur of a non-negative image (float32, range kept)."""
    from legseg_core.phantom.acquisition import blur_in_plane

    top = float(image.max()) or 1.0
    scaled = np.clip(image / np.float32(top), 0, 1)
    scaled = scaled ** np.float32(rng.uniform(*settings.gamma))
    if rng.uniform() < settings.inversion_probability:
        scaled = 1 - scaled
    scaled = blur_in_plane(scaled.astype(np.float32), float(rng.uniform(*settings.blur_voxels)))
    return (scaled * np.float32(top)).astype(np.float32)
