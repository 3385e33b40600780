"""The synthetic calf cohort: plausible bilateral lower legs with known ground truth.

``make_case(seed, protocol, slices, contrasts, health, diagnosis, legs, size,
randomize_intensity)`` simulates one case and returns a :class:`PhantomCase`:

- ``case.images``: contrast name -> float32 :class:`~legseg_core.io.Volume` ``[z, y, x]``,
  spacing ``(z, y, x)`` mm, on the canonical axes (x patient right -> left, y anterior ->
  posterior, z inferior -> superior), so the patient's right leg lies at smaller x;
- ``case.labels``: uint8 Volume on the same grid, ids 0..7 (:mod:`legseg_core.labels`);
- ``case.fat_fraction``: float32 Volume, fat fraction of the muscle tissue in each voxel;
- ``case.tissue``: uint8 Volume, the most frequent tissue class of each voxel
  (:mod:`legseg_core.phantom.tissue`: skin, fat, fascia, cortex, marrow, tendon, vessel, muscles);
- ``case.metadata``: case id, seed, contrast(s), protocol, slices, shape, voxel size, legs,
  size, health, diagnosis, severity, fat fraction and volume (ml) per muscle abbreviation, and
  the slab's coverage of the leg (heights as fractions of leg length, mm below the plateau).
- ``case.save(folder)`` writes ``<contrast>.nii.gz``, ``labels.nii.gz`` and ``metadata.json``;
  :mod:`.render` draws axial slices with the label overlay to PNG.

Options: ``protocol`` "A" (whole lower leg, 90 slices, T1w by default) or "B" (25 or 45 slices
from a fixed distance below the tibial plateau, Dixon water and fat by default); ``slices``
overrides the count; ``contrasts`` any of :data:`CONTRASTS`; ``health`` "healthy" or
"patient", ``diagnosis`` one of :data:`DIAGNOSES` (None picks one for a patient); ``legs``
"both", "right" or "left"; ``size`` "tiny" (a coarse grid for tests, under a second),
"default" or "fine"; ``knee_mm`` (protocol A) extends the field of view that far above the tibial
plateau, over the knee joint (:mod:`.knee`); ``randomize_intensity`` swaps the signal equations for random tissue
intensities, gamma, inversion, blur and a strong bias field (domain randomisation).

How a case is made: :mod:`.subject` draws the body, :mod:`.profiles` and :mod:`.landmarks`
say where each structure lies along the leg, :mod:`.anatomy` rasterises tissue classes on
supersampled sub-slices (:mod:`.knee` those above the tibial plateau), :mod:`.simulate` reduces them to the grid (partial volume) with the
fat of :mod:`.disease`, :mod:`.contrast` applies the signal equations and :mod:`.acquisition`
the bias field and Rician noise. :func:`generate_cohort` writes many cases and a metadata.csv.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legseg_core.lazy import lazy_exports

if TYPE_CHECKING:
    from legseg_core.phantom.case import PhantomCase, make_case
    from legseg_core.phantom.cohort import CohortMix, DEFAULT_MIX, generate_cohort
    from legseg_core.phantom.contrast import CONTRASTS
    from legseg_core.phantom.disease import DIAGNOSES, HEALTH_STATES
    from legseg_core.phantom.grid import PROTOCOLS, SIZES
    from legseg_core.phantom.validation import LEG_CHOICES, PhantomParameterError

__all__ = ["CONTRASTS", "CohortMix", "DEFAULT_MIX", "DIAGNOSES", "HEALTH_STATES", "LEG_CHOICES", "PROTOCOLS",
           "PhantomCase", "PhantomParameterError", "SIZES", "generate_cohort", "make_case"]

#: Where each name is defined: imported on first use (:mod:`legseg_core.lazy`).
_EXPORTS = {
    "PhantomCase": "case", "make_case": "case", "CohortMix": "cohort", "DEFAULT_MIX": "cohort",
    "generate_cohort": "cohort", "CONTRASTS": "contrast", "DIAGNOSES": "disease", "HEALTH_STATES": "disease",
    "PROTOCOLS": "grid", "SIZES": "grid", "LEG_CHOICES": "validation", "PhantomParameterError": "validation",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
