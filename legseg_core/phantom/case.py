"""One synthetic case: :func:`make_case` and :class:`PhantomCase`.

A case is reproducible from its seed and options. Independent random streams (anatomy,
disease, grid, textures, and one per contrast for bias and noise) are derived from the seed,
so asking for another contrast never changes the anatomy or the other contrasts' noise.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import InputPathError
from legseg_core.io import Volume, save_image, save_labels
from legseg_core.labels import MUSCLES
from legseg_core.phantom.acquisition import add_rician_noise, bias_field, blur_in_plane
from legseg_core.phantom.contrast import CONTRASTS, class_signals, combine, reference_signal, sequence_of
from legseg_core.phantom.disease import TEXTURE_CELLS_MM, DiseaseState, sample_disease, texture_field
from legseg_core.phantom.grid import PROTOCOLS, Grid, plan_grid
from legseg_core.phantom.randomize import DEFAULT_RANDOMIZATION, random_class_table, randomize_image
from legseg_core.phantom.simulate import Simulation, simulate
from legseg_core.phantom.subject import sample_legs, with_atrophy
from legseg_core.phantom.validation import check_options, check_seed

logger = logging.getLogger(__name__)

_STREAMS = {"disease": 1, "anatomy": 2, "grid": 3, "texture": 4, "randomize": 5}


def _stream(seed: int, name: str, index: int = 0) -> np.random.Generator:
    """An independent random generator for one part of a case."""
    return np.random.default_rng([int(seed), _STREAMS.get(name, 10), index])


@dataclass(eq=False)
class PhantomCase:
    """A synthetic case: images by contrast, labels and the muscle fat fraction on one grid.

    ``images`` maps a contrast name to a float32 ``[z, y, x]`` :class:`Volume`; ``labels`` is a
    uint8 Volume with ids 0..7; ``fat_fraction`` holds the fat fraction of the muscle tissue per
    voxel (0 outside muscle); ``tissue`` the most frequent tissue class of each voxel (see
    :mod:`legseg_core.phantom.tissue`); ``metadata`` describes the case (see :func:`make_case`).
    """

    images: dict[str, Volume]
    labels: Volume
    fat_fraction: Volume
    tissue: Volume
    metadata: dict[str, Any]

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``<contrast>.nii.gz`` per image, ``labels.nii.gz`` and ``metadata.json``; return the paths."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputPathError(f"{folder}: exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: save_image(volume.data, volume, folder / f"{name}.nii.gz")
                 for name, volume in self.images.items()}
        paths["labels"] = save_labels(self.labels.data, self.labels, folder / "labels.nii.gz")
        paths["metadata"] = folder / "metadata.json"
        write_text_atomically(paths["metadata"], json.dumps(self.metadata, indent=2, default=str) + "\n")
        return paths


def make_case(seed: int = 0, protocol: str = "B", slices: int | None = None,
              contrasts: str | tuple[str, ...] | list[str] | None = None, health: str = "healthy",
              diagnosis: str | None = None, legs: str = "both", size: str = "default",
              randomize_intensity: bool = False, case_id: str | None = None, knee_mm: float = 0.0,
              foot_mm: float = 0.0) -> PhantomCase:
    """Simulate one case (see the package docstring for every option).

    ``knee_mm`` (protocol A only) extends the field of view that far above the tibial plateau,
    over the knee joint (:mod:`legseg_core.phantom.knee`); 0 ends it just below the plateau.
    ``foot_mm`` (protocol A only) starts it that far below the ankle joint, over the heel and the
    midfoot (:mod:`legseg_core.phantom.foot`); 0 starts it just above the joint.

    ``contrasts=None`` takes the protocol's default (A: T1w; B: Dixon water and fat);
    ``slices=None`` the protocol's count (A 90, B 45; 20 at ``size="tiny"``).
    """
    seed = check_seed(seed)
    if contrasts is None:
        contrasts = PROTOCOLS[protocol].contrasts if protocol in PROTOCOLS else ()
    contrasts = (contrasts,) if isinstance(contrasts, str) else tuple(contrasts)
    check_options(protocol=protocol, slices=slices, contrasts=contrasts, health=health, diagnosis=diagnosis,
                  legs=legs, size=size, knee_mm=knee_mm, foot_mm=foot_mm)
    disease = sample_disease(_stream(seed, "disease"), health, diagnosis)
    leg_set = sample_legs(_stream(seed, "anatomy"), legs, girth_factor=1 - disease.girth_loss,
                          fat_factor=disease.fat_factor)
    leg_set = with_atrophy(leg_set, disease.atrophy_mm, 0.0)
    grid = plan_grid(_stream(seed, "grid"), protocol, slices, leg_set, size, float(knee_mm), float(foot_mm))
    textures = _textures(_stream(seed, "texture"), grid, disease)
    result = simulate(leg_set, grid, disease, _signal_tables(seed, contrasts, randomize_intensity), textures)
    images = {c: _acquire(seed, c, grid, result, randomize_intensity) for c in contrasts}
    volumes = {c: Volume.from_array(data, grid.spacing, grid.origin, name=c) for c, data in images.items()}
    metadata = _metadata(case_id or f"phantom-{seed}", seed, protocol, contrasts, grid, disease, legs, size,
                         randomize_intensity, result)
    metadata["coverage"] = _coverage(leg_set[0], grid)
    like = Volume.from_array(result.labels, grid.spacing, grid.origin, name="labels")
    fat = like.with_data(result.fat_fraction, name="fat_fraction")
    return PhantomCase(volumes, like, fat, like.with_data(result.tissue, name="tissue"), metadata)


def _signal_tables(seed: int, contrasts: tuple[str, ...], randomize: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Water and fat signal per tissue class: one table per pulse sequence, or a random one per contrast."""
    if randomize:
        return {_table_name(c, True): random_class_table(_stream(seed, "randomize", CONTRASTS.index(c)))
                for c in contrasts}
    return {_table_name(c, False): class_signals(sequence_of(c)) for c in contrasts}


