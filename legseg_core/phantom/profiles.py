"""How each structure of the calf changes along the leg: keyframe tables over ``t``.

``t`` is the height along the lower leg as a fraction of its length: 0 at the ankle joint,
1 at the tibial plateau. The outer contour goes on above it, over the knee
(:mod:`legseg_core.phantom.knee`); every other table holds its last value there, unused. Each profile is a table of ``(t, value)`` keyframes, linearly
interpolated; values are for a reference adult leg (girth and bone scale 1) and are scaled per
subject (:mod:`legseg_core.phantom.subject`). Lengths are in mm, fractions are of the deep
fascia's half-axes. The shapes follow cross-sectional anatomy atlases: the gastrocnemius
heads are largest proximally and end towards mid-calf (the medial head lower than the
lateral); the soleus is largest in the middle to distal third; the anterior muscles and the
deep flexors taper to tendons distally; the tibia widens into its condyles proximally and its
plafond distally, and the fibula ends in its head and the lateral malleolus.
"""

from __future__ import annotations

import numpy as np

Table = tuple[tuple[float, float], ...]

PROFILES: dict[str, Table] = {
    # outer contour: medio-lateral half-width (mm) and antero-posterior / medio-lateral ratio
    "half_width": ((0, 35), (.1, 36), (.2, 39), (.3, 44), (.4, 49), (.5, 54), (.6, 57), (.7, 59),
                   (.8, 59), (.9, 57), (1, 55),
                   (1.1, 55), (1.25, 59), (1.4, 65)),  # above the plateau: the knee, then the thigh
    "depth_ratio": ((0, .84), (.3, .88), (.5, .95), (.8, .97), (1, .92), (1.06, 1.0), (1.4, 1.0)),
    "calf_bulge": ((0, 0), (.3, .02), (.45, .08), (.6, .13), (.75, .15), (.85, .14), (1, .1), (1.1, .03),
                   (1.15, 0)),
    # tibia: mean radius, medio-lateral aspect, three-fold (triangular) harmonic, cortex (mm)
    "tibia_radius": ((0, 16), (.1, 14), (.2, 12.5), (.3, 11.5), (.6, 11.5), (.7, 12), (.8, 13.5),
                     (.88, 16), (.95, 21), (1, 27)),
    "tibia_aspect": ((0, 1.25), (.1, 1.15), (.2, 1.05), (.3, 1), (.7, 1), (.8, 1.05), (.9, 1.25),
                     (1, 1.5)),
    "tibia_triangle": ((0, .02), (.1, .06), (.2, .1), (.3, .13), (.6, .14), (.75, .12), (.85, .08),
                       (.95, .03), (1, .02)),
    "tibia_cortex": ((0, 1.5), (.1, 2.5), (.2, 3.5), (.3, 4.5), (.4, 5), (.65, 5), (.75, 4.2),
                     (.85, 3), (.95, 1.8), (1, 1.2)),
    # (the tibia lies near the leg's medio-lateral middle: the real legs' muscles sit around it as in
    # realism.REAL_RIGHT_LEG, measured with legseg_core.phantom.realism)
    "tibia_u": ((0, .07), (.3, .1), (.6, .11), (.8, .1), (.9, .07), (1, .05)),
    # fibula: centre as fractions of the deep fascia half-axes, radius and cortex (mm)
    "fibula_u": ((0, -.65), (.1, -.57), (.2, -.5), (.35, -.44), (.5, -.4), (.7, -.39), (.85, -.42),
                 (1, -.48)),
    "fibula_v": ((0, .22), (.1, .18), (.2, .14), (.35, .1), (.5, .07), (.7, .07), (.85, .08),
                 (1, .1)),
    "fibula_radius": ((0, 8), (.1, 7.5), (.2, 7), (.8, 7), (.88, 8), (.93, 11), (1, 12)),
    "fibula_cortex": ((0, 1.5), (.15, 2.2), (.3, 2.6), (.8, 2.6), (.92, 1.8), (1, 1.4)),
    # compartment septa leaving the fibula (degrees; 180 = lateral, 270 = anterior, 90 = posterior)
    "anterior_septum_angle": ((0, 235), (.5, 228), (1, 225)),
    "posterior_septum_angle": ((0, 140), (.5, 146), (1, 150)),
    # deep posterior compartment (transverse septum): depth behind the tibia-fibula line (mm)
    "deep_depth": ((0, 8), (.1, 10), (.25, 11), (.45, 10), (.65, 8.5), (.8, 7.5), (.9, 9), (1, 13)),
    # deep compartment partitions along tibia -> fibula: FDL | TP | FHL
    "fdl_tp_split": ((0, .5), (.15, .46), (.3, .44), (.5, .42), (.7, .36), (.85, .3), (.9, .4),
                     (.95, .8), (1, 1.1)),
    "tp_fhl_split": ((0, .5), (.15, .52), (.3, .58), (.45, .65), (.55, .72), (.65, .85), (.72, 1.2),
                     (1, 1.3)),
    # anterior compartment: where the TA / EDL boundary leaves the interosseous membrane (fraction
    # tibia -> fibula) and its direction: TA superficial (anterior), EDL deep to it against the membrane
    # and in front of the peroneal group, as in the real legs (EDL 18 mm behind TA's centroid)
    "ta_edl_split": ((0, .3), (.5, .35), (1, .38)),
    "ta_edl_angle": ((0, 215), (.5, 210), (1, 208)),
    # gastrocnemius heads: thickness (mm) under the posterior fascia
    # (GM twice GL's volume: about 2.2 in the real case, see realism.REAL_RIGHT_LEG)
    "gm_thickness": ((0, 0), (.3, 0), (.35, 3), (.45, 10), (.55, 15), (.65, 19), (.75, 21), (.9, 21),
                     (1, 19)),
    "gl_thickness": ((0, 0), (.37, 0), (.42, 3), (.5, 8), (.6, 13), (.7, 17), (.8, 19), (.9, 19), (1, 18)),
    # the soleus' median intramuscular septum: length behind the deep compartment (mm)
    "soleus_septum": ((0, 0), (.15, 0), (.22, 10), (.35, 18), (.5, 18), (.6, 10), (.66, 0), (1, 0)),
    # Achilles tendon / gastrocnemius aponeurosis: thickness and half-width (mm)
    "achilles_thickness": ((0, 6.5), (.1, 6), (.2, 5), (.3, 3.5), (.4, 1.5), (.45, 0)),
    "achilles_half_width": ((0, 10), (.1, 10), (.2, 12), (.3, 17), (.4, 24), (.45, 26)),
    # presence of each muscle belly: 1 = full, 0 = gone (tendon or fat); see anatomy.erosion
    "presence_SOL": ((0, 0), (.06, .1), (.12, .6), (.2, .9), (.3, 1), (.9, 1), (.95, .8), (.98, .6),
                     (1, .45)),
    "presence_TA": ((0, 0), (.1, 0), (.2, .45), (.3, .8), (.4, .95), (.5, 1), (.95, 1), (1, .8)),
    "presence_EDL": ((0, 0), (.06, .2), (.12, .6), (.2, .85), (.3, .95), (.4, 1), (.92, 1), (1, .6)),
    "presence_PER": ((0, .1), (.06, .4), (.12, .75), (.2, .95), (.3, 1), (.92, 1), (1, .7)),
    "presence_TP": ((0, 0), (.1, 0), (.18, .4), (.3, .85), (.4, 1), (.88, 1), (.95, .6), (1, .2)),
    "presence_FDL": ((0, 0), (.08, .2), (.15, .6), (.25, .95), (.35, 1), (1, 1)),
    "presence_FHL": ((0, .4), (.08, .75), (.15, 1), (1, 1)),  # its region ends where tp_fhl_split > 1
    # tendons that appear where their muscle has ended (radius, mm)
    "tendon_TA": ((0, 3), (.15, 3), (.3, 2), (.38, 0), (1, 0)),
    "tendon_TP": ((0, 2.8), (.15, 2.5), (.25, 1.5), (.3, 0), (1, 0)),
    "tendon_PER": ((0, 3), (.12, 2.5), (.22, 1.5), (.28, 0), (1, 0)),
}

#: Erosion depth (mm) at which each muscle belly has vanished (its typical half-thickness).
MUSCLE_HALF_THICKNESS: dict[str, float] = {
    "GL": 8.0, "GM": 11.0, "SOL": 14.0, "TA": 11.0, "PER": 10.0, "EDL": 8.0, "TP": 8.0,
    "FDL": 7.0, "FHL": 8.0}


def profile(name: str, t: np.ndarray) -> np.ndarray:
    """The profile ``name`` at heights ``t`` (fractions of leg length), as float64."""
    table = PROFILES[name]
    return np.interp(t, [k for k, _ in table], [v for _, v in table])
