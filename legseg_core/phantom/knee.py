"""The knee above the tibial plateau (heights ``t > 1``): what a whole-leg scan shows above the calf.

Whole-leg protocols often reach past the knee joint. Of the seven muscles LegSeg labels, only
the two gastrocnemius heads continue there: they rise over the back of the femoral condyles to
their origins a few centimetres above the joint line. Everything else in these sections is
background, and is what a network must learn not to label:

- the joint space (cartilage, the menisci as a dark rim) and above it the femur: two condyles
  with the intercondylar notch behind them, the trochlea in front, narrowing to the shaft;
- the patella in front of the trochlea, the patellar tendon below it, the quadriceps tendon above,
  Hoffa's fat pad behind the patellar tendon;
- the popliteal fossa: fat around the popliteal artery and vein, between the gastrocnemius heads;
- the thigh's muscles, unlabelled (vastus medialis, lateralis and intermedius, semimembranosus,
  sartorius, biceps femoris), the tendons of semitendinosus, gracilis and biceps femoris, and the
  iliotibial band under the lateral fascia.

Heights ``h`` are mm above the plateau on a reference leg of :data:`REFERENCE_LENGTH_MM` (so a
structure keeps its place relative to the joint in short and long legs). Positions and sizes are
fractions of the outer contour's half-axes (``a`` medio-lateral, ``b`` antero-posterior) so that
every structure stays inside the leg. The numbers follow typical adult knee anatomy from
cross-sectional atlases: a knee about 100 to 110 mm across and deep; femoral condyles about 75 to
85 mm wide and 55 to 60 mm deep, reaching about 50 mm above the joint line before the metaphysis
narrows to a shaft of about 30 mm; the patella about 45 mm tall, 40 wide and 20 thick, its lower
pole about 15 mm above the joint line in extension; the gastrocnemius heads arising from the
posterior condyles, the medial head about 45 to 50 mm above the joint line and the lateral one
lower (about 35 mm); the vasti replacing fat in front and at the sides of the femur from about
20 mm (medialis) and 45 mm (lateralis) above the joint. The outer contour and its skin, fat and
deep fascia are the calf's (:func:`legseg_core.phantom.anatomy._outer`), continued above ``t = 1``
by the keyframes of :data:`legseg_core.phantom.profiles.PROFILES`.
"""

from __future__ import annotations

import numpy as np

from legseg_core.phantom.landmarks import Landmarks, per_slice
from legseg_core.phantom.shapes import Section, Table, keyframes
from legseg_core.phantom.subject import LegParameters
from legseg_core.phantom.tissue import (AIR, CORTEX, FASCIA, FAT, FDL, FHL, MARROW, MUSCLE_CLASS, SKIN,
                                        TENDON, VESSEL)

GL, GM = MUSCLE_CLASS[1], MUSCLE_CLASS[2]
#: Leg length (ankle joint to tibial plateau, mm) on which the heights of this module are given.
REFERENCE_LENGTH_MM = 380.0
#: Height (mm above the plateau) up to which the joint space (cartilage and menisci) lies between the bones.
JOINT_MM = 3.0
#: Width (mm) of the menisci: the outer rim of the joint space.
MENISCUS_MM = 7.0
#: Fat left between neighbouring muscles of the thigh (mm).
SEPTUM_MM = 1.0

