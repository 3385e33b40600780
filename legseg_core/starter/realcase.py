"""The real-scan check of the starter models: reference labels per leg and a one-leg correction.

The real labelled case (``shared/data/calf-qmritools``) holds both legs. To show the
correct-and-fine-tune loop, one leg is "corrected" (its reference labels replace the prediction
there) and the other leg is scored before and after fine-tuning. Legs are split at the x column
halfway between the two legs' reference muscle centroids (x runs from the patient's right to
left, so the right leg lies at smaller x). All arrays are ``[z, y, x]`` uint8 labels 0..7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from legseg_core.atomic import write_text_atomically
from legseg_core.errors import ImageValueError
from legseg_core.io import check_same_grid, load_labels, load_volume, save_labels
from legseg_core.io.relabel import KNOWN_MAPPINGS, remap_labels

LEGS = ("right", "left")


def leg_split_column(reference: np.ndarray, right_mask: np.ndarray) -> int:
    """The x index between the legs: halfway between the right- and left-leg muscle centroids."""
    left_mask = (reference > 0) & ~right_mask
    if not right_mask.any() or not left_mask.any():
        raise ImageValueError("the reference labels do not hold muscles on both legs; cannot split the legs")
    right_x = np.nonzero(right_mask)[2].mean()
    left_x = np.nonzero(left_mask)[2].mean()
    return int(round((right_x + left_x) / 2.0))


def leg_only(labels: np.ndarray, split: int, leg: str) -> np.ndarray:
    """A copy of ``labels`` with every voxel outside ``leg`` set to background."""
    if leg not in LEGS:
        raise ImageValueError(f"leg {leg!r} is unknown; choose right or left")
    kept = np.zeros_like(labels)
    columns = slice(None, split) if leg == "right" else slice(split, None)
    kept[:, :, columns] = labels[:, :, columns]
    return kept


def corrected(prediction: np.ndarray, reference: np.ndarray, split: int, leg: str) -> np.ndarray:
    """The prediction with ``leg`` replaced by the reference there (the expert's correction)."""
    other = "left" if leg == "right" else "right"
    return leg_only(prediction, split, other) + leg_only(reference, split, leg)


def prepare_reference(scan: str | Path, raw_labels: str | Path, out_dir: str | Path,
                      mapping: str = "qmritools-calf") -> dict[str, Path]:
    """Write ``reference.nii.gz`` (ids 0..7), ``reference_right.nii.gz`` and ``reference_left.nii.gz``."""
    image = load_volume(scan)
    raw = load_volume(raw_labels)
    check_same_grid(image, raw, what=f"labels {raw_labels}")
    table = KNOWN_MAPPINGS[mapping]
    reference = remap_labels(raw.data, table)
    right_values = [value for value in table if value % 2 == 1]
    split = leg_split_column(reference, np.isin(raw.data, right_values))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"reference": out_dir / "reference.nii.gz"}
    save_labels(reference, image, paths["reference"])
    for leg in LEGS:
        paths[f"reference_{leg}"] = out_dir / f"reference_{leg}.nii.gz"
        save_labels(leg_only(reference, split, leg), image, paths[f"reference_{leg}"])
    write_text_atomically(out_dir / "leg_split_x.txt", f"{split}\n")
    return paths


def split_prediction(scan: str | Path, prediction: str | Path, reference: str | Path, out_dir: str | Path,
                     *, corrected_leg: str = "right") -> dict[str, Path]:
    """Write the prediction's two legs, and the prediction corrected on ``corrected_leg``, as NIfTI."""
    image = load_volume(scan)
    predicted, truth = load_labels(prediction, image).data, load_labels(reference, image).data
    split = int((Path(out_dir) / "leg_split_x.txt").read_text().strip()) \
        if (Path(out_dir) / "leg_split_x.txt").is_file() else leg_split_column(truth, _right_of(truth))
    stem = Path(prediction).name.split(".")[0]
    paths = {leg: Path(out_dir) / f"{stem}_{leg}.nii.gz" for leg in LEGS}
    for leg in LEGS:
        save_labels(leg_only(predicted, split, leg), image, paths[leg])
    paths["corrected"] = Path(out_dir) / f"{stem}_corrected_{corrected_leg}.nii.gz"
    save_labels(corrected(predicted, truth, split, corrected_leg), image, paths["corrected"])
    return paths


def _right_of(reference: np.ndarray) -> np.ndarray:
    """Without a recorded split: the muscles left of the image's middle column are the right leg."""
    mask = np.zeros(reference.shape, dtype=bool)
    mask[:, :, : reference.shape[2] // 2] = reference[:, :, : reference.shape[2] // 2] > 0
    return mask


def crop_leg(scan: str | Path, reference: str | Path, out_dir: str | Path, *, leg: str = "right",
             split: int | None = None) -> dict[str, Path]:
    """Write ``leg`` alone as a one-leg case: the scan's and the reference's x columns of that leg.

    The crop keeps the spacing; its origin is set to (0, 0, 0) mm, since it serves as a training
    case (a corrected leg on its own), not as an overlay of the source. Returns the two paths.
    """
    from legseg_core.io import Volume, save_image

    image = load_volume(scan)
    truth = load_labels(reference, image).data
    if split is None:
        recorded = Path(out_dir) / "leg_split_x.txt"
        split = int(recorded.read_text().strip()) if recorded.is_file() else leg_split_column(truth, _right_of(truth))
    columns = slice(None, split) if leg == "right" else slice(split, None)
    cropped = Volume.from_array(np.ascontiguousarray(image.data[:, :, columns]), image.spacing)
    paths = {"scan": Path(out_dir) / f"{leg}_leg_scan.nii.gz", "labels": Path(out_dir) / f"{leg}_leg_labels.nii.gz"}
    save_image(cropped.data.astype(np.float32), cropped, paths["scan"])
    save_labels(np.ascontiguousarray(truth[:, :, columns]), cropped, paths["labels"])
    return paths
