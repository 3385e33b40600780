"""Training images from label maps: contrast-agnostic synthesis for models that must work on real scans.

A *template* is one leg's tissue map (the classes of :mod:`legseg_core.phantom.tissue`: air,
skin, fat, fascia, cortex, marrow, tendon, vessel, the seven labelled muscles and the two
unlabelled deep flexors) on a voxel grid, as a right leg. Templates come from the parametric
phantom (:func:`phantom_template`, whole legs from ankle to knee) and from real labelled legs
(:func:`labelled_leg_template`, whose non-muscle classes are read off the image inside the
body). :func:`synthesize_case` turns templates into one training case: each leg is deformed
(rotation, anisotropic scaling, a smooth random displacement field), the pair is placed side by
side (or one leg alone), every tissue class and every muscle gets an intensity drawn from a
contrast prior (T1w, T2w, PD, Dixon water or fat, diffusion) or fully at random, fat replaces
muscle in some cases, fat suppression fails in places, and the image is acquired on a protocol's
grid (0.5 to 3 mm in-plane, 3 to 10 mm slices, partial volume by averaging sub-voxels), with a
bias field, blur, gamma and Rician noise, cut at any level between ankle and knee.
:func:`generate_synthetic_cohort` writes such cases in the layout ``legseg phantom cohort``
writes, so ``legseg store import`` takes them and training goes through exactly the
preprocessing of inference.

The labelled real case's held-out leg (:mod:`.heldout`) can never become a template.

Libraries: the geometry and the image operations are scipy.ndimage (``map_coordinates`` for the
deformed lookup, ``zoom`` for smooth random fields, ``gaussian_filter`` for blur and texture), the
intensity priors the phantom's own signal equations (:mod:`legseg_core.phantom.contrast`).
TorchIO's ``RandomLabelsToImage`` draws one Gaussian per label as this does, but knows nothing of
tissue classes beyond the labels, contrast priors, anisotropic protocol grids with partial volume
or fat-suppression failures, and would add a dependency for a few dozen lines; MONAI has no label
map synthesis. Augmentation during training (:mod:`legseg_core.training.augment`) still applies on
top, on the patches the preprocessing makes from these cases.
"""

from __future__ import annotations

from legseg_core.synth.cohort import SyntheticMix, generate_synthetic_cohort
from legseg_core.synth.generate import SynthesisSettings, synthesize_case
from legseg_core.synth.heldout import HeldOutLegError, check_not_held_out
from legseg_core.synth.templates import Template, TemplateError, labelled_leg_template, phantom_template

__all__ = ["HeldOutLegError", "SynthesisSettings", "SyntheticMix", "Template", "TemplateError",
           "check_not_held_out", "generate_synthetic_cohort", "labelled_leg_template", "phantom_template",
           "synthesize_case"]
