"""Health status, diagnoses and their patterns of fatty infiltration and atrophy.

A case is healthy (every muscle a few percent fat, finely marbled) or a patient with one of
the paper's diagnoses (section 2.1). Each diagnosis says which calf muscles are involved and
how strongly (weights in 0..1), how severe a case may be, how the fat is laid down, whether the
distal or the proximal calf is hit harder, and how much the involved muscles atrophy.
A muscle's mean fat fraction grows with severity x weight; above about 0.6 the infiltration
becomes a near-complete replacement, below it follows the diagnosis' texture:

- ``marbled``: fine streaks along the fibres (3 mm across, 15 mm along the leg);
- ``patchy``: coarse islands (about 14 mm) of fat next to spared muscle;
- ``complete``: homogeneous replacement, the muscle outline kept by its fascia.

Patterns chosen, after the muscle-imaging reviews cited by the paper (Wattjes 2010; Diaz-Manera
2015, 2021; Dam 2016; Degardin 2010):

- **Pompe** (late onset): the lower leg is mostly spared; mild marbled change of the medial
  gastrocnemius and soleus, little atrophy (the disease is proximal and axial).
- **McArdle**: usually near normal; mild patchy change of the posterior calf (GM, SOL), no
  atrophy to speak of.
- **IBM**: the medial gastrocnemius is the hallmark (often the most affected muscle of the
  body), then soleus and the anterior compartment (foot drop); marbled to complete, distal
  predominance, moderate atrophy.
- **Myotonic dystrophy 1**: distal myopathy: GM first and most, soleus and tibialis anterior
  next, tibialis posterior relatively spared; marbled to complete, distal predominance, marked
  atrophy.
- **Myotonic dystrophy 2**: milder and proximal; patchy change of the gastrocnemius heads,
  little atrophy, the proximal calf hit harder.
- **LGMD** (dysferlin and calpain types, the most common): the posterior compartment (soleus,
  both gastrocnemius heads, the deep flexors) early and severe, often complete; the anterior
  compartment relatively spared; marked atrophy.
- **other** (for example filamin C myopathy or critical illness myopathy): random involvement
  of every muscle with a random texture, so that models do not learn one pattern per label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.phantom.profiles import MUSCLE_HALF_THICKNESS

DIAGNOSES: tuple[str, ...] = ("pompe", "mcardle", "ibm", "dm1", "dm2", "lgmd", "other")
HEALTH_STATES: tuple[str, ...] = ("healthy", "patient")
PATTERNS: tuple[str, ...] = ("marbled", "patchy", "complete")
#: Every muscle that can be infiltrated: the seven labelled ones and the two deep flexors.
INFILTRATED_MUSCLES: tuple[str, ...] = ("GL", "GM", "SOL", "TA", "PER", "EDL", "TP", "FDL", "FHL")
MAX_FAT_FRACTION = 0.92
COMPLETE_ABOVE = 0.6


@dataclass(frozen=True)
class DiseasePattern:
    """How one diagnosis affects the calf (weights 0..1 per muscle abbreviation)."""

    involvement: dict[str, float]
    severity: tuple[float, float]  # range of the case's overall severity, 0..1
    texture: str  # pattern of partly infiltrated muscles: "marbled" or "patchy"
    distal_gradient: float  # > 0: distal calf more infiltrated; < 0: proximal
    atrophy: float  # 0..1, how much involved muscles shrink


DISEASE_PATTERNS: dict[str, DiseasePattern] = {
    "pompe": DiseasePattern({"GM": 0.6, "SOL": 0.45, "GL": 0.3, "TA": 0.15, "FDL": 0.2}, (0.1, 0.4),
                            "marbled", -0.1, 0.1),
    "mcardle": DiseasePattern({"GM": 0.5, "SOL": 0.4, "GL": 0.3, "TP": 0.15}, (0.1, 0.35), "patchy", 0.0, 0.05),
    "ibm": DiseasePattern({"GM": 1.0, "SOL": 0.65, "GL": 0.5, "TA": 0.55, "EDL": 0.45, "PER": 0.3, "TP": 0.2,
                           "FDL": 0.5, "FHL": 0.4}, (0.35, 1.0), "marbled", 0.3, 0.45),
    "dm1": DiseasePattern({"GM": 1.0, "SOL": 0.8, "TA": 0.65, "EDL": 0.5, "GL": 0.55, "PER": 0.4, "TP": 0.15,
                           "FDL": 0.3, "FHL": 0.3}, (0.3, 0.95), "marbled", 0.25, 0.6),
    "dm2": DiseasePattern({"GM": 0.6, "GL": 0.35, "SOL": 0.3, "TA": 0.1}, (0.1, 0.45), "patchy", -0.2, 0.1),
    "lgmd": DiseasePattern({"SOL": 1.0, "GM": 1.0, "GL": 0.9, "TP": 0.5, "PER": 0.4, "FDL": 0.6, "FHL": 0.6,
                            "TA": 0.2, "EDL": 0.3}, (0.4, 1.0), "patchy", 0.0, 0.65),
    "other": DiseasePattern({}, (0.1, 0.9), "random", 0.0, 0.3),
}


@dataclass(frozen=True)
class DiseaseState:
    """One case's muscle condition: mean fat fraction, texture and erosion per muscle abbreviation."""

    health: str
    diagnosis: str | None
    severity: float
    fat_fraction: dict[str, float]
    texture: dict[str, str]
    spread: dict[str, float]  # standard deviation of the local fat fraction around the mean
    distal_gradient: float
    atrophy_mm: dict[str, float]
    girth_loss: float  # fraction of leg girth lost
    fat_factor: float  # multiplies the subcutaneous fat thickness


