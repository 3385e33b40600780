"""Label maps from other tools onto LegSeg's muscle ids.

``QMRITOOLS_CALF`` maps the QMRITools demo labels (values 13 to 26, odd values on the
patient's right leg) onto the ids 1..7; see ``shared/data/calf-qmritools/README.md`` for how the
mapping was inferred.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from legseg_core.errors import ImageValueError

QMRITOOLS_CALF: dict[int, int] = {13: 2, 14: 2, 15: 1, 16: 1, 17: 3, 18: 3, 19: 4, 20: 4,
                                  21: 5, 22: 5, 23: 6, 24: 6, 25: 7, 26: 7}
#: Values of the QMRITools demo labels that lie on the patient's right leg.
QMRITOOLS_CALF_RIGHT = frozenset(range(13, 27, 2))

KNOWN_MAPPINGS: dict[str, dict[int, int]] = {"qmritools-calf": QMRITOOLS_CALF}


def remap_labels(data: np.ndarray, mapping: Mapping[int, int], *, strict: bool = True) -> np.ndarray:
    """Map label values through ``mapping`` (0 stays 0) and return uint8 LegSeg labels.

    With ``strict`` a value that is neither 0 nor in the mapping raises ImageValueError;
    otherwise it becomes background.
    """
    values = np.unique(data)
    unknown = sorted(int(v) for v in values if v != 0 and int(v) not in mapping)
    if unknown and strict:
        raise ImageValueError(f"label values {unknown} have no entry in the mapping {dict(mapping)}")
    table = np.zeros(int(max(values.max(), max(mapping, default=0))) + 1, dtype=np.uint8)
    for source, target in mapping.items():
        table[int(source)] = target
    return table[data.astype(np.int64)]
