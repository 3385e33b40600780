"""Reference and prediction files: case ids, matching two folders, loading pairs on one grid.

**Case id rule.** A file's case id is its name without ``.nii.gz`` or ``.nii``, then without
one trailing role suffix if it has one: ``_labels``, ``_label``, ``_seg``, ``_segmentation``,
``_pred``, ``_prediction``, ``_manual``, ``_reference``, ``_ref``, ``_mask``, ``_image``,
``_img`` or nnU-Net's channel suffix ``_0000`` (also with ``-`` or ``.`` in place of ``_``;
letter case ignored). So ``case07_labels.nii.gz``, ``case07_pred.nii`` and ``case07.nii.gz``
all have the case id ``case07``. Files of a folder are matched across folders by case id;
other files (not NIfTI) are ignored, and two files with one case id in one folder are refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from legseg_core.errors import InputPathError
from legseg_core.evaluation.errors import EvaluationError
from legseg_core.evaluation.metrics import CaseScores, evaluate_labels
from legseg_core.io import Volume, check_same_grid, load_labels
from legseg_core.progress import Progress, ProgressWork

log = logging.getLogger(__name__)

ROLE_SUFFIXES: tuple[str, ...] = ("labels", "label", "segmentation", "seg", "prediction", "pred", "manual",
                                  "reference", "ref", "mask", "image", "img", "0000")
_SUFFIX_PATTERN = re.compile(r"[_.-](" + "|".join(ROLE_SUFFIXES) + r")$", re.IGNORECASE)


def case_id(path: str | Path) -> str:
    """The case id of a file name (see the module docstring for the rule)."""
    name = Path(path).name
    for extension in (".nii.gz", ".nii"):
        if name.lower().endswith(extension):
            name = name[: -len(extension)]
            break
    stripped = _SUFFIX_PATTERN.sub("", name)
    return stripped or name


def is_nifti_file(path: Path) -> bool:
    """True for a file whose name ends in .nii or .nii.gz."""
    return path.is_file() and path.name.lower().endswith((".nii", ".nii.gz"))


def case_files(folder: str | Path) -> dict[str, Path]:
    """Case id -> NIfTI file of a folder; refuses an empty folder and duplicate case ids."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputPathError(f"{folder}: not a folder")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not is_nifti_file(path):
            continue
        key = case_id(path)
        if key in files:
            raise EvaluationError(f"{folder}: {files[key].name} and {path.name} have the same case id {key!r}")
        files[key] = path
    if not files:
        raise InputPathError(f"{folder}: no NIfTI files (.nii, .nii.gz) in this folder")
    return files


@dataclass(frozen=True)
class CaseSet:
    """Matched files: case id -> one path per source (reference first), plus cases left out."""

    paths: dict[str, tuple[Path, ...]]
    unmatched: dict[str, tuple[str, ...]]

    @property
    def case_ids(self) -> list[str]:
        """The matched case ids, sorted."""
        return sorted(self.paths)


def match_cases(sources: Sequence[str | Path]) -> CaseSet:
    """Match files across sources by case id: all files, or all folders (a file pairs with files).

    Cases missing from some source are left out, logged and listed in ``unmatched`` (case id ->
    the sources that lack it); no case in common is an error.
    """
    paths = [Path(s) for s in sources]
    for path in paths:
        if not path.exists():
            raise InputPathError(f"{path}: no such file or folder")
    kinds = {path.is_dir() for path in paths}
    if kinds == {False}:
        return CaseSet({case_id(paths[0]): tuple(paths)}, {})
    if kinds != {True}:
        raise InputPathError("give either files or folders, not both: " + ", ".join(str(p) for p in paths))
    tables = [case_files(path) for path in paths]
    common = set(tables[0]).intersection(*tables[1:])
    every = set().union(*tables)
    unmatched = {key: tuple(str(p) for p, t in zip(paths, tables) if key not in t) for key in sorted(every - common)}
    if not common:
        raise EvaluationError("no case id is found in every folder (" + ", ".join(str(p) for p in paths)
                              + f"); see the case id rule in `legseg evaluate --help`; ids found: {sorted(every)[:10]}")
    for key, missing in unmatched.items():
        log.warning("case %s is missing from %s and is left out", key, ", ".join(missing))
    return CaseSet({key: tuple(t[key] for t in tables) for key in sorted(common)}, unmatched)


