"""Rasterise a leg's tissue classes on a stack of axial sub-slices.

Each cross-section is built from parametric shapes in the leg's local frame (``u`` toward
medial, ``v`` toward posterior, mm), evaluated on whole ``[S, H, W]`` grids at once:

- the outer contour is an ellipse with low harmonics and a posteromedial calf bulge, cut flat
  over the subcutaneous medial face of the tibia; skin, subcutaneous fat (thin over the tibia,
  thicker behind) and the deep fascia follow it inward;
- the tibia is a rounded triangle (crest anterior, interosseous border toward the fibula,
  medial border posteromedial), the fibula a disc; both have a cortex and fatty marrow;
- compartments are cut by the interosseous membrane (tibia -> fibula), the anterior and
  posterior intermuscular septa (rays from the fibula), and the transverse septum (an ellipse
  behind the membrane): anterior (TA, EDL), lateral (PER), deep posterior (TP between FDL and
  FHL) and superficial posterior (the gastrocnemius heads as a layer under the posterior
  fascia, the soleus as the crescent between them and the deep compartment);
- a muscle belly that tapers off (or atrophies) is eroded from its boundaries by a depth given
  per sub-slice, the freed space becoming fat; tendons, the Achilles tendon and the
  neurovascular bundles are small shapes on top.

A smooth random warp of the local frame makes every leg's boundaries organic.
"""

from __future__ import annotations

import numpy as np

from legseg_core.phantom.foot import foot_reach_mm, foot_tissue
from legseg_core.phantom.knee import knee_tissue
from legseg_core.phantom.landmarks import Landmarks, direction
from legseg_core.phantom.landmarks import per_slice as _col
from legseg_core.phantom.subject import LegParameters
from legseg_core.phantom.tissue import (AIR, CORTEX, FASCIA, FAT, FDL, FHL, IS_MUSCLE, MARROW, MUSCLE_CLASS,
                                        NUM_TISSUE_CLASSES, SKIN, TENDON, VESSEL)

GL, GM, SOL, TA, PER, EDL, TP = (MUSCLE_CLASS[i] for i in range(1, 8))
FASCIA_MM = 1.0  # deep fascia and intermuscular septa
SEPTUM_MM = 0.7  # fat between muscles of one compartment
MEDIAL_BORDER_DEG = 12.0  # direction (from the tibia's centre) where the posterior compartment meets the
#                          subcutaneous medial face of the tibia
CREST_DEG = 250.0  # direction (from the tibia's centre) of its anterior crest: TA starts lateral to it
GM_CENTRE_DEG, GM_HALF_WIDTH_DEG = 20.0, 65.0  # GM: a medial / posteromedial crescent (polar angle, degrees)
GL_CENTRE_DEG, GL_HALF_WIDTH_DEG = 92.0, 42.0  # GL: posterior / posterolateral
RAPHE_DEG = 65.0  # the line between the two heads
CROP_MARGIN_MM = 2.0  # beyond the bound of the outer contour when cropping to the leg
CHUNK_POINTS = 300_000  # points per chunk of sub-slices (keeps temporaries small)


def _cross(au, av, bu, bv):
    """z component of the 2D cross product a x b (positive when b is counter-clockwise of a)."""
    return au * bv - av * bu


