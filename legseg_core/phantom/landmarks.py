"""Landmarks of each cross-section: where the bones, septa and compartments of a leg lie.

:func:`leg_landmarks` turns a leg's parameters and the heights ``t`` of the simulated
sub-slices into arrays of landmark positions, one value per sub-slice, in the leg's local
frame: ``u`` in mm toward the leg's medial side, ``v`` in mm toward posterior, origin at the
centre of the outer contour. :mod:`legseg_core.phantom.anatomy` rasterises tissue from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.phantom.profiles import MUSCLE_HALF_THICKNESS, PROFILES, profile
from legseg_core.phantom.subject import LegParameters
from legseg_core.phantom.tissue import FDL, FHL, MUSCLE_CLASS, NUM_TISSUE_CLASSES
from legseg_core.labels import MUSCLE_BY_ABBR

#: Tissue class of every muscle that can erode (labelled and unlabelled), by abbreviation.
MUSCLE_CLASS_BY_ABBR: dict[str, int] = {
    **{abbr: MUSCLE_CLASS[MUSCLE_BY_ABBR[abbr].id] for abbr in MUSCLE_BY_ABBR}, "FDL": FDL, "FHL": FHL}


def per_slice(values: np.ndarray | float) -> np.ndarray:
    """A per-sub-slice array ``(S,)`` as ``(S, 1, 1)`` float32 for broadcasting (scalars stay scalars)."""
    values = np.asarray(values, dtype=np.float32)
    return values[:, None, None] if values.ndim else values


def direction(angle_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vector (u, v) at an angle in degrees (0 = medial, 90 = posterior, 180 = lateral)."""
    radians = np.radians(angle_deg)
    if np.ndim(radians) == 0:
        return float(np.cos(radians)), float(np.sin(radians))
    return np.cos(radians), np.sin(radians)


@dataclass(frozen=True, eq=False)
class Landmarks:
    """Per-sub-slice landmark arrays (all shape ``(S,)``, mm in the leg's local frame)."""

    t: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    half_width: np.ndarray
    half_depth: np.ndarray
    bulge: np.ndarray
    tibia: dict[str, np.ndarray]
    fibula: dict[str, np.ndarray]
    septa: dict[str, np.ndarray]
    deep: dict[str, np.ndarray]
    anterior: dict[str, np.ndarray]
    superficial: dict[str, np.ndarray]
    erosion: np.ndarray  # (S, NUM_TISSUE_CLASSES) erosion depth (mm) of each muscle class
    tendons: dict[str, np.ndarray]

    def take(self, part: slice) -> "Landmarks":
        """The landmarks of a range of sub-slices."""
        values = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            values[name] = {k: a[part] for k, a in value.items()} if isinstance(value, dict) else value[part]
        return Landmarks(**values)


def leg_landmarks(leg: LegParameters, z_mm: np.ndarray) -> Landmarks:
    """Landmarks of ``leg`` at the world heights ``z_mm`` (mm) of the sub-slices."""
    t = leg.heights(z_mm)
    a = profile("half_width", t) * leg.girth
    b = a * profile("depth_ratio", t) * leg.depth_scale
    tibia = _tibia(leg, t, a, b)
    fibula = _fibula(leg, t, a, b)
    return Landmarks(
        t=t, centre_x=leg.centre_x + leg.tilt_x * (t - 0.5), centre_y=leg.centre_y + leg.tilt_y * (t - 0.5),
        half_width=a, half_depth=b, bulge=profile("calf_bulge", t) * leg.gastrocnemius_scale,
        tibia=tibia, fibula=fibula, septa=_septa(t), deep=_deep(leg, t, tibia, fibula),
        anterior=_anterior(leg, t, tibia, fibula), superficial=_superficial(leg, t),
        erosion=_erosion(leg, t), tendons=_tendons(t, tibia, fibula))


