"""One synthetic training case from one or two leg templates.

Geometry: every leg gets its own in-plane rotation, anisotropic scaling and a smooth random
displacement field; a left leg is the template mirrored. The legs are placed side by side in a
field of view with random margins, the right leg at smaller x (the canonical axes of
:mod:`legseg_core.io`). Along z a window is cut from the templates: most of the leg (a whole
lower-leg protocol) or a slab of 16 to 48 slices, at any level between ankle and knee.

Proportions: with ``muscle_resize`` each leg's muscles are first scaled one by one
(:mod:`legseg_core.synth.reshape`), so that the muscles' sizes relative to each other vary too.

Sampling: the tissue classes are looked up (nearest neighbour) on a grid ``supersample`` times
finer in-plane with two sub-slices per slice; intensities are assigned there and averaged down
to the acquisition grid (partial volume); labels are the most frequent label of each voxel's
sub-samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from legseg_core.io import Volume
from legseg_core.labels import MUSCLE_ABBRS, NUM_CLASSES
from legseg_core.phantom.acquisition import add_rician_noise
from legseg_core.phantom.tissue import AIR, LABEL_OF_CLASS, MUSCLE_FIRST
from legseg_core.synth import appearance
from legseg_core.synth.reshape import resize_muscles
from legseg_core.synth.templates import Template

SUB_SLICES = 2
#: In-plane voxels at least this large (mm) are simulated on a finer grid; smaller ones are fine enough.
SUPERSAMPLE_FROM_MM = 1.1


@dataclass(frozen=True)
class SynthesisSettings:
    """Ranges of every random choice of :func:`synthesize_case` (mm, degrees, probabilities)."""

    pixel_mm: tuple[float, float] = (0.5, 3.0)
    slice_mm: tuple[float, float] = (3.0, 10.0)
    slab_slices: tuple[int, int] = (16, 48)
    whole_leg_probability: float = 0.35
    rotation_degrees: float = 15.0
    scale: tuple[float, float] = (0.85, 1.2)
    elastic_mm: float = 5.0
    random_contrast_probability: float = 0.4
    class_jitter: float = 0.25
    muscle_jitter: float = 0.12
    leg_jitter: float = 0.08
    texture: tuple[float, float] = (0.0, 0.15)
    fat_infiltration_probability: float = 0.3
    fat_suppression_failure_probability: float = 0.25
    boundary_line_probability: float = 0.0
    streak_probability: float = 0.0
    faint_septum_probability: float = 0.0
    alike_muscle_probability: float = 0.0
    muscle_resize: float = 0.0
    bias: float = 0.4
    local_shading_probability: float = 0.0
    compartment_probability: float = 0.0
    blur_voxels: tuple[float, float] = (0.0, 0.8)
    gamma: tuple[float, float] = (0.75, 1.35)
    snr: tuple[float, float] = (6.0, 50.0)
    gap_mm: tuple[float, float] = (4.0, 60.0)
    margin_mm: tuple[float, float] = (8.0, 50.0)
    supersample: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A synthetic scan (float32) and its labels (uint8 ids 0..7) on one grid, with what made them."""

    image: Volume
    labels: Volume
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pose:
    """Where one leg goes: centre (y, x) mm in the field of view, rotation, scale (y, x), mirror."""

    centre: tuple[float, float]
    angle: float
    scale: tuple[float, float]
    mirror: bool