def leg_tissue(leg: LegParameters, marks: Landmarks, x_mm: np.ndarray, y_mm: np.ndarray) -> np.ndarray:
    """Tissue classes (uint8, ``[S, H, W]``) of one leg at world positions x (W,), y (H,) in mm.

    The sub-slices are those of ``marks`` (one per entry of ``marks.t``); points outside the
    leg are :data:`AIR`. Work goes in chunks of sub-slices so that temporaries stay small.
    """
    x_mm, y_mm = np.asarray(x_mm, dtype=np.float32), np.asarray(y_mm, dtype=np.float32)
    count = marks.t.size
    cls = np.empty((count, y_mm.size, x_mm.size), dtype=np.uint8)
    step = max(1, CHUNK_POINTS // max(1, x_mm.size * y_mm.size))
    for first in range(0, count, step):
        part = slice(first, min(count, first + step))
        cls[part] = _leg_tissue_chunk(leg, marks.take(part), x_mm, y_mm)
    return cls


def _leg_tissue_chunk(leg: LegParameters, marks: Landmarks, x_mm: np.ndarray, y_mm: np.ndarray) -> np.ndarray:
    """Tissue classes of a chunk of sub-slices; only the rectangle that holds the leg is worked out."""
    u, v = _local_frame(leg, marks, x_mm, y_mm)
    cls = np.zeros(u.shape, dtype=np.uint8)
    widest = 1.02 + sum(abs(h) for h in leg.outline_harmonics) + marks.bulge  # bound of the outline's shape
    margin_u = _col(marks.half_width * widest + CROP_MARGIN_MM)
    margin_v = _col(marks.half_depth * widest + CROP_MARGIN_MM + np.where(marks.t < 0, foot_reach_mm(leg), 0.0))
    near = (u / margin_u) ** 2 + (v / margin_v) ** 2 < 1
    rows, cols = np.flatnonzero(near.any(axis=(0, 2))), np.flatnonzero(near.any(axis=(0, 1)))
    if rows.size == 0:
        return cls
    ys, xs = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    u, v = u[:, ys, xs], v[:, ys, xs]
    cls[:, ys, xs] = _inside_leg(leg, marks, u, v, _outer(leg, marks, u, v), (x_mm[xs], y_mm[ys]))
    return cls


def _inside_leg(leg: LegParameters, marks: Landmarks, u, v, outer, grid_xy) -> np.ndarray:
    """Tissue classes of points near the leg (``u``, ``v`` local mm; ``outer`` from :func:`_outer`).

    Sub-slices below the ankle joint (``t < 0``, the first ones: heights rise with the index) are
    the foot's (:mod:`legseg_core.phantom.foot`), those above the tibial plateau (``t > 1``, the
    last ones) the knee's (:mod:`legseg_core.phantom.knee`).
    """
    foot = int(np.searchsorted(marks.t, 0.0, side="left"))
    knee = int(np.searchsorted(marks.t, 1.0, side="right"))
    if foot == 0 and knee == marks.t.size:
        return _calf(leg, marks, u, v, outer, grid_xy)
    cls = np.empty(u.shape, dtype=np.uint8)
    below, calf, above = slice(0, foot), slice(foot, knee), slice(knee, marks.t.size)
    if foot:
        cls[below] = foot_tissue(leg, marks.take(below), u[below], v[below])
    if knee > foot:
        cls[calf] = _calf(leg, marks.take(calf), u[calf], v[calf], {k: a[calf] for k, a in outer.items()}, grid_xy)
    if knee < marks.t.size:
        cls[above] = knee_tissue(leg, marks.take(above), u[above], v[above], {k: a[above] for k, a in outer.items()})
    return cls


def _calf(leg: LegParameters, marks: Landmarks, u, v, outer, grid_xy) -> np.ndarray:
    """Tissue classes of calf sub-slices (at or below the tibial plateau)."""
    bones = _bones(marks, u, v)
    parts = _compartments(marks, u, v, bones)
    cls = np.full(u.shape, SOL, dtype=np.uint8)
    boundary = np.minimum(outer["inner_depth"], bones["nearest"])
    boundary = _assign_muscles(marks, u, v, outer, parts, cls, boundary)
    _erode(marks, cls, boundary)
    _soleus_septum(marks, u, v, cls)
    _draw_small_structures(leg, marks, u, v, outer, cls, grid_xy)
    np.putmask(cls, outer["depth"] < outer["fascia_depth"], FASCIA)
    np.putmask(cls, outer["depth"] < outer["fat_depth"], FAT)
    np.putmask(cls, bones["tibia"] < 0, MARROW)
    np.putmask(cls, (bones["tibia"] < 0) & (bones["tibia"] > -_col(marks.tibia["cortex"])), CORTEX)
    np.putmask(cls, bones["fibula"] < 0, MARROW)
    np.putmask(cls, (bones["fibula"] < 0) & (bones["fibula"] > -_col(marks.fibula["cortex"])), CORTEX)
    np.putmask(cls, outer["depth"] < leg.skin_mm, SKIN)
    np.putmask(cls, outer["depth"] < 0, AIR)
    return cls


def _local_frame(leg: LegParameters, marks: Landmarks, x_mm: np.ndarray, y_mm: np.ndarray):
    """World (x, y) -> the leg's (u medial, v posterior), rotated and smoothly warped (mm)."""
    t = _col(marks.t)
    dx = np.asarray(x_mm, dtype=np.float32)[None, None, :] - _col(marks.centre_x)
    dy = np.asarray(y_mm, dtype=np.float32)[None, :, None] - _col(marks.centre_y)
    across = leg.sign * dx
    amp, wave, phase = (tuple(float(w) for w in leg.warp[i:i + 4]) for i in (0, 4, 8))
    across_warped = (across + amp[0] * np.sin(wave[0] * dy + phase[0] + 2.5 * t)
                     + amp[1] * np.sin(wave[1] * across + phase[1] + 1.5 * t))
    dy_warped = (dy + amp[2] * np.sin(wave[2] * across + phase[2] + 2.0 * t)
                 + amp[3] * np.sin(wave[3] * dy + phase[3] - 1.5 * t))
    cos_r, sin_r = (float(f(np.radians(leg.rotation_deg))) for f in (np.cos, np.sin))
    return cos_r * across_warped - sin_r * dy_warped, sin_r * across_warped + cos_r * dy_warped


def _window(cos_phi, sin_phi, centre_deg: float, half_width_deg: float):
    """A smooth bump in 0..1 over the polar angle, peaking at centre_deg, zero beyond half_width."""
    cu, cv = (float(c) for c in direction(centre_deg))
    floor = float(np.cos(np.radians(half_width_deg)))
    bump = (cos_phi * cu + sin_phi * cv - floor) * (1 / (1 - floor))
    return np.minimum(np.maximum(bump, 0, out=bump), 1, out=bump)


def _outer(leg: LegParameters, marks: Landmarks, u, v) -> dict[str, np.ndarray]:
    """Depth below the skin (mm, negative outside) and the depths of the fat and fascia layers."""
    a, b = _col(marks.half_width), _col(marks.half_depth)
    rho = np.sqrt(u * u + v * v) + np.float32(1e-3)
    cos_phi, sin_phi = u / rho, v / rho
    ellipse = a * b / np.sqrt((b * cos_phi) ** 2 + (a * sin_phi) ** 2)
    h = leg.outline_harmonics
    shape = (1 + h[0] * sin_phi + h[1] * (cos_phi * cos_phi - sin_phi * sin_phi) + 2 * h[2] * cos_phi * sin_phi
             + h[3] * cos_phi * (4 * cos_phi * cos_phi - 3) + _col(marks.bulge) * _window(cos_phi, sin_phi, 60, 75))
    main = rho - ellipse * shape
    tib = marks.tibia
    nu, nv = (float(c) for c in direction(-45.0))
    inset = tib["radius"] * (1 - tib["triangle"]) + leg.skin_mm + 0.22 * leg.fat_mm + 4.0
    plane = (u - _col(tib["u"])) * nu + (v - _col(tib["v"])) * nv - _col(inset)
    if marks.t[-1] > 1:  # no subcutaneous tibia above the plateau
        plane = np.where(_col(marks.t > 1), np.float32(-1e4), plane)
    k = np.float32(16.0)
    gap = np.maximum(k - np.abs(main - plane), 0) / k
    outside = np.maximum(main, plane) + gap * gap * k / 4
    thin = np.maximum(np.clip((plane - main) / 8 + 0.5, 0, 1), _window(cos_phi, sin_phi, -85, 35))
    fat = leg.fat_mm * (1 + 0.25 * sin_phi) * (1 - 0.78 * thin)
    depth = -outside
    fascia_depth = leg.skin_mm + fat + FASCIA_MM
    return {"depth": depth, "fat_depth": leg.skin_mm + fat, "fascia_depth": fascia_depth,
            "inner_depth": depth - fascia_depth, "cos": cos_phi, "sin": sin_phi}


def _bones(marks: Landmarks, u, v) -> dict[str, np.ndarray]:
    """Signed distances (mm, negative inside) to the tibia and the fibula."""
    tib = marks.tibia
    stretch = _col(np.sqrt(tib["aspect"]))
    qu = (u - _col(tib["u"])) / stretch
    qv = (v - _col(tib["v"])) * stretch
    radius = np.sqrt(qu * qu + qv * qv) + np.float32(1e-3)
    s = qv / radius
    tibia = radius - _col(tib["radius"]) * (1 + _col(tib["triangle"]) * (3 * s - 4 * s * s * s))
    fib = marks.fibula
    fibula = np.sqrt((u - _col(fib["u"])) ** 2 + (v - _col(fib["v"])) ** 2) - _col(fib["radius"])
    return {"tibia": tibia, "fibula": fibula, "nearest": np.minimum(np.abs(tibia), np.abs(fibula))}


def _compartments(marks: Landmarks, u, v, bones) -> dict[str, np.ndarray]:
    """Which compartment each point lies in, and the distances to the septa between them."""
    ant = marks.anterior
    wu, wv = u - _col(ant["start_u"]), v - _col(ant["start_v"])
    along = np.clip((wu * _col(ant["axis_u"]) + wv * _col(ant["axis_v"])) / _col(ant["length"]), 0, 1)
    off_u = wu - along * _col(ant["length"] * ant["axis_u"])
    off_v = wv - along * _col(ant["length"] * ant["axis_v"])
    membrane = np.sqrt(off_u * off_u + off_v * off_v)
    in_front = (wu * _col(ant["normal_u"]) + wv * _col(ant["normal_v"])) > 0
    fib, sep = marks.fibula, marks.septa
    qu, qv = u - _col(fib["u"]), v - _col(fib["v"])
    behind_posterior = _cross(_col(sep["posterior_u"]), _col(sep["posterior_v"]), qu, qv)
    before_anterior = _cross(qu, qv, _col(sep["anterior_u"]), _col(sep["anterior_v"]))
    lateral = (behind_posterior > 0) & (before_anterior > 0)
    septa = np.minimum(_ray_distance(qu, qv, sep["anterior_u"], sep["anterior_v"], before_anterior),
                       _ray_distance(qu, qv, sep["posterior_u"], sep["posterior_v"], behind_posterior))
    tib = marks.tibia
    tu, tv = u - _col(tib["u"]), v - _col(tib["v"])
    mu, mv = direction(MEDIAL_BORDER_DEG)
    medial_side = _cross(tu, tv, np.float32(mu), np.float32(mv))
    cu, cv = direction(CREST_DEG)
    lateral_of_crest = _cross(np.float32(cu), np.float32(cv), tu, tv)
    subcutaneous = (lateral_of_crest > 0) & (medial_side > 0) & (bones["tibia"] > 0)
    septa = np.minimum(septa, np.minimum(membrane, _ray_distance(tu, tv, mu, mv, medial_side)))
    septa = np.minimum(septa, _ray_distance(tu, tv, cu, cv, lateral_of_crest))
    # in front of the membrane's line AND on the anterior side of the anterior septum: the line runs on
    # past the fibula, and what lies in front of it there, behind the posterior septum, is posterior
    anterior = in_front & ~lateral & ~subcutaneous & (before_anterior <= 0)
    return {"anterior": anterior, "lateral": lateral, "subcutaneous": subcutaneous,
            "posterior": ~(anterior | lateral | subcutaneous), "septa": septa}


def _ray_distance(qu, qv, du, dv, cross):
    """Distance (mm) to a ray from the origin along (du, dv), given cross(q, d) or cross(d, q)."""
    ahead = (qu * _col(du) + qv * _col(dv)) > 0
    return np.where(ahead, np.abs(cross), np.float32(np.inf))


def _assign_muscles(marks: Landmarks, u, v, outer, parts, cls, boundary):
    """Write the muscle of each compartment into ``cls``; return the distance to the nearest boundary."""
    boundary = np.minimum(boundary, parts["septa"])
    deep, deep_boundary = _deep(marks, u, v, parts, cls)
    boundary = np.minimum(boundary, deep_boundary)
    boundary = np.minimum(boundary, _anterior(marks, u, v, parts, cls))
    np.putmask(cls, parts["lateral"], PER)
    superficial = parts["posterior"] & ~deep
    boundary = np.minimum(boundary, _gastrocnemius(marks, u, v, outer, superficial, cls))
    np.putmask(cls, parts["subcutaneous"], FAT)
    np.putmask(cls, parts["septa"] < FASCIA_MM / 2, FASCIA)
    return boundary


def _deep(marks: Landmarks, u, v, parts, cls):
    """The deep posterior compartment: FDL medial, TP in the middle, FHL lateral."""
    deep = marks.deep
    du, dv = u - _col(deep["centre_u"]), v - _col(deep["centre_v"])
    along = du * _col(deep["axis_u"]) + dv * _col(deep["axis_v"])
    normal = du * _col(deep["normal_u"]) + dv * _col(deep["normal_v"])
    radius = np.sqrt((along / _col(deep["half_axis"])) ** 2 + (normal / _col(deep["depth"])) ** 2)
    inside = (radius < 1) & parts["posterior"]
    split = (along + _col(deep["length"] / 2) + 0.25 * normal) / _col(deep["length"])
    fdl, fhl = _col(deep["fdl_split"]), _col(deep["fhl_split"])
    np.putmask(cls, inside, TP)
    np.putmask(cls, inside & (split < fdl), FDL)
    np.putmask(cls, inside & (split > fhl), FHL)
    wall = np.abs(1 - radius) * _col(deep["depth"])
    partitions = np.minimum(np.abs(split - fdl), np.abs(split - fhl)) * _col(deep["length"])
    np.putmask(cls, inside & (partitions < SEPTUM_MM / 2), FAT)
    np.putmask(cls, parts["posterior"] & (wall < FASCIA_MM / 2), FASCIA)
    return inside, np.minimum(wall, np.where(inside, partitions, np.float32(np.inf)))


def _anterior(marks: Landmarks, u, v, parts, cls):
    """The anterior compartment: TA against the tibia, EDL (with EHL) lateral to it."""
    ant = marks.anterior
    pu, pv = u - _col(ant["split_u"]), v - _col(ant["split_v"])
    side = _cross(_col(ant["ray_u"]), _col(ant["ray_v"]), pu, pv)
    np.putmask(cls, parts["anterior"], EDL)
    np.putmask(cls, parts["anterior"] & (side > 0), TA)
    line = np.where(parts["anterior"], _ray_distance(pu, pv, ant["ray_u"], ant["ray_v"], side), np.float32(np.inf))
    np.putmask(cls, line < SEPTUM_MM / 2, FAT)
    return line


def _gastrocnemius(marks: Landmarks, u, v, outer, superficial, cls):
    """GM and GL as a layer under the posterior fascia, split at the raphe; the soleus stays beneath."""
    sup = marks.superficial
    ru, rv = direction(RAPHE_DEG)
    raphe = _cross(u, v, np.float32(ru), np.float32(rv))
    medial = raphe > 0
    gm = _col(sup["gm"]) * _window(outer["cos"], outer["sin"], GM_CENTRE_DEG, GM_HALF_WIDTH_DEG)
    gl = _col(sup["gl"]) * _window(outer["cos"], outer["sin"], GL_CENTRE_DEG, GL_HALF_WIDTH_DEG)
    thickness = np.where(medial, gm, gl)
    under = outer["depth"] - (outer["fascia_depth"] + thickness)
    gastro = superficial & (under < 0)
    np.putmask(cls, gastro & medial, GM)
    np.putmask(cls, gastro & ~medial, GL)
    raphe_distance = np.where(gastro & (v > 0), np.abs(raphe), np.float32(np.inf))
    np.putmask(cls, raphe_distance < SEPTUM_MM / 2, FAT)
    aponeurosis = np.where(superficial & (thickness > 0.5), np.abs(under), np.float32(np.inf))
    np.putmask(cls, aponeurosis < FASCIA_MM / 2, FASCIA)
    return np.minimum(raphe_distance, aponeurosis)


def _soleus_septum(marks: Landmarks, u, v, cls) -> None:
    """The soleus' median intramuscular septum: a short fibrous line running back from the deep compartment."""
    length = marks.superficial["soleus_septum"]
    present = np.flatnonzero(length > 0)
    if present.size == 0:
        return
    part = slice(present[0], present[-1] + 1)
    deep = {name: values[part] for name, values in marks.deep.items()}
    start_u = deep["centre_u"] + deep["depth"] * deep["normal_u"]
    start_v = deep["centre_v"] + deep["depth"] * deep["normal_v"]
    du, dv = u[part] - _col(start_u), v[part] - _col(start_v)
    along = du * _col(deep["normal_u"]) + dv * _col(deep["normal_v"])
    across = np.abs(_cross(du, dv, _col(deep["normal_u"]), _col(deep["normal_v"])))
    line = (across < SEPTUM_MM / 2) & (along > 0) & (along < _col(length[part])) & (cls[part] == SOL)
    np.putmask(cls[part], line, FASCIA)


def _erode(marks: Landmarks, cls, boundary) -> None:
    """Turn muscle within each class's erosion depth of its boundary into fat (tapering, atrophy)."""
    offsets = (np.arange(cls.shape[0], dtype=np.int32) * NUM_TISSUE_CLASSES)[:, None, None]
    depth = marks.erosion.astype(np.float32).ravel()[cls + offsets]
    np.putmask(cls, IS_MUSCLE[cls] & (boundary < depth), FAT)


def _draw_small_structures(leg: LegParameters, marks: Landmarks, u, v, outer, cls, grid_xy) -> None:
    """Tendons, the Achilles tendon and the neurovascular bundles."""
    window = _WindowFinder(leg, marks, *grid_xy)
    ten = marks.tendons
    for name in ("TA", "TP", "PER"):
        _disc(cls, u, v, ten[f"{name}_u"], ten[f"{name}_v"], ten[f"{name}_radius"], TENDON, window)
    sup = marks.superficial
    present = np.flatnonzero(sup["achilles"] > 0)
    if present.size:
        part = slice(present[0], present[-1] + 1)
        au, av = direction(95.0)
        across = np.abs(_cross(u[part], v[part], au, av))
        achilles = ((across < _col(sup["achilles_half_width"][part])) & (v[part] > 0)
                    & (outer["depth"][part] < outer["fascia_depth"][part] + _col(sup["achilles"][part])))
        np.putmask(cls[part], achilles, TENDON)
    for centre_u, centre_v, radius in _vessels(leg, marks):
        _disc(cls, u, v, centre_u, centre_v, radius, VESSEL, window)


class _WindowFinder:
    """Index windows of the grid that hold a small local-frame shape (inverse of _local_frame, padded)."""

    def __init__(self, leg: LegParameters, marks: Landmarks, x_mm: np.ndarray, y_mm: np.ndarray):
        self.leg, self.marks, self.x_mm, self.y_mm = leg, marks, x_mm, y_mm
        angle = np.radians(leg.rotation_deg)
        self.cos, self.sin = float(np.cos(angle)), float(np.sin(angle))
        self.pad_across = abs(leg.warp[0]) + abs(leg.warp[1]) + 1.0
        self.pad_y = abs(leg.warp[2]) + abs(leg.warp[3]) + 1.0

    def __call__(self, part: slice, centre_u, centre_v, reach: float) -> tuple[slice, slice]:
        across = self.cos * centre_u[part] + self.sin * centre_v[part]
        dy = -self.sin * centre_u[part] + self.cos * centre_v[part]
        x = self.marks.centre_x[part] + self.leg.sign * across
        y = self.marks.centre_y[part] + dy
        x_pad, y_pad = reach + self.pad_across, reach + self.pad_y
        xs = slice(*np.searchsorted(self.x_mm, [x.min() - x_pad, x.max() + x_pad]))
        ys = slice(*np.searchsorted(self.y_mm, [y.min() - y_pad, y.max() + y_pad]))
        return ys, xs


def _disc(cls, u, v, centre_u, centre_v, radius, value, window: _WindowFinder) -> None:
    """Paint a disc (per-sub-slice centre and radius, mm) into the sub-slices where radius > 0."""
    centre_u, centre_v = np.asarray(centre_u, dtype=float), np.asarray(centre_v, dtype=float)
    radius = np.asarray(radius, dtype=float) * np.ones_like(centre_u)
    present = np.flatnonzero(radius > 0)
    if present.size == 0:
        return
    part = slice(present[0], present[-1] + 1)
    ys, xs = window(part, centre_u, centre_v, float(radius[part].max()))
    inside = ((u[part, ys, xs] - _col(centre_u[part])) ** 2 + (v[part, ys, xs] - _col(centre_v[part])) ** 2
              < _col(radius[part]) ** 2)
    np.putmask(cls[part, ys, xs], inside, value)


def _vessels(leg: LegParameters, marks: Landmarks):
    """Centres and radii (mm) of the main vessels: anterior and posterior tibial, peroneal, saphenous."""
    ant, deep, fib = marks.anterior, marks.deep, marks.fibula
    yield (ant["start_u"] + 0.45 * ant["length"] * ant["axis_u"] + 2.6 * ant["normal_u"],
           ant["start_v"] + 0.45 * ant["length"] * ant["axis_v"] + 2.6 * ant["normal_v"], 1.7)
    reach = 0.85 * deep["depth"]
    yield (deep["centre_u"] - 0.25 * deep["length"] * deep["axis_u"] + reach * deep["normal_u"],
           deep["centre_v"] - 0.25 * deep["length"] * deep["axis_v"] + reach * deep["normal_v"], 2.2)
    pu, pv = direction(70.0)
    yield fib["u"] + (fib["radius"] + 3.5) * pu, fib["v"] + (fib["radius"] + 3.5) * pv, 1.6
    for angle, radius in ((8.0, 2.0), (97.0, 1.6)):
        cu, cv = direction(angle)
        reach = _ellipse_radius(marks, cu, cv) - leg.skin_mm - 0.5 * leg.fat_mm
        yield reach * cu, reach * cv, radius if leg.fat_mm > 3.5 else 0.0
    for u_fraction, v_fraction, radius in leg.vessel_spots:
        yield u_fraction * marks.half_width, v_fraction * marks.half_depth, radius


def _ellipse_radius(marks: Landmarks, cu: float, cv: float) -> np.ndarray:
    """Radius (mm) of the outer ellipse along a unit direction, per sub-slice."""
    a, b = marks.half_width, marks.half_depth
    return a * b / np.sqrt((b * cu) ** 2 + (a * cv) ** 2)
