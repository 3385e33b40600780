"""A cohort of synthetic training cases on disk, importable with ``legseg store import``.

:func:`generate_synthetic_cohort` is long work (a generator yielding one
:class:`~legseg_core.progress.Progress` per case). Its templates are a pool of whole right legs
of the parametric phantom (healthy and patients, made once each and reused with fresh
deformations) and any real labelled legs given. Each case is two legs of one template (a
person's two legs are near mirror images; each gets its own deformation and shading), two legs
of different templates, or one leg alone, in the proportions of :class:`SyntheticMix`. Every
case folder holds ``<contrast>.nii.gz``, ``labels.nii.gz`` and ``metadata.json``; the cohort's
``metadata.csv`` is rewritten after every case, so a cancelled run leaves a consistent table.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import atomic_text_file, write_text_atomically
from legseg_core.errors import InputPathError
from legseg_core.io import save_image, save_labels
from legseg_core.phantom.disease import DIAGNOSES
from legseg_core.phantom.validation import PhantomParameterError, check_foot_mm, check_knee_mm, check_seed
from legseg_core.progress import Progress, ProgressWork
from legseg_core.synth.generate import SynthesisSettings, synthesize_case
from legseg_core.synth.templates import Template, phantom_template


@dataclass(frozen=True)
class SyntheticMix:
    """Shares of the kinds of case, and the size of the phantom template pool."""

    real_share: float = 0.4  # cases built from the real labelled legs (when any are given)
    single_share: float = 0.1  # one leg alone
    mixed_share: float = 0.15  # two legs of different templates
    phantom_templates: int = 24  # whole phantom legs in the pool (a third of them patients)
    knee_mm: float = 0.0  # each phantom template reaches a random 0..knee_mm above the tibial plateau
    foot_mm: float = 0.0  # and a random 0..foot_mm below the ankle joint
    settings: SynthesisSettings = SynthesisSettings()

    def __post_init__(self) -> None:
        for name in ("real_share", "single_share", "mixed_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise PhantomParameterError(f"synthetic mix: {name}={value!r} must lie in 0..1")
        if self.phantom_templates < 1:
            raise PhantomParameterError(f"synthetic mix: phantom_templates={self.phantom_templates!r} must be >= 1")
        check_knee_mm(self.knee_mm)
        check_foot_mm(self.foot_mm)


def generate_synthetic_cohort(n: int, out_dir: str | Path, seed: int = 0, *,
                              real_templates: tuple[Template, ...] = (),
                              mix: SyntheticMix = SyntheticMix()) -> ProgressWork[list[dict[str, Any]]]:
    """Write ``n`` synthetic cases under ``out_dir/<case_id>/`` and ``out_dir/metadata.csv``; yield progress."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise PhantomParameterError(f"a cohort needs a whole number of cases >= 1, got {n!r}")
    seed = check_seed(seed)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputPathError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = _PhantomPool(seed, mix.phantom_templates, mix.knee_mm, mix.foot_mm)
    written: list[dict[str, Any]] = []
    yield Progress(0, n, "starting")
    for index in range(n):
        case_id = f"synth{index:04d}"
        templates, case = _usable_case(seed, index, pool, real_templates, mix, case_id)
        _save(case, out_dir / case_id)
        written.append(case.metadata)
        _write_csv(written, out_dir / "metadata.csv")
        yield Progress(index + 1, n, case_id, {"contrast": case.metadata["contrast"][0],
                                               "templates": len(templates)})
    return written


#: Draws of one case before the cohort gives up: a draw the preprocessing would refuse is drawn again.
MAX_DRAWS = 5


