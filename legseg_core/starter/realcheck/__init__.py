"""``legseg starter realcheck``: a plausibility report of a model on the real scans in ``shared/data``.

For each model and each real scan (:data:`scans.SCANS`): the per-leg volume of every muscle (ml),
the left/right volume ratio per muscle (flagged outside 0.75..1.33), the muscles missing in a leg
(flagged), and, for the labelled case, Dice per muscle and leg, mean Dice per leg and a GM/GL
swap check; a PNG of three axial slices per scan; ``report.md`` and ``report.json``. Arrays are
``[z, y, x]`` with x from the patient's right to left (the right leg at smaller x), volumes in ml.

Modules: :mod:`.scans` (the scans and the data folder), :mod:`.measures` (leg split, volumes,
ratios, flags, Dice, swap check), :mod:`.overlays` (the pictures), :mod:`.report` (the run and its
files: :class:`~.report.RealCheck`, :func:`~.report.run_checks`), :mod:`.tables` (text and Markdown).
This package imports nothing itself, so that building the command line stays quick.
"""
