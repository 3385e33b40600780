"""Per-muscle measurements from a label map: volume, cross-sectional area, image means, fat fraction.

Arrays are indexed ``[z, y, x]`` (z inferior -> superior, axial slices ``data[k]``); spacing is
``(z, y, x)`` mm. For each muscle id 1..7:

- ``volume_ml``: voxel count times voxel volume; ``mean_area_mm2``: the mean cross-sectional
  area over the axial slices that hold the muscle; ``area_profile_mm2``: the area in every axial
  slice ``k`` of the volume (0 where the muscle is absent), from inferior to superior.
- Image values (``images``: name -> array on the label grid): mean and SD over the muscle's
  voxels. **Naming rule:** when images named ``fat`` and ``water`` (letter case ignored) are
  both given, the fat fraction ``F / (F + W)`` is computed voxel by voxel and averaged over the
  muscle, leaving out voxels where ``F + W <= 0``; it is a fraction in 0..1 for non-negative
  Dixon magnitudes.
- ``erode`` N > 0 erodes each muscle's mask by N voxels before the image values and the fat
  fraction are taken (to avoid partial volume at its borders); volume and areas always use
  the masks as drawn. ``erode_mode`` ``"in-plane"`` (default) erodes within each axial slice
  only, because slices are thick (often 5 to 10 mm) and a 3D erosion would drop the first and
  last slices of every muscle; ``"3d"`` uses 6-connected 3D erosion. Outside the image counts
  as background.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from legseg_core.errors import GridMismatchError, ImageValueError
from legseg_core.evaluation.distances import Spacing, bounding_box
from legseg_core.evaluation.metrics import check_label_array
from legseg_core.io import Volume, check_same_grid
from legseg_core.labels import MUSCLE_BY_ID, MUSCLE_IDS, NUM_CLASSES

ErodeMode = Literal["in-plane", "3d"]
FAT_NAME, WATER_NAME = "fat", "water"


@dataclass(frozen=True)
class MuscleMeasurement:
    """Measurements of one muscle (see the module docstring for definitions and units)."""

    label: int
    voxels: int
    volume_ml: float
    mean_area_mm2: float
    slices: int
    area_profile_mm2: tuple[float, ...]
    voxels_measured: int
    image_means: dict[str, float] = field(default_factory=dict)
    image_sds: dict[str, float] = field(default_factory=dict)
    fat_fraction: float = math.nan
    fat_fraction_sd: float = math.nan

    @property
    def abbr(self) -> str:
        """The muscle's short name."""
        return MUSCLE_BY_ID[self.label].abbr

    def to_dict(self) -> dict[str, Any]:
        """Plain values with the muscle's abbreviation (NaN kept as float NaN)."""
        return {"label": self.label, "muscle": self.abbr, **{k: v for k, v in asdict(self).items() if k != "label"}}

    def flat(self) -> dict[str, Any]:
        """One CSV row: image means as ``mean_<name>`` / ``sd_<name>``, the profile as a list."""
        row = {k: v for k, v in self.to_dict().items() if k not in ("image_means", "image_sds")}
        for name in self.image_means:
            row[f"mean_{name}"], row[f"sd_{name}"] = self.image_means[name], self.image_sds[name]
        return row


def erode_labels(labels: np.ndarray, voxels: int, mode: ErodeMode = "in-plane") -> np.ndarray:
    """Each muscle's mask eroded by ``voxels`` (in-plane or 3D, 6-connected); returns a new uint8 map."""
    if voxels < 0:
        raise ImageValueError(f"erosion must be 0 or more voxels, got {voxels}")
    if mode not in ("in-plane", "3d"):
        raise ImageValueError(f"erosion mode must be 'in-plane' or '3d', got {mode!r}")
    if voxels == 0:
        return labels.copy()
    structure = ndimage.generate_binary_structure(3, 1)
    if mode == "in-plane":
        structure[0] = structure[2] = False
    eroded = np.zeros_like(labels)
    for label in MUSCLE_IDS:
        box = bounding_box(labels == label, margin=1)
        if box is None:
            continue
        mask = ndimage.binary_erosion(labels[box] == label, structure, iterations=voxels, border_value=0)
        eroded[box][mask] = label
    return eroded


