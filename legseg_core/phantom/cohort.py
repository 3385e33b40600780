"""A cohort of synthetic cases on disk, with its ``metadata.csv``.

:func:`generate_cohort` is long work: a generator that yields one
:class:`~legseg_core.progress.Progress` per case and returns the list of case metadata. The
mix of protocols, health states, legs, slice counts and contrast sets is allocated in
proportion to the :class:`CohortMix` weights (largest remainder, then shuffled by the seed),
so a cohort of 20 with the default mix holds both protocols, healthy and patient cases and
every contrast set, and every diagnosis appears before any repeats.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.atomic import atomic_text_file
from legseg_core.errors import InputPathError
from legseg_core.labels import MUSCLE_ABBRS
from legseg_core.phantom.case import make_case
from legseg_core.phantom.contrast import CONTRASTS
from legseg_core.phantom.disease import DIAGNOSES
from legseg_core.phantom.grid import PROTOCOLS, SIZES
from legseg_core.phantom.validation import LEG_CHOICES, PhantomParameterError, check_seed
from legseg_core.progress import Progress, ProgressWork

logger = logging.getLogger(__name__)

Weights = tuple[tuple[str, float], ...]
DIXON = ("dixon_water", "dixon_fat")


@dataclass(frozen=True)
class CohortMix:
    """Relative weights of each kind of case, and the contrast sets used per protocol."""

    protocols: Weights = (("A", 1.0), ("B", 1.0))
    health: Weights = (("healthy", 1.0), ("patient", 1.0))
    legs: Weights = (("both", 0.85), ("right", 0.075), ("left", 0.075))
    b_slices: Weights = (("25", 1.0), ("45", 1.0))
    contrasts_a: tuple[tuple[str, ...], ...] = (("t1w",), ("t1w", "t2w"), ("pd",), ("t2w",))
    contrasts_b: tuple[tuple[str, ...], ...] = (DIXON, (*DIXON, "dixon_in_phase", "dixon_opposed_phase"),
                                                ("diffusion",), (*DIXON, "diffusion"))
    size: str = "default"
    randomize_intensity: bool = False

    @classmethod
    def parse(cls, text: str, base: "CohortMix | None" = None) -> "CohortMix":
        """Read ``'protocol=A:1,B:2;health=healthy:1,patient:1;legs=both:1;slices=25:1,45:1;size=tiny;
        contrasts_a=t1w|t1w+t2w;contrasts_b=dixon_water+dixon_fat;randomize=yes'`` (any subset)."""
        mix = base or cls()
        for item in filter(None, (part.strip() for part in text.split(";"))):
            key, _, value = item.partition("=")
            mix = _apply(mix, key.strip(), value.strip(), item)
        mix.check()
        return mix

    def check(self) -> None:
        """Raise :class:`PhantomParameterError` if a name is unknown or a weight is not positive."""
        for what, weights, choices in (("protocol", self.protocols, PROTOCOLS), ("health", self.health,
                                       ("healthy", "patient")), ("legs", self.legs, LEG_CHOICES),
                                       ("slices", self.b_slices, None)):
            if not weights or any(w < 0 for _, w in weights) or sum(w for _, w in weights) <= 0:
                raise PhantomParameterError(f"mix {what}: weights must be >= 0 with a positive sum, got {weights}")
            for name, _ in weights:
                if choices is not None and name not in choices:
                    raise PhantomParameterError(f"mix {what}: unknown {name!r}; choose from {', '.join(choices)}")
                if choices is None and not name.isdigit():
                    raise PhantomParameterError(f"mix slices: {name!r} is not a slice count")
        for contrast in (c for sets in (self.contrasts_a, self.contrasts_b) for group in sets for c in group):
            if contrast not in CONTRASTS:
                raise PhantomParameterError(f"mix: unknown contrast {contrast!r}; choose from {', '.join(CONTRASTS)}")
        if self.size not in SIZES:
            raise PhantomParameterError(f"mix: unknown size {self.size!r}; choose from {', '.join(SIZES)}")


DEFAULT_MIX = CohortMix()


def _apply(mix: CohortMix, key: str, value: str, item: str) -> CohortMix:
    """One ``key=value`` of a mix string applied to ``mix``."""
    if key in ("protocol", "protocols", "health", "legs", "slices"):
        field = {"protocol": "protocols", "protocols": "protocols", "slices": "b_slices"}.get(key, key)
        return replace(mix, **{field: _weights(value, item)})
    if key in ("contrasts_a", "contrasts_b"):
        sets = tuple(tuple(c.strip() for c in group.split("+") if c.strip()) for group in value.split("|"))
        if not all(sets):
            raise PhantomParameterError(f"mix {item!r}: empty contrast set")
        return replace(mix, **{key: sets})
    if key == "size":
        return replace(mix, size=value)
    if key == "randomize":
        if value.lower() not in ("yes", "no", "true", "false", "1", "0"):
            raise PhantomParameterError(f"mix {item!r}: randomize must be yes or no")
        return replace(mix, randomize_intensity=value.lower() in ("yes", "true", "1"))
    raise PhantomParameterError(f"mix {item!r}: unknown key {key!r}; use protocol, health, legs, slices, size, "
                                "contrasts_a, contrasts_b or randomize")