def _usable_case(seed: int, index: int, pool: "_PhantomPool", real_templates: tuple[Template, ...],
                 mix: SyntheticMix, case_id: str) -> tuple[tuple[Template, ...], Any]:
    """The templates and the case of cohort index ``index``, drawn again (a fresh random stream each time)
    while the preprocessing would refuse the image: a random contrast can put the legs within a noise level
    or two of the air, and training on a store that holds such a case stops at it. The first draw uses the
    stream of earlier versions, so cohorts whose every case was usable come out as before; a redrawn case
    says so in its metadata (``redrawn``: the reasons)."""
    from legseg_core.errors import PreprocessingError
    from legseg_core.preprocess import PreprocessConfig
    from legseg_core.preprocess.mask import body_mask
    from legseg_core.preprocess.planning import check_scan

    config, reasons = PreprocessConfig(), []
    for draw in range(MAX_DRAWS):
        rng = np.random.default_rng([seed, index, 7] if draw == 0 else [seed, index, 7, draw])
        templates = _choose_templates(rng, pool, real_templates, mix)
        case = synthesize_case(rng, templates, mix.settings, case_id=case_id)
        try:
            check_scan(case.image.data, case_id, config)
            body_mask(case.image.data, case.image.spacing, config, case_id)
        except PreprocessingError as error:
            reasons.append(str(error))
            continue
        if reasons:
            case.metadata["redrawn"] = reasons
        return templates, case
    raise PhantomParameterError(f"{case_id}: {MAX_DRAWS} draws in a row were refused by the preprocessing; the "
                                f"last: {reasons[-1]}")


class _PhantomPool:
    """Phantom leg templates, made on first use: seeds drawn from the cohort seed, a third patients, each
    reaching a random 0..``knee_mm`` above the tibial plateau and 0..``foot_mm`` below the ankle joint."""

    def __init__(self, seed: int, size: int, knee_mm: float = 0.0, foot_mm: float = 0.0):
        rng = np.random.default_rng([seed, 11])
        self.seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size)]
        self.diagnoses = [str(rng.choice(DIAGNOSES)) if i % 3 == 2 else None for i in range(size)]
        self.knee_mm = [round(float(k), 1) for k in np.random.default_rng([seed, 12]).uniform(0, knee_mm, size)]
        self.foot_mm = [round(float(k), 1) for k in np.random.default_rng([seed, 13]).uniform(0, foot_mm, size)]
        self.made: dict[int, Template] = {}

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, index: int) -> Template:
        if index not in self.made:
            diagnosis = self.diagnoses[index]
            self.made[index] = phantom_template(self.seeds[index], health="patient" if diagnosis else "healthy",
                                                diagnosis=diagnosis, knee_mm=self.knee_mm[index],
                                                foot_mm=self.foot_mm[index])
        return self.made[index]


def _choose_templates(rng: np.random.Generator, pool: _PhantomPool, real: tuple[Template, ...],
                      mix: SyntheticMix) -> tuple[Template, ...]:
    def one() -> Template:
        if real and rng.uniform() < mix.real_share:
            return real[int(rng.integers(len(real)))]
        return pool[int(rng.integers(len(pool)))]

    first = one()
    kind = rng.uniform()
    if kind < mix.single_share:
        return (first,)
    if kind < mix.single_share + mix.mixed_share:
        return first, one()
    return first, first


def _save(case, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_image(case.image.data, case.image, folder / f"{case.metadata['contrast'][0]}.nii.gz")
    save_labels(case.labels.data, case.labels, folder / "labels.nii.gz")
    write_text_atomically(folder / "metadata.json", json.dumps(case.metadata, indent=2) + "\n")


CSV_COLUMNS = ("case_id", "folder", "protocol", "contrast", "slices", "voxel_size_mm", "shape", "legs", "health")


def _write_csv(cases: list[dict[str, Any]], path: Path) -> None:
    with atomic_text_file(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for meta in cases:
            writer.writerow({"case_id": meta["case_id"], "folder": meta["case_id"], "protocol": meta["protocol"],
                             "contrast": meta["contrast"][0], "slices": meta["slices"],
                             "voxel_size_mm": "x".join(f"{s:g}" for s in meta["voxel_size_mm"]),
                             "shape": "x".join(str(s) for s in meta["shape"]), "legs": meta["legs"],
                             "health": meta["health"]})
