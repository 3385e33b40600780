"""Contrasts from tissue properties by signal equations.

Every contrast comes from one pulse sequence; a Dixon acquisition gives four images (water,
fat, in phase, opposed phase) from one gradient echo sequence. Per tissue class the water and
the fat components each get a signal per unit volume:

- spin echo (T1w, PD, T2w): ``PD * (1 - exp(-TR/T1)) * exp(-TE/T2)``
- spoiled gradient echo (Dixon): ``PD * sin(a) (1 - E1) / (1 - cos(a) E1)``, ``E1 = exp(-TR/T1)``
- diffusion (spin-echo EPI, fat suppressed): the spin-echo term times ``exp(-b * ADC)``, with
  only a small fraction of the fat signal left.

A voxel's signal is the sum over the tissue fractions inside it (partial volume); fatty
infiltration replaces a fraction of a muscle's volume by adipose tissue. The Dixon water and
fat images keep a few percent of each other (imperfect separation with a single-peak model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.phantom.tissue import FAT_T1_MS, FAT_T2_MS, MUSCLE_FIRST, property_table

CONTRASTS: tuple[str, ...] = ("t1w", "pd", "t2w", "dixon_water", "dixon_fat", "dixon_in_phase",
                              "dixon_opposed_phase", "diffusion")
DIXON_LEAK = 0.04  # fraction of the fat (water) signal left in the Dixon water (fat) image


@dataclass(frozen=True)
class Sequence:
    """Acquisition parameters of one pulse sequence (ms, degrees, s/mm^2) and its SNR range."""

    name: str
    kind: str  # "spin_echo", "gradient_echo" or "diffusion"
    tr_ms: float
    te_ms: float
    flip_deg: float = 90.0
    b_value: float = 0.0
    fat_left: float = 1.0  # fraction of the fat signal that survives fat suppression
    snr: tuple[float, float] = (25.0, 60.0)  # muscle signal / noise standard deviation


SEQUENCES: dict[str, Sequence] = {
    "t1w": Sequence("t1w", "spin_echo", 550.0, 12.0, snr=(25.0, 60.0)),
    "pd": Sequence("pd", "spin_echo", 2500.0, 20.0, snr=(30.0, 70.0)),
    "t2w": Sequence("t2w", "spin_echo", 4000.0, 85.0, snr=(15.0, 40.0)),
    "dixon": Sequence("dixon", "gradient_echo", 8.0, 2.5, flip_deg=8.0, snr=(25.0, 60.0)),
    "diffusion": Sequence("diffusion", "diffusion", 5000.0, 60.0, b_value=450.0, fat_left=0.04,
                          snr=(10.0, 25.0)),
}


def sequence_of(contrast: str) -> Sequence:
    """The pulse sequence that produces a contrast."""
    return SEQUENCES["dixon" if contrast.startswith("dixon_") else contrast]


def _weight(sequence: Sequence, t1_ms, t2_ms, adc):
    """Signal per unit proton density for relaxation times (ms) and diffusivity (1e-3 mm^2/s)."""
    t1 = np.maximum(np.asarray(t1_ms, dtype=float), 1e-3)
    t2 = np.maximum(np.asarray(t2_ms, dtype=float), 1e-3)
    if sequence.kind == "gradient_echo":
        e1 = np.exp(-sequence.tr_ms / t1)
        alpha = np.radians(sequence.flip_deg)
        return np.sin(alpha) * (1 - e1) / (1 - np.cos(alpha) * e1)
    spin_echo = (1 - np.exp(-sequence.tr_ms / t1)) * np.exp(-sequence.te_ms / t2)
    if sequence.kind == "diffusion":
        return spin_echo * np.exp(-sequence.b_value * np.asarray(adc, dtype=float) * 1e-3)
    return spin_echo


def class_signals(sequence: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Water and fat signal per unit volume of every tissue class (two float arrays, by class)."""
    water = property_table("water_density") * _weight(
        sequence, property_table("t1_ms"), property_table("t2_ms"), property_table("adc"))
    fat = property_table("fat_density") * _weight(sequence, FAT_T1_MS, FAT_T2_MS, 0.01) * sequence.fat_left
    return water, fat


def reference_signal(sequence: Sequence) -> float:
    """Signal of healthy muscle (water plus fat) in a sequence: the scale of its image and noise."""
    water, fat = class_signals(sequence)
    return float(water[MUSCLE_FIRST] + fat[MUSCLE_FIRST])


def combine(contrast: str, water: np.ndarray, fat: np.ndarray) -> np.ndarray:
    """The image of a contrast from the water and fat signal maps of its sequence (float32)."""
    if contrast == "dixon_water":
        image = water + DIXON_LEAK * fat
    elif contrast == "dixon_fat":
        image = fat + DIXON_LEAK * water
    elif contrast == "dixon_opposed_phase":
        image = np.abs(water - fat)
    else:
        image = water + fat
    return image.astype(np.float32, copy=False)
