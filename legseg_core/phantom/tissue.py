"""Tissue classes of the phantom and their physical properties.

Every simulated point of a cross-section gets one tissue class (a small integer). Classes
``MUSCLE_FIRST .. MUSCLE_FIRST + 6`` are the seven labelled muscles in the order of
:mod:`legseg_core.labels` (class = ``MUSCLE_FIRST - 1 + label id``); ``FDL`` and ``FHL`` are the
deep flexors, which are muscle tissue but carry no label (the paper does not segment them).

Properties are for 3 T, taken from the quantitative MRI literature (muscle water T1 about
1400 ms and T2 about 32 ms, fat T1 about 380 ms; mean diffusivity of muscle about
1.5e-3 mm^2/s). ``water_density`` and ``fat_density`` are proton densities relative to pure
water; the fat component of every tissue shares :data:`FAT_T1_MS` and :data:`FAT_T2_MS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from legseg_core.labels import MUSCLES

AIR = 0
SKIN = 1
FAT = 2  # subcutaneous fat, intermuscular fat, Kager's fat pad
FASCIA = 3  # deep fascia, intermuscular septa, interosseous membrane, aponeuroses
CORTEX = 4  # cortical bone
MARROW = 5  # yellow (fatty) bone marrow
TENDON = 6
VESSEL = 7  # veins and arteries of the neurovascular bundles
MUSCLE_FIRST = 8  # GL, GM, SOL, TA, PER, EDL, TP follow in label order
FDL = MUSCLE_FIRST + len(MUSCLES)  # flexor digitorum longus (unlabelled muscle)
FHL = FDL + 1  # flexor hallucis longus (unlabelled muscle)
NUM_TISSUE_CLASSES = FHL + 1

#: Tissue class of each labelled muscle, by label id.
MUSCLE_CLASS: dict[int, int] = {m.id: MUSCLE_FIRST - 1 + m.id for m in MUSCLES}
#: Label id (1..7) of each tissue class; 0 for every class that is not a labelled muscle.
LABEL_OF_CLASS = np.zeros(NUM_TISSUE_CLASSES, dtype=np.uint8)
for _label, _cls in MUSCLE_CLASS.items():
    LABEL_OF_CLASS[_cls] = _label
#: True for every class that is muscle tissue (labelled or not).
IS_MUSCLE = np.zeros(NUM_TISSUE_CLASSES, dtype=bool)
IS_MUSCLE[MUSCLE_FIRST:] = True

FAT_T1_MS = 380.0
FAT_T2_MS = 110.0  # apparent T2 of the main fat peak in fast spin echo (J-coupling lengthens it)


@dataclass(frozen=True)
class TissueProperties:
    """Relaxation, proton density and diffusivity of the water component of one tissue.

    ``water_density`` and ``fat_density``: relative proton densities (pure water = 1);
    ``t1_ms``, ``t2_ms``: of the water component in ms; ``adc``: apparent diffusion coefficient
    of the water component in 1e-3 mm^2/s.
    """

    water_density: float
    fat_density: float
    t1_ms: float
    t2_ms: float
    adc: float


_MUSCLE = TissueProperties(0.80, 0.0, 1400.0, 32.0, 1.55)

TISSUES: dict[int, TissueProperties] = {
    AIR: TissueProperties(0.0, 0.0, 1000.0, 1.0, 0.0),
    SKIN: TissueProperties(0.70, 0.10, 1000.0, 35.0, 1.0),
    FAT: TissueProperties(0.06, 0.92, 1000.0, 40.0, 0.8),
    FASCIA: TissueProperties(0.30, 0.02, 1000.0, 12.0, 0.8),
    CORTEX: TissueProperties(0.03, 0.0, 500.0, 1.0, 0.0),
    MARROW: TissueProperties(0.10, 0.85, 900.0, 40.0, 0.6),
    TENDON: TissueProperties(0.15, 0.0, 800.0, 2.5, 0.6),
    VESSEL: TissueProperties(0.90, 0.0, 700.0, 150.0, 2.4),  # short apparent T1: inflow of fresh blood
    **{cls: _MUSCLE for cls in range(MUSCLE_FIRST, NUM_TISSUE_CLASSES)},
}


def property_table(field: str) -> np.ndarray:
    """One property of every tissue class as a float64 array indexed by class."""
    return np.array([getattr(TISSUES[c], field) for c in range(NUM_TISSUE_CLASSES)], dtype=float)