def sample_disease(rng: np.random.Generator, health: str, diagnosis: str | None) -> DiseaseState:
    """Draw a healthy case or a patient (``diagnosis=None`` picks one of :data:`DIAGNOSES`)."""
    healthy = {m: float(rng.uniform(0.02, 0.06)) for m in INFILTRATED_MUSCLES}
    if health == "healthy":
        return DiseaseState("healthy", None, 0.0, healthy, {m: "marbled" for m in healthy},
                            {m: 0.012 for m in healthy}, 0.0, {}, 0.0, 1.0)
    name = diagnosis if diagnosis is not None else str(rng.choice(DIAGNOSES))
    pattern = DISEASE_PATTERNS[name]
    severity = float(rng.uniform(*pattern.severity))
    involvement = pattern.involvement or {m: float(rng.uniform(0, 1)) for m in INFILTRATED_MUSCLES}
    fat, texture, spread, atrophy = {}, {}, {}, {}
    for muscle in INFILTRATED_MUSCLES:
        weight = involvement.get(muscle, 0.05) * float(rng.uniform(0.75, 1.25))
        hit = float(np.clip(severity * weight, 0, 1))
        fat[muscle] = healthy[muscle] + (MAX_FAT_FRACTION - healthy[muscle]) * hit ** 1.3
        texture[muscle] = _texture(rng, pattern.texture, fat[muscle])
        scale = {"marbled": 0.7, "patchy": 1.1, "complete": 0.15}[texture[muscle]]
        spread[muscle] = max(0.012, scale * fat[muscle] * (1 - fat[muscle]))
        atrophy[muscle] = pattern.atrophy * hit * 0.6 * MUSCLE_HALF_THICKNESS[muscle]
    return DiseaseState("patient", name, severity, fat, texture, spread, pattern.distal_gradient, atrophy,
                        0.12 * pattern.atrophy * severity, float(rng.uniform(1.0, 1.4)))


def _texture(rng: np.random.Generator, texture: str, fat_fraction: float) -> str:
    if fat_fraction > COMPLETE_ABOVE:
        return "complete"
    if texture == "random":
        return str(rng.choice(("marbled", "patchy")))
    return texture


def texture_field(rng: np.random.Generator, shape: tuple[int, int, int], spacing: tuple[float, float, float],
                  cell_mm: tuple[float, float, float]) -> np.ndarray:
    """A smooth zero-mean, unit-variance random field (float32 ``[z, y, x]``) with features of ``cell_mm``.

    Gaussian noise on a lattice of ``cell_mm`` spacing, interpolated linearly onto the grid.
    """
    field = rng.standard_normal(tuple(max(2, int(np.ceil(n * s / c)) + 2)
                                      for n, s, c in zip(shape, spacing, cell_mm))).astype(np.float32)
    for axis, count in enumerate(shape):
        field = _resample_axis(field, axis, count)
    field -= field.mean()
    field /= max(float(field.std()), 1e-6)
    return field


def _resample_axis(values: np.ndarray, axis: int, count: int) -> np.ndarray:
    """Linear interpolation of ``values`` along one axis onto ``count`` evenly spread positions."""
    position = np.linspace(0, values.shape[axis] - 1.001, count)
    low = np.floor(position).astype(np.intp)
    weight = (position - low).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = count
    weight = weight.reshape(shape)
    return np.take(values, low, axis=axis) * (1 - weight) + np.take(values, low + 1, axis=axis) * weight


TEXTURE_CELLS_MM: dict[str, tuple[float, float, float]] = {
    "marbled": (15.0, 3.0, 3.0),  # (z, y, x)
    "patchy": (25.0, 14.0, 14.0),
}