def _tibia(leg: LegParameters, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    radius = profile("tibia_radius", t) * leg.bone_scale
    aspect = profile("tibia_aspect", t)
    triangle = profile("tibia_triangle", t)
    u = profile("tibia_u", t) * a
    anterior_skin = b * np.sqrt(np.clip(1 - (u / a) ** 2, 0.2, 1))
    ap_radius = radius * (1 + triangle) / np.sqrt(aspect)
    v = -anterior_skin + leg.skin_mm + 0.22 * leg.fat_mm + 1.5 + ap_radius
    tibia = {"u": u, "v": v, "radius": radius, "aspect": aspect, "triangle": triangle,
             "cortex": profile("tibia_cortex", t) * leg.bone_scale}
    for name, angle in (("crest", -90.0), ("io", 150.0), ("medial", 30.0)):
        du, dv = direction(angle)
        tibia[f"{name}_u"] = u + radius * (1 + triangle) * du * np.sqrt(aspect)
        tibia[f"{name}_v"] = v + radius * (1 + triangle) * dv / np.sqrt(aspect)
    return tibia


def _fibula(leg: LegParameters, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    inner_a = a - leg.skin_mm - leg.fat_mm
    inner_b = b - leg.skin_mm - leg.fat_mm
    return {"u": profile("fibula_u", t) * inner_a, "v": profile("fibula_v", t) * inner_b,
            "radius": profile("fibula_radius", t) * leg.bone_scale,
            "cortex": profile("fibula_cortex", t) * leg.bone_scale}


def _septa(t: np.ndarray) -> dict[str, np.ndarray]:
    anterior_u, anterior_v = direction(profile("anterior_septum_angle", t))
    posterior_u, posterior_v = direction(profile("posterior_septum_angle", t))
    return {"anterior_u": anterior_u, "anterior_v": anterior_v,
            "posterior_u": posterior_u, "posterior_v": posterior_v}


def _deep(leg: LegParameters, t: np.ndarray, tibia: dict, fibula: dict) -> dict[str, np.ndarray]:
    """The deep posterior compartment: an ellipse behind the line tibia medial border -> fibula."""
    du = fibula["u"] - tibia["medial_u"]
    dv = fibula["v"] - tibia["medial_v"]
    length = np.hypot(du, dv)
    eu, ev = du / length, dv / length
    normal_u, normal_v = ev, -eu  # points posterior
    depth = profile("deep_depth", t) * leg.deep_scale * np.sqrt(leg.girth)
    centre_u = (tibia["medial_u"] + fibula["u"]) / 2 + 0.3 * depth * normal_u
    centre_v = (tibia["medial_v"] + fibula["v"]) / 2 + 0.3 * depth * normal_v
    return {"centre_u": centre_u, "centre_v": centre_v, "axis_u": eu, "axis_v": ev,
            "normal_u": normal_u, "normal_v": normal_v, "length": length,
            "half_axis": 0.42 * length + 0.6 * fibula["radius"], "depth": depth,
            "fdl_split": profile("fdl_tp_split", t), "fhl_split": profile("tp_fhl_split", t)}


def _anterior(leg: LegParameters, t: np.ndarray, tibia: dict, fibula: dict) -> dict[str, np.ndarray]:
    """The interosseous membrane and the TA / EDL boundary leaving it toward anterior-lateral."""
    du = fibula["u"] - tibia["io_u"]
    dv = fibula["v"] - tibia["io_v"]
    length = np.hypot(du, dv)
    eu, ev = du / length, dv / length
    split = np.clip(profile("ta_edl_split", t) + leg.anterior_split, 0.1, 0.9)
    normal_u, normal_v = -ev, eu  # points anterior
    ray_u, ray_v = direction(profile("ta_edl_angle", t))
    return {"start_u": tibia["io_u"], "start_v": tibia["io_v"], "axis_u": eu, "axis_v": ev,
            "length": length, "normal_u": normal_u, "normal_v": normal_v,
            "split_u": tibia["io_u"] + split * du, "split_v": tibia["io_v"] + split * dv,
            "ray_u": ray_u, "ray_v": ray_v}


def _superficial(leg: LegParameters, t: np.ndarray) -> dict[str, np.ndarray]:
    scale = leg.gastrocnemius_scale * np.sqrt(leg.girth) / leg.soleus_scale
    return {"gm": profile("gm_thickness", t) * scale, "gl": profile("gl_thickness", t) * scale,
            "achilles": profile("achilles_thickness", t), "achilles_half_width": profile("achilles_half_width", t),
            "soleus_septum": profile("soleus_septum", t) * np.sqrt(leg.girth)}


def _erosion(leg: LegParameters, t: np.ndarray) -> np.ndarray:
    """Erosion depth (mm) per muscle class: where a belly tapers off, and atrophy."""
    erosion = np.zeros((t.size, NUM_TISSUE_CLASSES))
    for abbr, cls in MUSCLE_CLASS_BY_ABBR.items():
        name = f"presence_{abbr}"
        taper = (1 - profile(name, t)) * MUSCLE_HALF_THICKNESS[abbr] if name in PROFILES else 0.0
        erosion[:, cls] = taper + leg.atrophy_mm.get(abbr, 0.0)
    return erosion


def _tendons(t: np.ndarray, tibia: dict, fibula: dict) -> dict[str, np.ndarray]:
    """Distal tendons: tibialis anterior, tibialis posterior and peroneal (centre, radius)."""
    tendons: dict[str, np.ndarray] = {}
    for name, base, angle, gap in (("TA", tibia, 245.0, 3.5), ("TP", tibia, 55.0, 3.0),
                                   ("PER", fibula, 110.0, 3.5)):
        du, dv = direction(angle)
        reach = base["radius"] + gap
        tendons[f"{name}_u"] = base["u"] + reach * du
        tendons[f"{name}_v"] = base["v"] + reach * dv
        tendons[f"{name}_radius"] = profile(f"tendon_{name}", t)
    return tendons

