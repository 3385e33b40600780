"""The hindfoot and midfoot below the ankle joint (heights ``t < 0``): what a scan from the heel shows.

Scans of the lower leg often start below the ankle joint. None of the seven labelled muscles is
there: the calf's muscles have become tendons above the ankle. An axial slice below the joint cuts
the foot lengthwise (the foot lies at a right angle to the leg), so the section grows forward from
the heel as it goes down. Everything here is background, and is what a network must learn not to
label:

- the talus under the joint, its head and the navicular, cuboid and cuneiforms in front of it, the
  bases of the metatarsals further forward, and the calcaneus below and behind, down to the heel;
- the Achilles tendon to its insertion on the calcaneus, with Kager's fat in front of it; the
  tendons of the anterior muscles over the dorsum (tibialis anterior, extensor hallucis and digitorum
  longus), of the deep flexors behind the medial malleolus (tibialis posterior, flexor digitorum and
  hallucis longus), and of the peroneal muscles beside the calcaneus;
- the foot's own muscles, unlabelled: extensor digitorum brevis on the dorsum, and in the sole
  abductor hallucis, flexor digitorum brevis, abductor digiti minimi and the interossei; the heel's
  fat pad under the calcaneus, and the sole.

Depths ``d`` are mm below the ankle joint on a reference leg of
:data:`legseg_core.phantom.knee.REFERENCE_LENGTH_MM`; the heel's half-axes are the ankle's (the
outer contour at ``t = 0``), the foot reaches forward from it, and structures are placed by
fractions of those half-axes and of the foot's reach. The numbers follow typical adult anatomy: the
sole about 65 to 70 mm below the ankle joint, the talus about 30 mm tall, the calcaneus about 40 mm
tall and 75 to 80 mm long, the foot about 90 mm wide across the midfoot; on axial slices the
midfoot appears about 20 mm below the joint, and 40 mm below it the section holds the heel and
the whole midfoot.
"""

from __future__ import annotations

import numpy as np

from legseg_core.phantom.knee import REFERENCE_LENGTH_MM
from legseg_core.phantom.landmarks import Landmarks, per_slice
from legseg_core.phantom.shapes import ABSENT, Section, Table, keyframes
from legseg_core.phantom.subject import LegParameters
from legseg_core.phantom.tissue import AIR, CORTEX, FASCIA, FAT, FDL, FHL, MARROW, SKIN, TENDON

#: Depth (mm below the ankle joint, reference leg) of the sole under the heel.
SOLE_MM = 68.0
#: How far the foot reaches forward of the heel's front (mm, reference girth) where it is longest.
FOOT_REACH_MM = 120.0
#: Cortex of the foot's bones (mm): thin, mostly cancellous bone.
FOOT_CORTEX_MM = 1.0
#: Fat left between neighbouring muscles (mm).
SEPTUM_MM = 1.0

#: Sizes along the depth below the ankle joint: (d mm, factor) keyframes.
FOOT_PROFILES: dict[str, Table] = {
    "reach": ((0, 0), (6, 0), (20, .45), (35, .85), (45, 1), (200, 1)),  # of FOOT_REACH_MM
    "width": ((0, 1), (15, 1.05), (35, 1.2), (200, 1.25)),  # of the ankle's half-width
    "sole": ((0, 1), (54, 1), (60, .85), (65, .6), (SOLE_MM, .3), (SOLE_MM + .01, 0)),  # the section shrinks to the sole
    "talus": ((0, .85), (8, 1), (22, .85), (30, .4), (32, 0)),
    "calcaneus": ((0, 0), (14, 0), (20, .7), (30, 1), (50, 1), (58, .75), (62, 0)),
    "midfoot_bones": ((0, 0), (12, 0), (20, .7), (30, 1), (42, .8), (48, 0)),
    "metatarsals": ((0, 0), (25, 0), (32, 1), (46, 1), (52, 0)),
    "achilles": ((0, 1), (16, 1), (20, 0)),
    "dorsal_tendons": ((0, 1), (30, 1), (36, 0)),
    "medial_tendons": ((0, 1), (40, 1), (46, 0)),
    "peroneal_tendons": ((0, 1), (45, 1), (50, 0)),
    "extensor_brevis": ((0, 0), (12, 0), (20, 1), (32, 1), (38, 0)),
    "sole_muscles": ((0, 0), (38, 0), (46, .8), (54, 1), (62, .8), (66, 0)),
    "interossei": ((0, 0), (28, 0), (34, 1), (46, 1), (52, 0)),
}


def _foot_profile(name: str, d: np.ndarray) -> np.ndarray:
    return keyframes(FOOT_PROFILES[name], d)


def foot_reach_mm(leg: LegParameters) -> float:
    """The farthest the foot reaches forward of the heel's front (mm): for boxes that must hold the leg."""
    return FOOT_REACH_MM * leg.girth