#: How each structure's size changes with the height above the plateau: (h mm, factor) keyframes.
KNEE_PROFILES: dict[str, Table] = {
    "condyles": ((0, 1), (35, 1), (50, .8), (60, 0)),
    "trochlea": ((0, 0), (8, 0), (16, 1), (45, 1), (60, .85), (70, 0)),
    "notch": ((0, .15), (30, .12), (45, 0)),  # half-width of the intercondylar notch (fraction of a)
    "shaft_u": ((0, 0), (44, 0), (45, .62), (60, .5), (80, .36), (100, .3), (200, .28)),
    "shaft_v": ((0, 0), (44, 0), (45, .5), (60, .42), (80, .32), (100, .28), (200, .26)),
    "femur_cortex": ((0, 1.0), (50, 1.3), (80, 2.5), (110, 4.5), (200, 5.0)),  # mm
    "patella": ((0, 0), (12, 0), (14, .45), (20, .8), (35, 1), (50, .8), (56, .45), (58, 0)),
    "patellar_tendon": ((0, 1), (13, 1), (14, 0)),
    "quadriceps_tendon": ((0, 0), (55, 0), (57, 1), (200, 1)),
    "vastus_medialis": ((0, 0), (15, 0), (25, .4), (50, .75), (80, 1), (200, 1)),
    "vastus_lateralis": ((0, 0), (40, 0), (50, .4), (80, .75), (110, 1), (200, 1)),
    "vastus_intermedius": ((0, 0), (65, 0), (75, .3), (110, .8), (200, 1)),
    "semimembranosus": ((0, .35), (20, .6), (50, .9), (80, 1), (200, 1)),
    "biceps_tendon": ((0, 1), (30, 1), (35, 0)),
    "biceps_femoris": ((0, 0), (25, 0), (35, .4), (60, .8), (90, 1), (200, 1)),
    "iliotibial_band": ((0, 2), (100, 2), (120, 0)),  # thickness (mm)
}
#: Height (mm above the plateau, reference leg) where each gastrocnemius head has reached its origin.
HEAD_TOP_MM = {"GM": 48.0, "GL": 36.0}


def _knee_profile(name: str, h: np.ndarray) -> np.ndarray:
    return keyframes(KNEE_PROFILES[name], h)


def knee_tissue(leg: LegParameters, marks: Landmarks, u: np.ndarray, v: np.ndarray,
                outer: dict[str, np.ndarray]) -> np.ndarray:
    """Tissue classes (uint8 ``[S, H, W]``) of sub-slices above the tibial plateau.

    ``u``, ``v`` are the local frame of :func:`legseg_core.phantom.anatomy._local_frame` and
    ``outer`` the outer contour's layers of :func:`legseg_core.phantom.anatomy._outer` for the same
    points; every sub-slice of ``marks`` lies above the plateau.
    """
    h = np.maximum(marks.t - 1.0, 0.0) * REFERENCE_LENGTH_MM
    a, b = marks.half_width, marks.half_depth
    section = Section(u, v, a, b)
    cls = np.full(u.shape, FAT, dtype=np.uint8)  # Hoffa's fat pad, the popliteal fossa, fat between muscles
    _thigh_muscles(section, h, cls)
    _gastrocnemius_heads(leg, section, h, cls)
    _tendons_and_vessels(section, h, outer, cls)
    _femur_and_patella(section, h, cls)
    np.putmask(cls, outer["depth"] < outer["fascia_depth"], FASCIA)
    np.putmask(cls, outer["depth"] < outer["fat_depth"], FAT)
    np.putmask(cls, outer["depth"] < leg.skin_mm, SKIN)
    np.putmask(cls, outer["depth"] < 0, AIR)
    return cls


def _thigh_muscles(section: Section, h: np.ndarray, cls: np.ndarray) -> None:
    """The vasti in front and at the sides of the femur, semimembranosus, sartorius, biceps femoris."""
    muscles = (  # (class, centre (u, v), radii (u, v) at full size, profile)
        (FDL, (.45, -.35), (.42, .45), "vastus_medialis"),
        (FHL, (-.50, -.30), (.40, .45), "vastus_lateralis"),
        (FDL, (.0, -.45), (.45, .25), "vastus_intermedius"),
        (FDL, (.50, .50), (.30, .30), "semimembranosus"),
        (FHL, (-.50, .50), (.32, .32), "biceps_femoris"),
    )
    for cls_value, centre, radii, name in muscles:
        scale = _knee_profile(name, h)
        section.paint(cls, cls_value, centre, (radii[0] * scale, radii[1] * scale), SEPTUM_MM / 2)
    section.paint(cls, FHL, (.80, .20), (.16, .18), SEPTUM_MM / 2)  # sartorius