def resample_nearest(labels: Volume, target: Volume) -> Volume:
    """``labels`` resampled by nearest neighbour onto ``target``'s grid (world coordinates); 0 outside."""
    to_source = np.linalg.inv(labels.affine) @ target.affine  # target (x, y, z) index -> labels (x, y, z) index
    flip = np.eye(4)[[2, 1, 0, 3]]  # (x, y, z) <-> [z, y, x] index order
    matrix = flip @ to_source @ flip
    data = ndimage.affine_transform(labels.data, matrix[:3, :3], offset=matrix[:3, 3], output_shape=target.shape,
                                    order=0, mode="constant", cval=0)
    return target.with_data(data.astype(np.uint8))


def load_pair(reference_path: str | Path, prediction_path: str | Path, *,
              resample: bool = False, relabel: str | None = None) -> tuple[Volume, Volume]:
    """Load reference and prediction labels (values 0..7) on the reference's grid.

    Different grids are refused (GridMismatchError with both shapes and affines) unless
    ``resample``, which resamples the prediction by nearest neighbour onto the reference grid.
    ``relabel`` names the label scheme of the reference (another tool's values).
    """
    reference = load_labels(reference_path, relabel=relabel)
    prediction = load_labels(prediction_path)
    if resample:
        if reference.shape != prediction.shape or not np.allclose(reference.affine, prediction.affine, atol=1e-3):
            log.info("resampling %s onto the grid of %s", prediction_path, reference_path)
            prediction = resample_nearest(prediction, reference)
    else:
        check_same_grid(reference, prediction, what=f"prediction {prediction_path}")
    return reference, prediction


def evaluate_pair_files(reference_path: str | Path, prediction_path: str | Path, *, resample: bool = False,
                        key: str | None = None, relabel: str | None = None, leg: str | None = None) -> CaseScores:
    """Scores of one reference / prediction file pair (see :func:`load_pair`).

    ``leg`` (right or left) scores one leg: both label maps keep only the voxels of that leg, the
    legs parted where the reference's muscles part (:func:`legseg_core.evaluation.legs.split_labels`).
    """
    reference, prediction = load_pair(reference_path, prediction_path, resample=resample, relabel=relabel)
    if leg is not None:
        reference, prediction = _one_leg(reference, prediction, leg, reference_path)
    return evaluate_labels(reference.data, prediction.data, reference.spacing,
                           case_id=key or case_id(reference_path), reference_file=str(reference_path),
                           prediction_file=str(prediction_path))


def _one_leg(reference: Volume, prediction: Volume, leg: str, path: str | Path) -> tuple[Volume, Volume]:
    from legseg_core.evaluation.legs import split_labels

    split = split_labels(reference.data)
    if leg not in split.sides:
        raise EvaluationError(f"{path}: the reference shows the {' and '.join(split.sides)} leg only, not the {leg} "
                              f"one ({split.method})")
    return (reference.with_data(split.leg_labels(reference.data, leg)),
            prediction.with_data(split.leg_labels(prediction.data, leg)))


def evaluate_cases(cases: CaseSet, *, model_index: int = 1, resample: bool = False,
                   relabel: str | None = None, leg: str | None = None) -> ProgressWork[list[CaseScores]]:
    """Score source ``model_index`` of every matched case against source 0; yields Progress per case.

    ``leg`` scores one leg of each case (see :func:`evaluate_pair_files`).
    """
    results = []
    total = len(cases.paths)
    for done, key in enumerate(cases.case_ids):
        yield Progress(done, total, f"case {key}")
        paths = cases.paths[key]
        results.append(evaluate_pair_files(paths[0], paths[model_index], resample=resample, key=key,
                                           relabel=relabel, leg=leg))
    yield Progress(total, total, "done")
    return results