def measure_labels(labels: np.ndarray, spacing: Spacing, images: Mapping[str, np.ndarray] | None = None, *,
                   erode: int = 0, erode_mode: ErodeMode = "in-plane") -> list[MuscleMeasurement]:
    """Measure every muscle of a ``[z, y, x]`` label map; ``images`` must share its shape."""
    labels = check_label_array(labels, "labels")
    images = dict(images or {})
    for name, image in images.items():
        if np.shape(image) != labels.shape:
            raise GridMismatchError(
                f"image {name!r} of shape {np.shape(image)} is not on the label grid {labels.shape}")
    slice_area = float(spacing[1]) * float(spacing[2])
    per_slice = np.bincount((np.arange(labels.shape[0])[:, None, None] * NUM_CLASSES + labels).ravel(),
                            minlength=labels.shape[0] * NUM_CLASSES).reshape(labels.shape[0], NUM_CLASSES)
    measured = erode_labels(labels, erode, erode_mode) if erode else labels
    counts = np.bincount(measured.ravel(), minlength=NUM_CLASSES)
    statistics = {name: _label_statistics(measured, np.asarray(image, dtype=float), counts)
                  for name, image in images.items()}
    fat_fraction = _fat_fraction_statistics(measured, images)
    results = []
    for label in MUSCLE_IDS:
        profile = per_slice[:, label] * slice_area
        present = int(np.count_nonzero(per_slice[:, label]))
        results.append(MuscleMeasurement(
            label=label, voxels=int(per_slice[:, label].sum()),
            volume_ml=float(per_slice[:, label].sum() * slice_area * float(spacing[0]) / 1000.0),
            mean_area_mm2=float(profile.sum() / present) if present else math.nan, slices=present,
            area_profile_mm2=tuple(float(a) for a in profile), voxels_measured=int(counts[label]),
            image_means={n: s[0][label] for n, s in statistics.items()},
            image_sds={n: s[1][label] for n, s in statistics.items()},
            fat_fraction=fat_fraction[0][label] if fat_fraction else math.nan,
            fat_fraction_sd=fat_fraction[1][label] if fat_fraction else math.nan))
    return results


def _label_statistics(labels: np.ndarray, values: np.ndarray, counts: np.ndarray,
                      ) -> tuple[list[float], list[float]]:
    """Mean and SD (ddof=0) of ``values`` per label value, NaN for labels without voxels."""
    flat_labels, flat_values = labels.ravel(), values.ravel()
    sums = np.bincount(flat_labels, weights=flat_values, minlength=NUM_CLASSES)
    squares = np.bincount(flat_labels, weights=flat_values * flat_values, minlength=NUM_CLASSES)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
        variances = np.maximum(squares / counts - means * means, 0.0)
    return [float(m) for m in means], [float(v) for v in np.sqrt(variances)]


def _fat_fraction_statistics(labels: np.ndarray, images: Mapping[str, np.ndarray],
                             ) -> tuple[list[float], list[float]] | None:
    """Mean and SD of the voxel-wise F/(F+W) per label, over voxels with F + W > 0; None without fat and water."""
    by_name = {name.lower(): image for name, image in images.items()}
    if FAT_NAME not in by_name or WATER_NAME not in by_name:
        return None
    fat = np.asarray(by_name[FAT_NAME], dtype=float)
    total = fat + np.asarray(by_name[WATER_NAME], dtype=float)
    valid = total > 0
    fraction = np.divide(fat, total, out=np.zeros_like(total), where=valid)
    valid_labels = np.where(valid, labels, 0).astype(np.uint8)
    counts = np.bincount(valid_labels.ravel(), minlength=NUM_CLASSES)
    return _label_statistics(valid_labels, fraction, counts)


def measure_volumes(labels: Volume, images: Mapping[str, Volume] | None = None, *, erode: int = 0,
                    erode_mode: ErodeMode = "in-plane") -> list[MuscleMeasurement]:
    """Measure a label Volume; every image Volume must share its grid (shape and affine) or is refused."""
    images = dict(images or {})
    for name, image in images.items():
        check_same_grid(labels, image, what=f"image {name!r} ({image.name})")
    return measure_labels(labels.data, labels.spacing, {n: v.data for n, v in images.items()},
                          erode=erode, erode_mode=erode_mode)