def synthesize_case(rng: np.random.Generator, templates: tuple[Template, ...] | list[Template],
                    settings: SynthesisSettings = SynthesisSettings(), *, case_id: str = "synthetic") -> SyntheticCase:
    """One case: ``templates`` holds one leg (a single-leg scan) or two (right, then left)."""
    templates = tuple(templates)
    pixel = float(np.exp(rng.uniform(*np.log(settings.pixel_mm))))
    thickness = float(rng.uniform(*settings.slice_mm))
    windows, slices = _z_windows(rng, templates, thickness, settings)
    poses, fov = _poses(rng, templates, settings)
    sub = settings.supersample if pixel >= SUPERSAMPLE_FROM_MM else 1
    shape = (slices * SUB_SLICES, int(round(fov[0] / pixel)) * sub, int(round(fov[1] / pixel)) * sub)
    tissue = np.zeros(shape, dtype=np.uint8)
    for template, pose, window in zip(templates, poses, windows):
        template = resize_muscles(rng, template, settings.muscle_resize)
        _place(rng, tissue, template, pose, window, pixel / sub, settings)
    contrast = appearance.RANDOM_CONTRAST if rng.uniform() < settings.random_contrast_probability \
        else str(rng.choice(appearance.PRIOR_CONTRASTS))
    middle = int(sum(p.centre[1] for p in poses) / len(poses) / (pixel / sub)) if len(poses) > 1 else shape[2]
    image, fat = _intensities(rng, tissue, middle, contrast, settings, pixel / sub)
    image = _acquire(rng, _block_mean(image, sub), pixel, settings)
    labels = _block_mode(LABEL_OF_CLASS[tissue], sub)
    spacing = (thickness, pixel, pixel)
    metadata = _metadata(case_id, templates, windows, contrast, spacing, labels, fat, len(templates))
    return SyntheticCase(Volume.from_array(image, spacing, name=contrast),
                         Volume.from_array(labels, spacing, name="labels"), metadata)


def _z_windows(rng, templates, thickness, settings) -> tuple[list[tuple[float, float]], int]:
    """Per template the (first, last) height in mm of the cut window, and the slice count."""
    shortest = min(float(t.extent_mm[0]) for t in templates)
    if rng.uniform() < settings.whole_leg_probability:
        length = shortest * rng.uniform(0.7, 1.0)
    else:
        length = thickness * rng.integers(settings.slab_slices[0], settings.slab_slices[1] + 1)
    slices = int(np.clip(round(min(length, shortest) / thickness), 12, 200))
    length = slices * thickness
    start = float(rng.uniform(0.0, 1.0))
    windows = []
    for template in templates:
        room = float(template.extent_mm[0]) - length
        first = start * room if room > 0 else room / 2  # a window longer than the leg is centred on it
        windows.append((first, first + length))
    return windows, slices


def _poses(rng, templates, settings) -> tuple[list[_Pose], tuple[float, float]]:
    """Poses of the legs (right at smaller x) and the field of view (y, x) in mm."""
    sizes, poses_raw = [], []
    for index, template in enumerate(templates):
        scale = tuple(float(s) for s in rng.uniform(*settings.scale, 2))
        angle = float(rng.uniform(-settings.rotation_degrees, settings.rotation_degrees))
        extent = template.extent_mm[1:] * np.asarray(scale)
        reach = float(np.hypot(*extent)) / 2 + settings.elastic_mm
        sizes.append(reach)
        mirror = index == 1 or (len(templates) == 1 and rng.uniform() < 0.5)
        poses_raw.append((angle, scale, mirror))
    margin = float(rng.uniform(*settings.margin_mm))
    gap = float(rng.uniform(*settings.gap_mm)) - 0.25 * sum(sizes) / len(sizes)
    height = 2 * max(sizes) + 2 * margin
    if len(templates) == 1:
        # Clearly on its own side of a wide field of view, so that the preprocessing knows which leg it is
        # (a centred single leg is taken as a right leg: a mirrored left leg would teach mirrored anatomy).
        width = (2 * sizes[0] + 2 * margin) * rng.uniform(2.0, 2.6)
        offset = min(rng.uniform(0.24, 0.3) * width, width / 2 - sizes[0])
        centres = [(height / 2, width / 2 + (offset if poses_raw[0][2] else -offset))]
    else:
        width = 2 * margin + 2 * sizes[0] + 2 * sizes[1] + gap
        shift = rng.uniform(-0.15, 0.15, 2) * max(sizes)
        centres = [(height / 2 + shift[0], margin + sizes[0]), (height / 2 + shift[1], width - margin - sizes[1])]
    poses = [_Pose(c, a, s, m) for c, (a, s, m) in zip(centres, poses_raw)]
    return poses, (height, width)


