"""The paper's preprocessing (sections 2.4 and 2.5) as an invertible plan.

``to_patches(volume, labels=None, config=PreprocessConfig())`` finds the legs of a canonical
``[z, y, x]`` scan, splits z into parts, crops each leg, mirrors the left one, range-normalises
and resamples every part onto the patch grid (20 x 104 x 104 by default), and returns a
:class:`PatchSet` whose :class:`PatchPlan` records each step. ``from_patches(probabilities,
plan)`` undoes them: network probabilities ``[n, 8, z, y, x]`` become uint8 labels on the
scan's own grid; ``probabilities_from_patches`` keeps the per-class probabilities
``[8, z, y, x]`` for uncertainty maps.
"""

from __future__ import annotations

from legseg_core.preprocess.config import PreprocessConfig
from legseg_core.preprocess.extract import (PatchSet, checked_labels, extract_image_patches, extract_label_patches,
                                            to_patches)
from legseg_core.preprocess.inverse import (background_probabilities, check_probabilities, from_patches,
                                           probabilities_from_patches, reduce_covered)
from legseg_core.preprocess.plan import PatchPlan, PatchRecord
from legseg_core.preprocess.planning import plan_patches

__all__ = ["PatchPlan", "PatchRecord", "PatchSet", "PreprocessConfig", "check_probabilities", "checked_labels",
           "background_probabilities", "extract_image_patches", "extract_label_patches", "from_patches",
           "plan_patches", "probabilities_from_patches", "reduce_covered", "to_patches"]
