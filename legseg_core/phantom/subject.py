"""Per-subject anatomy: leg length, girth, fat, muscle proportions, asymmetry, position, warp.

A subject has one or two :class:`LegParameters`. Everything random about a leg's anatomy is
drawn here from the case's random generator, so one seed gives one body. World coordinates
are in mm on the canonical axes: x from the patient's right to left, y from anterior to
posterior, z from inferior to superior; ``z = 0`` is the right ankle joint.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

SIDES = ("right", "left")
MUSCLE_SIGNAL_ABBRS = ("GL", "GM", "SOL", "TA", "PER", "EDL", "TP", "FDL", "FHL")


@dataclass(frozen=True)
class LegParameters:
    """The anatomy of one lower leg (mm, degrees; factors are relative to a reference adult)."""

    side: str
    length_mm: float  # ankle joint to tibial plateau
    ankle_z: float  # world z of the ankle joint
    centre_x: float  # world x of the leg axis at mid-length
    centre_y: float  # world y of the leg axis at mid-length
    tilt_x: float  # change of the leg axis' x over the whole length
    tilt_y: float
    rotation_deg: float  # external rotation of the cross-section
    girth: float  # scales the outer half-width
    depth_scale: float  # scales the antero-posterior / medio-lateral ratio
    bone_scale: float
    skin_mm: float
    fat_mm: float  # mean subcutaneous fat thickness
    gastrocnemius_scale: float
    soleus_scale: float  # moves the gastrocnemius / soleus boundary
    deep_scale: float
    anterior_split: float  # shifts the TA / EDL boundary (fraction of the membrane)
    outline_harmonics: tuple[float, ...]  # (sin 1, cos 2, sin 2, cos 3) of the outer contour
    warp: tuple[float, ...]  # amplitudes (mm), wave numbers (1/mm) and phases of the smooth warp
    vessel_spots: tuple[tuple[float, float, float], ...] = ()  # small intramuscular vessels: (u, v) as
    #                         fractions of the outer half-axes, radius mm
    muscle_signal: dict[str, float] = field(default_factory=dict)  # relative water signal per muscle abbr
    atrophy_mm: dict[str, float] = field(default_factory=dict)  # extra erosion per muscle abbr

    @property
    def sign(self) -> int:
        """+1 for the right leg (medial is toward +x), -1 for the left leg."""
        return 1 if self.side == "right" else -1

    def heights(self, z_mm: np.ndarray) -> np.ndarray:
        """Height along this leg, ``t`` (0 ankle joint, 1 tibial plateau), of world z positions (mm)."""
        return (np.asarray(z_mm, dtype=float) - self.ankle_z) / self.length_mm

    def plateau_z(self) -> float:
        """World z (mm) of the tibial plateau."""
        return self.ankle_z + self.length_mm


def sample_leg(rng: np.random.Generator, side: str, *, girth_factor: float = 1.0) -> LegParameters:
    """Draw a right or left leg at the origin; :func:`sample_legs` places it and pairs it."""
    warp = (*rng.uniform(1.5, 4.0, 4), *rng.uniform(1 / 60, 1 / 25, 4), *rng.uniform(0, 2 * np.pi, 4))
    return LegParameters(
        side=side, length_mm=float(rng.uniform(340, 420)), ankle_z=0.0, centre_x=0.0, centre_y=0.0,
        tilt_x=float(rng.normal(0, 8)), tilt_y=float(rng.normal(0, 8)),
        rotation_deg=float(rng.normal(0, 6)), girth=float(rng.uniform(0.86, 1.14) * girth_factor),
        depth_scale=float(rng.uniform(0.94, 1.06)), bone_scale=float(rng.uniform(0.9, 1.1)),
        skin_mm=float(rng.uniform(1.3, 2.2)), fat_mm=float(rng.uniform(3.0, 12.0)),
        gastrocnemius_scale=float(rng.uniform(0.8, 1.2)), soleus_scale=float(rng.uniform(0.85, 1.15)),
        deep_scale=float(rng.uniform(0.85, 1.15)), anterior_split=float(rng.normal(0, 0.04)),
        outline_harmonics=tuple(float(h) for h in rng.normal(0, 0.018, 4)), warp=tuple(float(w) for w in warp),
        vessel_spots=_vessel_spots(rng), muscle_signal=_muscle_signal(rng))


def _muscle_signal(rng: np.random.Generator) -> dict[str, float]:
    """Small differences of signal between muscles (fibre type, water content): a few percent."""
    return {abbr: float(1 + rng.normal(0, 0.035)) for abbr in MUSCLE_SIGNAL_ABBRS}


def _vessel_spots(rng: np.random.Generator) -> tuple[tuple[float, float, float], ...]:
    """A few small vessels running through the posterior muscles (seen as dots on water images)."""
    count = int(rng.integers(4, 10))
    return tuple((float(rng.uniform(-0.45, 0.55)), float(rng.uniform(0.2, 0.72)), float(rng.uniform(0.7, 1.3)))
                 for _ in range(count))


def mirror_with_asymmetry(rng: np.random.Generator, leg: LegParameters) -> LegParameters:
    """The other leg of the same subject: same build, a few percent of left/right asymmetry."""
    def jitter(value: float, spread: float) -> float:
        return float(value * (1 + rng.normal(0, spread)))

    warp = (*rng.uniform(1.5, 4.0, 4), *rng.uniform(1 / 60, 1 / 25, 4), *rng.uniform(0, 2 * np.pi, 4))
    return replace(
        leg, side="left" if leg.side == "right" else "right", length_mm=jitter(leg.length_mm, 0.008),
        ankle_z=float(rng.normal(0, 6)), girth=jitter(leg.girth, 0.03), fat_mm=jitter(leg.fat_mm, 0.08),
        gastrocnemius_scale=jitter(leg.gastrocnemius_scale, 0.05),
        soleus_scale=jitter(leg.soleus_scale, 0.04), deep_scale=jitter(leg.deep_scale, 0.04),
        rotation_deg=float(leg.rotation_deg + rng.normal(0, 4)), tilt_x=float(rng.normal(0, 8)),
        tilt_y=float(rng.normal(0, 8)), anterior_split=float(leg.anterior_split + rng.normal(0, 0.02)),
        outline_harmonics=tuple(float(h + rng.normal(0, 0.008)) for h in leg.outline_harmonics),
        warp=tuple(float(w) for w in warp), vessel_spots=_vessel_spots(rng))


def sample_legs(rng: np.random.Generator, legs: str, *, girth_factor: float = 1.0,
                fat_factor: float = 1.0) -> tuple[LegParameters, ...]:
    """Draw the subject's legs (``'both'``, ``'right'`` or ``'left'``) placed in world coordinates.

    Two legs lie side by side with the right one at smaller x; the gap between their skins is
    random (legs together to well apart). A single leg is centred at x = 0.
    """
    right = sample_leg(rng, "right", girth_factor=girth_factor)
    right = replace(right, fat_mm=right.fat_mm * fat_factor)
    left = mirror_with_asymmetry(rng, right)
    if legs != "both":
        leg = right if legs == "right" else left
        return (replace(leg, centre_x=0.0, centre_y=0.0, ankle_z=0.0),)
    half_widths = [66.0 * leg.girth + 2.0 for leg in (right, left)]
    gap = float(rng.uniform(4.0, 70.0)) + abs(right.tilt_x - left.tilt_x) / 2
    separation = sum(half_widths) + gap
    shift_y = float(rng.normal(0, 6))
    return (replace(right, centre_x=-separation / 2, centre_y=shift_y / 2),
            replace(left, centre_x=separation / 2, centre_y=-shift_y / 2))


def with_atrophy(legs: tuple[LegParameters, ...], atrophy_mm: dict[str, float],
                 girth_loss: float) -> tuple[LegParameters, ...]:
    """The legs with muscle atrophy: per-muscle erosion (mm) and a thinner leg overall."""
    return tuple(replace(leg, atrophy_mm=dict(atrophy_mm), girth=leg.girth * (1 - girth_loss)) for leg in legs)