def _place(rng, tissue: np.ndarray, template: Template, pose: _Pose, window, step: float, settings) -> None:
    """Write one leg's tissue classes into ``tissue`` (the fine grid) where it is still air."""
    reach = float(np.hypot(*(template.extent_mm[1:] * np.asarray(pose.scale)))) / 2 + settings.elastic_mm
    rows = _span(pose.centre[0], reach, step, tissue.shape[1])
    cols = _span(pose.centre[1], reach, step, tissue.shape[2])
    y = (np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5) * step - pose.centre[0]
    x = (np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5) * step - pose.centre[1]
    if pose.mirror:
        x = -x
    cos, sin = np.float32(np.cos(np.radians(pose.angle))), np.float32(np.sin(np.radians(pose.angle)))
    ty = (cos * y[:, None] - sin * x[None, :]) / np.float32(pose.scale[0])
    tx = (sin * y[:, None] + cos * x[None, :]) / np.float32(pose.scale[1])
    count = tissue.shape[0]
    z = np.linspace(window[0], window[1], count, endpoint=False, dtype=np.float32) + (window[1] - window[0]) / count / 2
    shape = (count, ty.shape[0], ty.shape[1])
    cells = (max(2, int(template.extent_mm[0] // 60) + 2), 5, 5)
    shift = [appearance.smooth_noise(rng, shape, cells) * np.float32(settings.elastic_mm / 2) for _ in range(2)]
    centre = template.extent_mm / 2
    coords = np.empty((3, *shape), dtype=np.float32)
    coords[0] = (z / np.float32(template.spacing[0]) - 0.5)[:, None, None]
    coords[1] = (ty[None] + shift[0] + np.float32(centre[1])) / np.float32(template.spacing[1]) - 0.5
    coords[2] = (tx[None] + shift[1] + np.float32(centre[2])) / np.float32(template.spacing[2]) - 0.5
    leg = ndimage.map_coordinates(template.tissue, coords, order=0, mode="constant", cval=AIR)
    target = tissue[:, rows, cols]
    free = target == AIR
    target[free] = leg[free]


def _span(centre: float, reach: float, step: float, size: int) -> slice:
    return slice(max(0, int((centre - reach) / step)), min(size, int(np.ceil((centre + reach) / step))))


def _intensities(rng, tissue: np.ndarray, middle: int, contrast: str, settings,
                 step_mm: float) -> tuple[np.ndarray, dict[int, float]]:
    """The noise-free image on the fine grid of ``step_mm`` voxels (legs apart at column ``middle``), and the
    fat fraction given to each muscle class."""
    alike = bool(settings.alike_muscle_probability) and rng.uniform() < settings.alike_muscle_probability
    table = appearance.class_table(rng, contrast, settings.class_jitter,
                                   appearance.ALIKE_MUSCLE_JITTER if alike else settings.muscle_jitter)
    if settings.faint_septum_probability and rng.uniform() < settings.faint_septum_probability:
        appearance.faint_septa(rng, table)
    image = np.zeros(tissue.shape, dtype=np.float32)
    legs = tuple(c for c in (slice(0, middle), slice(middle, tissue.shape[2])) if c.stop > c.start)
    for columns in legs:
        image[:, :, columns] = appearance.leg_table(rng, table, settings.leg_jitter)[tissue[:, :, columns]]
    fat: dict[int, float] = {}
    if rng.uniform() < settings.fat_infiltration_probability:
        fat = appearance.fat_infiltration(rng, tissue, image, table, float(rng.uniform(0.2, 0.8)))
    if (contrast in appearance.FAT_SUPPRESSED or contrast == appearance.RANDOM_CONTRAST) \
            and rng.uniform() < settings.fat_suppression_failure_probability:
        appearance.fat_suppression_failure(rng, tissue, image)
    if settings.streak_probability and rng.uniform() < settings.streak_probability:
        appearance.muscle_streaks(rng, tissue, image, table)
    # drawn only when asked for, so that cohorts made without it stay as they were, seed for seed
    if settings.compartment_probability and rng.uniform() < settings.compartment_probability:
        appearance.muscle_compartments(rng, tissue, image, table, step_mm, legs)
    if settings.boundary_line_probability and rng.uniform() < settings.boundary_line_probability:
        appearance.boundary_lines(rng, tissue, image)
    image = appearance.texture(rng, image, float(rng.uniform(*settings.texture)))
    image[tissue == AIR] = 0.0
    return image, fat


def _block_mean(image: np.ndarray, sub: int) -> np.ndarray:
    z, y, x = image.shape
    return image.reshape(z // SUB_SLICES, SUB_SLICES, y // sub, sub, x // sub, sub).mean(axis=(1, 3, 5),
                                                                                        dtype=np.float32)


def _block_mode(labels: np.ndarray, sub: int) -> np.ndarray:
    z, y, x = labels.shape
    best = np.zeros((z // SUB_SLICES, y // sub, x // sub), dtype=np.int16)
    out = np.zeros(best.shape, dtype=np.uint8)
    for label in range(NUM_CLASSES):
        count = (labels == label).reshape(z // SUB_SLICES, SUB_SLICES, y // sub, sub, x // sub, sub).sum(
            axis=(1, 3, 5), dtype=np.int16)
        better = count > best
        best[better], out[better] = count[better], label
    return out


def _acquire(rng, image: np.ndarray, pixel_mm: float, settings) -> np.ndarray:
    """Blur, bias field (and, by chance, a local shading), gamma and Rician noise on the acquisition grid
    of ``pixel_mm`` in-plane voxels."""
    blur = float(rng.uniform(*settings.blur_voxels))
    if blur > 0.05:
        image = ndimage.gaussian_filter(image, (0, blur, blur)).astype(np.float32)
    image *= appearance.bias_field(rng, image.shape, float(rng.uniform(0, settings.bias)))
    # drawn only when asked for, so that cohorts made without it stay as they were, seed for seed
    if settings.local_shading_probability > 0 and rng.uniform() < settings.local_shading_probability:
        image *= appearance.bias_field(rng, image.shape, float(rng.uniform(0.2, 1.0)) * appearance.LOCAL_SHADING_STRENGTH,
                                       appearance.local_shading_cells(image.shape, pixel_mm))
    top = float(np.percentile(image, 99.5)) or 1.0
    image = np.clip(image / np.float32(top), 0, None) ** np.float32(rng.uniform(*settings.gamma))
    body = image[image > 0.05]
    level = float(np.median(body)) if body.size else 1.0
    image = add_rician_noise(rng, image, level / float(rng.uniform(*settings.snr)))
    return (image * np.float32(1000.0)).astype(np.float32)


def _metadata(case_id, templates, windows, contrast, spacing, labels, fat, legs) -> dict[str, Any]:
    voxel_ml = float(np.prod(spacing)) / 1000.0
    counts = np.bincount(labels.ravel(), minlength=NUM_CLASSES)
    return {
        "case_id": case_id, "protocol": "synthetic", "contrast": [contrast], "slices": int(labels.shape[0]),
        "voxel_size_mm": [round(float(s), 4) for s in spacing], "shape": list(labels.shape),
        "legs": "both" if legs == 2 else "single", "health": "patient" if fat else "healthy",
        "templates": [t.source for t in templates],
        "window_mm": [[round(a, 1), round(b, 1)] for a, b in windows],
        "fat_fraction": {MUSCLE_ABBRS[cls - MUSCLE_FIRST]: round(v, 3) for cls, v in fat.items()},
        "volume_ml": {abbr: round(float(counts[i + 1]) * voxel_ml, 2) for i, abbr in enumerate(MUSCLE_ABBRS)},
    }
