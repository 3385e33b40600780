"""Case adaptation: learn from a few corrected slices of the scan being corrected.

:mod:`legseg_core.adapt.corrected` says which voxels were corrected (leg slices);
:mod:`legseg_core.adapt.adapt` fine-tunes a copy of the model on them alone and re-segments the
rest of the scan; :mod:`legseg_core.adapt.expert` is the simulated expert of ``legseg bench
correction``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.adapt.adapt import AdaptResult, AdaptSettings, adapt_case, adaptation_patches, save_adapted
    from legseg_core.adapt.corrected import AdaptError, LegColumns, LegSlice, changed_leg_slices, parse_slices
    from legseg_core.adapt.recipe import ADAPT_RECIPE

EXPORTS = {"ADAPT_RECIPE": "recipe", "AdaptError": "corrected", "AdaptResult": "adapt", "AdaptSettings": "adapt",
           "LegColumns": "corrected", "LegSlice": "corrected", "adapt_case": "adapt", "adaptation_patches": "adapt",
           "changed_leg_slices": "corrected", "parse_slices": "corrected", "save_adapted": "adapt"}
__all__ = ["ADAPT_RECIPE", "AdaptError", "AdaptResult", "AdaptSettings", "LegColumns", "LegSlice", "adapt_case",
           "adaptation_patches", "changed_leg_slices", "parse_slices", "save_adapted"]
__getattr__ = lazy_exports(__name__, EXPORTS)