def _weights(value: str, item: str) -> Weights:
    pairs = []
    for piece in filter(None, (p.strip() for p in value.split(","))):
        name, _, weight = piece.partition(":")
        try:
            pairs.append((name.strip(), float(weight) if weight else 1.0))
        except ValueError:
            raise PhantomParameterError(f"mix {item!r}: weight {weight!r} of {name!r} is not a number") from None
    return tuple(pairs)


def allocate(weights: Weights, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` choices in proportion to the weights (largest remainder), in random order."""
    names = [n for n, _ in weights]
    shares = np.array([w for _, w in weights], dtype=float)
    exact = shares / shares.sum() * count
    counts = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - counts), kind="stable")[: count - counts.sum()]:
        counts[index] += 1
    chosen = [name for name, k in zip(names, counts) for _ in range(k)]
    rng.shuffle(chosen)
    return chosen


def plan_cohort(n: int, seed: int, mix: CohortMix | str = DEFAULT_MIX) -> list[dict[str, Any]]:
    """The options of every case of a cohort (make_case keyword arguments plus case_id).

    ``mix`` is a :class:`CohortMix` or its text form (see :meth:`CohortMix.parse`).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise PhantomParameterError(f"a cohort needs a whole number of cases >= 1, got {n!r}")
    seed = check_seed(seed)
    mix = CohortMix.parse(mix) if isinstance(mix, str) else mix
    mix.check()
    rng = np.random.default_rng([int(seed), 99])
    protocols, health, legs = (allocate(w, n, rng) for w in (mix.protocols, mix.health, mix.legs))
    slices = allocate(mix.b_slices, n, rng)
    diagnoses = list(rng.permutation(DIAGNOSES))
    plans, used = [], {"A": 0, "B": 0}
    for index in range(n):
        protocol = protocols[index]
        sets = mix.contrasts_a if protocol == "A" else mix.contrasts_b
        contrasts = sets[used[protocol] % len(sets)]
        used[protocol] += 1
        patient = health[index] == "patient"
        plans.append(dict(
            case_id=f"case{index:03d}", seed=int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0]),
            protocol=protocol, slices=int(slices[index]) if protocol == "B" else None, contrasts=contrasts,
            health=health[index], diagnosis=str(diagnoses.pop(0)) if patient else None, legs=legs[index],
            size=mix.size, randomize_intensity=mix.randomize_intensity))
        if not diagnoses:
            diagnoses = list(rng.permutation(DIAGNOSES))
    return plans


def generate_cohort(n: int, out_dir: str | Path, seed: int = 0,
                    mix: CohortMix | str = DEFAULT_MIX) -> ProgressWork[list[dict[str, Any]]]:
    """Write ``n`` cases under ``out_dir/<case_id>/`` and ``out_dir/metadata.csv``; yield progress.

    Each case folder holds one ``<contrast>.nii.gz`` per contrast, ``labels.nii.gz`` and
    ``metadata.json``. The csv is rewritten after every case, so a cancelled run leaves a
    consistent table of the cases written so far. Returns the list of case metadata.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputPathError(f"{out_dir}: exists and is not a folder")
    plans = plan_cohort(n, seed, mix)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[dict[str, Any]] = []
    yield Progress(0, n, "starting")
    for index, options in enumerate(plans):
        case = make_case(**options)
        case.save(out_dir / options["case_id"])
        written.append(case.metadata)
        write_metadata_csv(written, out_dir / "metadata.csv")
        logger.info("cohort case %s written", options["case_id"])
        yield Progress(index + 1, n, options["case_id"], {"protocol": options["protocol"],
                                                         "health": options["health"]})
    return written


CSV_COLUMNS = ("case_id", "folder", "seed", "protocol", "contrast", "slices", "voxel_size_mm", "shape", "legs",
               "size", "health", "diagnosis", "severity", "randomize_intensity",
               *(f"fat_fraction_{m}" for m in MUSCLE_ABBRS), *(f"volume_ml_{m}" for m in MUSCLE_ABBRS))


def write_metadata_csv(cases: list[dict[str, Any]], path: str | Path) -> Path:
    """Write one row per case: acquisition, health, fat fraction and volume per muscle."""
    path = Path(path)
    with atomic_text_file(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for meta in cases:
            row = {key: meta.get(key, "") for key in CSV_COLUMNS}
            row.update(folder=meta["case_id"], diagnosis=meta["diagnosis"] or "",
                       voxel_size_mm="x".join(f"{s:g}" for s in meta["voxel_size_mm"]),
                       shape="x".join(str(s) for s in meta["shape"]))
            row.update({f"fat_fraction_{m}": meta["fat_fraction"][m] for m in MUSCLE_ABBRS})
            row.update({f"volume_ml_{m}": meta["volume_ml"][m] for m in MUSCLE_ABBRS})
            writer.writerow(row)
    return path