def foot_tissue(leg: LegParameters, marks: Landmarks, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Tissue classes (uint8 ``[S, H, W]``) of sub-slices below the ankle joint (every ``t`` of ``marks`` < 0).

    ``u``, ``v`` are the local frame of :func:`legseg_core.phantom.anatomy._local_frame`; the outer
    contour is the heel's ellipse (the ankle's half-axes) joined to the foot reaching forward.
    """
    d = np.maximum(-marks.t, 0.0) * REFERENCE_LENGTH_MM
    sole = _foot_profile("sole", d)
    a, b = marks.half_width * np.maximum(sole, 1e-3), marks.half_depth * np.maximum(sole, 1e-3)
    reach = _foot_profile("reach", d) * foot_reach_mm(leg) * sole / b  # forward of the heel, in half-depths
    width = _foot_profile("width", d)
    section = Section(u, v, a, b)
    depth = _outline(section, reach, width, sole)
    cls = np.full(u.shape, FAT, dtype=np.uint8)  # Kager's fat, the heel pad, fat around the foot's bones
    _muscles(section, d, reach, width, cls)
    _tendons(section, d, reach, cls)
    _bones(section, d, reach, width, cls)
    fat = per_slice(leg.skin_mm + 0.5 * leg.fat_mm)
    np.putmask(cls, depth < fat + 1.0, FASCIA)
    np.putmask(cls, depth < fat, FAT)
    np.putmask(cls, depth < leg.skin_mm, SKIN)
    np.putmask(cls, depth < 0, AIR)
    return cls


def _outline(section: Section, reach: np.ndarray, width: np.ndarray, sole: np.ndarray) -> np.ndarray:
    """Depth (mm) inside the heel's ellipse joined to the foot: a band forward of the heel, rounded in front."""
    heel = section.depth((0.0, 0.05), (1.0, 1.0))
    heel = np.where(per_slice(sole) > 0, heel, ABSENT)
    a, b = per_slice(section.a), per_slice(section.b)
    half = per_slice(width * 0.9) * a
    front = -(1.0 + per_slice(reach)) * b  # v of the foot's front (anterior is negative v)
    band = np.minimum(half - np.abs(section.u), -section.v)
    toe = half - np.hypot(section.u, section.v - (front + half))  # the rounded front end
    foot = np.where(section.v < front + half, toe, band)
    foot = np.where(per_slice(reach) > 0.05, foot, ABSENT)
    return np.maximum(heel, foot)


def _along(reach: np.ndarray, fraction: float) -> np.ndarray:
    """v (in half-depths) of a point ``fraction`` of the way from the heel's front to the foot's front."""
    return -1.0 - fraction * reach


def _muscles(section: Section, d: np.ndarray, reach: np.ndarray, width: np.ndarray, cls: np.ndarray) -> None:
    """The foot's own muscles: extensor digitorum brevis on the dorsum, the sole's muscles, the interossei."""
    brevis = _foot_profile("extensor_brevis", d)
    section.paint(cls, FDL, (-.45 * width, _along(reach, .35)), (.35 * brevis, .3 * reach * brevis), SEPTUM_MM / 2)
    soles = _foot_profile("sole_muscles", d)
    for centre_u, fraction, radius_u, value in ((.6, .25, .3, FHL), (0.0, .3, .35, FDL), (-.62, .2, .28, FHL)):
        section.paint(cls, value, (centre_u * width, _along(reach, fraction)),
                      (radius_u * width * soles, .3 * reach * soles), SEPTUM_MM / 2)
    inter = _foot_profile("interossei", d)
    section.paint(cls, FDL, (0.0, _along(reach, .75)), (.7 * width * inter, .12 * reach * inter), SEPTUM_MM / 2)


def _tendons(section: Section, d: np.ndarray, reach: np.ndarray, cls: np.ndarray) -> None:
    """The Achilles tendon, the dorsal, medial (behind the malleolus) and peroneal tendons."""
    achilles = _foot_profile("achilles", d)
    section.paint(cls, TENDON, (0.0, .78), (.32 * achilles, .14 * achilles))
    dorsal = _foot_profile("dorsal_tendons", d)
    for centre_u, radius in ((.35, .09), (.05, .07), (-.35, .08)):  # TA, EHL, EDL
        section.paint(cls, TENDON, (centre_u, _along(reach, .3) + .15), (radius * dorsal, radius * dorsal))
    medial = _foot_profile("medial_tendons", d)
    for centre_v, radius in ((.05, .09), (.3, .08), (.5, .09)):  # TP, FDL, FHL
        section.paint(cls, TENDON, (.72 - .25 * centre_v, centre_v), (radius * medial, radius * medial))
    peroneal = _foot_profile("peroneal_tendons", d)
    for centre_v, radius in ((.15, .08), (.35, .09)):
        section.paint(cls, TENDON, (-.78, centre_v), (radius * peroneal, radius * peroneal))


def _bones(section: Section, d: np.ndarray, reach: np.ndarray, width: np.ndarray, cls: np.ndarray) -> None:
    """Talus, calcaneus, the midfoot's bones and the metatarsals' bases, each marrow within a thin cortex."""
    talus = _foot_profile("talus", d)
    bone = section.depth((.05, -.1), (.7 * talus, .72 * talus))
    bone = np.maximum(bone, section.depth((.1, _along(reach, .15)), (.45 * talus, .35 * reach * talus)))
    calcaneus = _foot_profile("calcaneus", d)
    bone = np.maximum(bone, section.depth((-.08, .25), (.62 * calcaneus, .95 * calcaneus)))
    midfoot = _foot_profile("midfoot_bones", d)
    bone = np.maximum(bone, section.depth((0.0, _along(reach, .45)), (.75 * width * midfoot, .22 * reach * midfoot)))
    metatarsals = _foot_profile("metatarsals", d)
    for centre_u in (-.6, -.3, 0.0, .3, .62):
        bone = np.maximum(bone, section.depth((centre_u * width, _along(reach, .8)),
                                              (.11 * metatarsals, .12 * reach * metatarsals)))
    np.putmask(cls, bone > 0, CORTEX)
    np.putmask(cls, bone > FOOT_CORTEX_MM, MARROW)