def _table_name(contrast: str, randomize: bool) -> str:
    return f"random-{contrast}" if randomize else sequence_of(contrast).name


def _textures(rng: np.random.Generator, grid: Grid, disease: DiseaseState) -> dict[str, np.ndarray]:
    """The random texture fields that the case's muscles use (marbled, patchy)."""
    wanted = sorted((set(disease.texture.values()) | {"marbled"}) & set(TEXTURE_CELLS_MM))
    return {name: texture_field(rng, grid.shape, grid.spacing, TEXTURE_CELLS_MM[name]) for name in wanted}


def _acquire(seed: int, contrast: str, grid: Grid, result: Simulation, randomize: bool) -> np.ndarray:
    """Image of one contrast with bias, scaling, blur and noise (and domain randomisation)."""
    rng = np.random.default_rng([int(seed), 20 + CONTRASTS.index(contrast)])
    sequence = sequence_of(contrast)
    water, fat = result.signals[_table_name(contrast, randomize)]
    if randomize:
        muscle = water[result.labels > 0]
        image, reference = water + fat, float(np.median(muscle)) if muscle.size else 1.0
        strength = DEFAULT_RANDOMIZATION.bias_strength
    else:
        image, reference = combine(contrast, water, fat), reference_signal(sequence)
        strength = float(rng.uniform(0.05, 0.15))
    reference = max(reference, 1e-3)
    gain = np.float32(rng.uniform(300, 1200) / reference)
    image = image * bias_field(rng, grid, strength) * gain
    if sequence.name == "diffusion" and not randomize:
        image = blur_in_plane(image, 0.7)
    if randomize:
        image = randomize_image(rng, image)
    sigma = reference * float(gain) / float(rng.uniform(*sequence.snr))
    return add_rician_noise(rng, image, sigma)


def _coverage(leg, grid: Grid) -> dict[str, float]:
    """Where the slab lies on the (first) leg: heights as fractions of its length, mm below the plateau."""
    half = grid.spacing[0] / 2
    bottom, top = float(grid.z_mm[0] - half), float(grid.z_mm[-1] + half)
    return {"leg_length_mm": round(leg.length_mm, 2),
            "first_slice_height": round(float(leg.heights(grid.z_mm[0])), 4),
            "last_slice_height": round(float(leg.heights(grid.z_mm[-1])), 4),
            "top_below_plateau_mm": round(leg.plateau_z() - top, 2),
            "bottom_below_plateau_mm": round(leg.plateau_z() - bottom, 2)}


def _metadata(case_id: str, seed: int, protocol: str, contrasts: tuple[str, ...], grid: Grid,
              disease: DiseaseState, legs: str, size: str, randomize: bool, result: Simulation) -> dict[str, Any]:
    """The case's description (JSON-ready): acquisition, health, fat fraction and volume per muscle."""
    voxel_ml = float(np.prod(grid.spacing)) / 1000.0
    counts = np.bincount(result.labels.ravel(), minlength=len(MUSCLES) + 1)
    return {
        "case_id": case_id, "seed": int(seed), "protocol": protocol, "contrasts": list(contrasts),
        "contrast": "+".join(contrasts), "slices": grid.shape[0], "shape": list(grid.shape),
        "voxel_size_mm": [round(s, 4) for s in grid.spacing], "legs": legs, "size": size,
        "health": disease.health, "diagnosis": disease.diagnosis, "severity": round(disease.severity, 4),
        "randomize_intensity": bool(randomize),
        "fat_fraction": {m: round(v, 4) for m, v in result.muscle_fat_fraction.items()},
        "volume_ml": {m.abbr: round(float(counts[m.id]) * voxel_ml, 3) for m in MUSCLES},
        "textures": dict(disease.texture),
    }