def _gastrocnemius_heads(leg: LegParameters, section: Section, h: np.ndarray, cls: np.ndarray) -> None:
    """GM and GL: the calf's two heads, narrowing as they rise over the back of the condyles."""
    scale = leg.gastrocnemius_scale
    for cls_value, centre, radii, top in ((GM, (.35, .68), (.36, .28), HEAD_TOP_MM["GM"]),
                                          (GL, (-.35, .68), (.30, .26), HEAD_TOP_MM["GL"])):
        size = np.sqrt(np.clip(1 - h / (top * scale), 0, 1))
        section.paint(cls, cls_value, centre, (radii[0] * size, radii[1] * size), SEPTUM_MM / 2)


def _tendons_and_vessels(section: Section, h: np.ndarray, outer: dict[str, np.ndarray], cls: np.ndarray) -> None:
    """Patellar and quadriceps tendons, hamstring tendons, the iliotibial band, the popliteal vessels."""
    u, v, a, b = section.u, section.v, per_slice(section.a), per_slice(section.b)
    for name, centre_v, half_u, half_v in (("patellar_tendon", -.80, .24, .05), ("quadriceps_tendon", -.76, .30, .06)):
        present = (_knee_profile(name, h) > 0)[:, None, None]
        band = (np.abs(u) < half_u * a) & (np.abs(v - centre_v * b) < half_v * b) & present
        np.putmask(cls, band, TENDON)
    biceps = _knee_profile("biceps_tendon", h)
    for centre, radius in (((.60, .68), np.full(h.shape, .06)), ((.74, .52), np.full(h.shape, .05)),
                           ((-.66, .40), .08 * biceps)):
        section.paint(cls, TENDON, centre, (radius, radius))
    band = per_slice(_knee_profile("iliotibial_band", h))
    lateral = (outer["cos"] < -0.95) & (outer["inner_depth"] >= 0) & (outer["inner_depth"] < band)
    np.putmask(cls, lateral, TENDON)
    for centre, size in (((.02, .42), .06), ((-.07, .52), .08)):  # the popliteal artery and vein
        section.paint(cls, VESSEL, centre, (size, size))


def _femur_and_patella(section: Section, h: np.ndarray, cls: np.ndarray) -> None:
    """The joint space, the femur (condyles, trochlea, notch, shaft) and the patella, with cortex."""
    condyles = _knee_profile("condyles", h)
    trochlea = _knee_profile("trochlea", h)
    femur = np.maximum(section.depth((.32, .06), (.29 * condyles, .42 * condyles)),
                       section.depth((-.30, .04), (.28 * condyles, .40 * condyles)))
    femur = np.maximum(femur, section.depth((.0, -.14), (.48 * trochlea, .28 * trochlea)))
    femur = np.maximum(femur, section.depth((.03, .0), (_knee_profile("shaft_u", h), _knee_profile("shaft_v", h))))
    notch = per_slice(_knee_profile("notch", h) * section.a)
    in_back = (section.v > per_slice(0.02 * section.b)) & (notch > 0)
    femur = np.where(in_back, np.minimum(femur, np.abs(section.u - per_slice(0.02 * section.a)) - notch), femur)
    joint = (h < JOINT_MM)[:, None, None]
    cortex = per_slice(_knee_profile("femur_cortex", h))
    np.putmask(cls, joint & (femur > 0), FASCIA)  # cartilage
    np.putmask(cls, joint & (femur > 0) & (femur < MENISCUS_MM), TENDON)  # the menisci
    np.putmask(cls, ~joint & (femur > 0), CORTEX)
    np.putmask(cls, ~joint & (femur > cortex), MARROW)
    size = _knee_profile("patella", h)
    patella = section.depth((-.03, -.68), (.38 * size, .17 * size))
    np.putmask(cls, patella > 0, CORTEX)
    np.putmask(cls, patella > 1.2, MARROW)
