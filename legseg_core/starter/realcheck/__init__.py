"""``legseg starter realcheck``: a plausibility report of a model on the real scans in ``shared/data``.

For each model and each real scan (:data:`scans.SCANS`): the per-leg volume of every muscle (ml),
the left/right volume ratio per muscle (flagged outside 0.75..1.33), the muscles missing in a leg
(flagged), and, for the labelled case, Dice per muscle and leg, mean Dice per leg and a GM/GL
swap check; a PNG of three axial slices per scan; ``report.md`` and ``report.json``. Arrays are
``[z, y, x]`` with x from the patient's right to left (the right leg at smaller x), volumes in ml.
"""

from __future__ import annotations

from legseg_core.starter.realcheck.measures import (MISSING_BELOW_ML, RATIO_RANGE, LegSplit, SwapCheck, VolumeCheck,
                                                    check_volumes, leg_agreement, leg_volumes, swap_check)
from legseg_core.starter.realcheck.overlays import choose_levels, write_overlay
from legseg_core.starter.realcheck.report import ModelReport, RealCheck, ScanReport, run_checks
from legseg_core.starter.realcheck.scans import SCANS, RealScan, check_data, default_data_folder, select_scans

__all__ = ["MISSING_BELOW_ML", "RATIO_RANGE", "SCANS", "LegSplit", "ModelReport", "RealCheck", "RealScan", "ScanReport",
           "SwapCheck", "VolumeCheck", "check_data", "check_volumes", "choose_levels", "default_data_folder",
           "leg_agreement", "leg_volumes", "run_checks", "select_scans", "swap_check", "write_overlay"]
