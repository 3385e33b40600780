"""Case adaptation: learn from a few corrected slices of the scan being corrected.

:mod:`legseg_core.adapt.corrected` says which voxels were corrected (leg slices);
:mod:`legseg_core.adapt.adapt` fine-tunes a copy of the model on them alone and re-segments the
rest of the scan; :mod:`legseg_core.adapt.expert` is the simulated expert of ``legseg bench
correction``.
"""

from legseg_core.adapt.adapt import (ADAPT_RECIPE, AdaptResult, AdaptSettings, adapt_case, adaptation_patches,
                                     save_adapted)
from legseg_core.adapt.corrected import AdaptError, LegColumns, LegSlice, changed_leg_slices, parse_slices

__all__ = ["ADAPT_RECIPE", "AdaptError", "AdaptResult", "AdaptSettings", "LegColumns", "LegSlice", "adapt_case",
           "adaptation_patches", "changed_leg_slices", "parse_slices", "save_adapted"]
