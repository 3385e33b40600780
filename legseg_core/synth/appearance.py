"""How a synthetic case looks: one intensity per tissue class and muscle, texture, fat, scanner effects.

Intensities come from a contrast prior (the phantom's signal equations for T1w, T2w, PD, Dixon
water, fat, in phase and opposed phase, and diffusion, each class and each muscle then varied
around it) or are drawn fully at random per class and per muscle, so that a network learns
anatomy rather than one protocol's grey values. All images are float32 ``[z, y, x]``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from legseg_core.phantom.contrast import class_signals, combine, sequence_of
from legseg_core.phantom.tissue import AIR, FASCIA, FAT, MARROW, MUSCLE_CLASS, MUSCLE_FIRST, NUM_TISSUE_CLASSES, TENDON

PRIOR_CONTRASTS: tuple[str, ...] = ("t1w", "t2w", "pd", "dixon_water", "dixon_fat", "dixon_in_phase",
                                    "dixon_opposed_phase", "diffusion")
#: Contrasts whose fat is suppressed or separated away: where fat suppression can fail.
FAT_SUPPRESSED = ("dixon_water", "diffusion")
RANDOM_CONTRAST = "random"
LABELLED_MUSCLE_CLASSES = np.array(sorted(MUSCLE_CLASS.values()))
#: Per-muscle spread (log) when all muscles look alike, as in most healthy calves: neighbouring muscles
#: then differ by a few percent, so only their shape and the septa between them tell them apart.
ALIKE_MUSCLE_JITTER = 0.03


def prior_table(contrast: str) -> np.ndarray:
    """Intensity of every tissue class in a contrast, healthy muscle = 1 (float64, by class)."""
    water, fat = class_signals(sequence_of(contrast))
    table = np.array([combine(contrast, np.float32(w), np.float32(f)) for w, f in zip(water, fat)], dtype=float)
    muscle = table[MUSCLE_FIRST]
    return table / (muscle if muscle > 0 else 1.0)


def class_table(rng: np.random.Generator, contrast: str, class_jitter: float, muscle_jitter: float) -> np.ndarray:
    """One case's intensity per tissue class: the prior varied (log-normal), or fully random."""
    if contrast == RANDOM_CONTRAST:
        table = rng.uniform(0.05, 1.0, NUM_TISSUE_CLASSES)
        table[MUSCLE_FIRST:] = table[MUSCLE_FIRST]
        muscle_jitter *= 2.0
    else:
        table = prior_table(contrast) * np.exp(rng.normal(0.0, class_jitter, NUM_TISSUE_CLASSES))
        table[MUSCLE_FIRST:] = table[MUSCLE_FIRST]
    table[MUSCLE_FIRST:] *= np.exp(rng.normal(0.0, muscle_jitter, NUM_TISSUE_CLASSES - MUSCLE_FIRST))
    table[AIR] = 0.0
    return table


def faint_septa(rng: np.random.Generator, table: np.ndarray) -> None:
    """Septa and fascia almost as bright as muscle (in place): at 3 mm and more in-plane a septum is far
    thinner than a voxel, so in many real images neighbouring muscles meet with no visible line between
    them. The septum keeps 0 to 40 percent of its own contrast to the mean muscle."""
    muscle = float(table[LABELLED_MUSCLE_CLASSES].mean())
    keep = float(rng.uniform(0.0, 0.4))
    table[FASCIA] = muscle + keep * (float(table[FASCIA]) - muscle)


def leg_table(rng: np.random.Generator, table: np.ndarray, jitter: float) -> np.ndarray:
    """The table of one leg: each class a little brighter or darker than on the other leg."""
    varied = table * np.exp(rng.normal(0.0, jitter, table.size))
    varied[AIR] = 0.0
    return varied


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], cells: tuple[int, ...]) -> np.ndarray:
    """A smooth random field (float32, mean 0, about unit spread) from a coarse grid of ``cells``."""
    coarse = rng.standard_normal(cells).astype(np.float32)
    field = ndimage.zoom(coarse, [s / c for s, c in zip(shape, cells)], order=1, grid_mode=True, mode="nearest")
    return _fit(field, shape)


def _fit(field: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pad or cut a zoomed field to exactly ``shape`` (zoom can miss by a voxel)."""
    pads = [(0, max(0, s - f)) for s, f in zip(shape, field.shape)]
    field = np.pad(field, pads, mode="edge")
    return np.ascontiguousarray(field[tuple(slice(0, s) for s in shape)])


def fat_infiltration(rng: np.random.Generator, tissue: np.ndarray, image: np.ndarray, table: np.ndarray,
                     severity: float) -> dict[int, float]:
    """Replace part of some muscles by fat, patchily (in place); returns the mean fat fraction per class."""
    patch = np.clip(0.5 + 0.5 * smooth_noise(rng, tissue.shape, (3, 6, 6)), 0.0, 1.0)
    fractions = {}
    for cls in LABELLED_MUSCLE_CLASSES:
        fraction = float(rng.uniform(0.0, severity)) if rng.uniform() < 0.7 else 0.0
        if fraction <= 0.02:
            continue
        inside = tissue == cls
        local = np.float32(fraction) * patch[inside]
        image[inside] = (1 - local) * image[inside] + local * np.float32(table[FAT])
        fractions[int(cls)] = fraction
    return fractions


def fat_suppression_failure(rng: np.random.Generator, tissue: np.ndarray, image: np.ndarray) -> None:
    """Fat that lights up in part of the field of view, as when fat suppression fails (in place)."""
    region = np.clip(smooth_noise(rng, tissue.shape, (2, 3, 3)) - 0.3, 0.0, 1.0)
    fatty = (tissue == FAT) | (tissue == MARROW)
    image[fatty] += region[fatty] * np.float32(rng.uniform(0.5, 1.5))


def boundary_lines(rng: np.random.Generator, tissue: np.ndarray, image: np.ndarray) -> None:
    """Darken the sub-voxels where two tissue classes meet (in place): fascia, and the dark lines that water
    and fat cancelling out at their interfaces draw in Dixon opposed-phase and many gradient-echo images."""
    edge = np.zeros(tissue.shape, dtype=bool)
    edge[:, 1:, :] |= tissue[:, 1:, :] != tissue[:, :-1, :]
    edge[:, :, 1:] |= tissue[:, :, 1:] != tissue[:, :, :-1]
    image[edge & (tissue != AIR)] *= np.float32(rng.uniform(0.1, 0.6))


def muscle_streaks(rng: np.random.Generator, tissue: np.ndarray, image: np.ndarray, table: np.ndarray) -> None:
    """Thin fatty streaks inside the muscles (in place): the marbling of intramuscular septa and vessels.

    One to four iso-lines of a smooth random field, each 0.03 to 0.1 of its range wide: from a few
    curved lines to the dense marbling that 3D Dixon magnitude images of some calves show; each streak
    is between the muscle's own value and fat's (partial volume of thin septa).
    """
    field = smooth_noise(rng, tissue.shape, (max(2, tissue.shape[0] // 4), 24, 24))
    band = np.zeros(tissue.shape, dtype=bool)
    for level in rng.uniform(-0.6, 0.6, int(rng.integers(1, 5))):
        band |= np.abs(field - np.float32(level)) < np.float32(rng.uniform(0.03, 0.1))
    streak = band & (tissue >= MUSCLE_FIRST)
    mix = np.float32(rng.uniform(0.4, 1.0))
    image[streak] = (1 - mix) * image[streak] + mix * np.float32(table[FAT])


#: Intramuscular compartments (:func:`muscle_compartments`): chance that one muscle of an affected case gets
#: them, largest brightness ratio between its two parts (log), the chance of a drawn aponeurosis and its
#: thickness (mm).
COMPARTMENT_MUSCLE_CHANCE = 0.6
COMPARTMENT_LOG_RATIO = 0.4
APONEUROSIS_CHANCE = 0.7
APONEUROSIS_MM = (0.6, 1.6)


def muscle_compartments(rng: np.random.Generator, tissue: np.ndarray, image: np.ndarray, table: np.ndarray,
                        step_mm: float, legs: tuple[slice, ...]) -> int:
    """Split muscles into two parts of different brightness along an internal tendon sheet (in place).

    Real calf muscles are not one uniform grey. Several are pennate around an intramuscular tendon
    sheet (aponeurosis): TA has a central one from the tibia towards the skin, SOL a median septum
    and an anterior aponeurosis, the peronei and the gastrocnemii aponeuroses along their length.
    In cross-section the sheet is a dark line that ends inside the muscle, and the fibres on each side
    of it can differ in brightness (fibre direction in diffusion images, the distance to the receive
    coil just under the skin). On the labelled real calf's diffusion and Dixon water images, TA shows
    both: a line across it and a part towards the skin 25 to 35% brighter than the part at the tibia.
    A network that has only seen uniform muscles takes such a line for a septum and stops the muscle
    there. Per affected muscle of each leg (``legs``: its column ranges): a plane through the muscle
    along its long in-plane axis (turned by up to 30 degrees, moved by up to a quarter of its width)
    shades one side by up to exp(+-0.4), softly over 0.5 to 3 mm; with a chance of 0.7 a tendon-dark
    sheet 0.6 to 1.6 mm thick lies along part of that plane. Labels do not change. Returns how many
    muscles were split."""
    split = 0
    tendon = np.float32(table[TENDON])
    for columns in legs:
        block = tissue[:, :, columns]
        boxes = ndimage.find_objects(block)
        for cls in LABELLED_MUSCLE_CLASSES:
            if cls > len(boxes) or boxes[cls - 1] is None or rng.uniform() >= COMPARTMENT_MUSCLE_CHANCE:
                continue
            box = boxes[cls - 1]
            inside = block[box] == cls
            z, y, x = np.nonzero(inside)
            if z.size < 50:
                continue
            y_mm, x_mm = (y + box[1].start) * np.float32(step_mm), (x + box[2].start) * np.float32(step_mm)
            # the centre follows the muscle slice by slice; the sheet's direction is the muscle's long axis
            counts = np.bincount(z, minlength=inside.shape[0]).astype(np.float32)
            centre_y = np.bincount(z, y_mm, inside.shape[0]) / np.maximum(counts, 1)
            centre_x = np.bincount(z, x_mm, inside.shape[0]) / np.maximum(counts, 1)
            dy, dx = y_mm - centre_y[z], x_mm - centre_x[z]
            _, vectors = np.linalg.eigh(np.cov(np.stack([dy, dx])))
            angle = np.arctan2(vectors[0, 1], vectors[1, 1]) + np.radians(rng.uniform(-30.0, 30.0))
            along_y, along_x = np.sin(angle), np.cos(angle)
            across = -dy * along_x + dx * along_y  # signed distance to the sheet's plane (mm)
            along = dy * along_y + dx * along_x
            across = across - np.float32(rng.uniform(-0.25, 0.25) * 2 * across.std())
            softness = np.float32(rng.uniform(0.5, 3.0))
            ratio = np.float32(np.exp(rng.uniform(-COMPARTMENT_LOG_RATIO, COMPARTMENT_LOG_RATIO)))
            side = 1 / (1 + np.exp(-np.clip(across / softness, -30, 30)))
            view = image[:, :, columns][box]  # a view: writing into it writes the image
            values = view[inside] * (1 + (ratio - 1) * side)
            if rng.uniform() < APONEUROSIS_CHANCE:
                half = np.float32(rng.uniform(*APONEUROSIS_MM) / 2)
                reach = np.abs(along).max()
                start, stop = -rng.uniform(0.2, 1.0) * reach, rng.uniform(0.2, 1.0) * reach
                sheet = (np.abs(across) < half) & (along > start) & (along < stop)
                mix = np.float32(rng.uniform(0.4, 1.0))
                values[sheet] = (1 - mix) * values[sheet] + mix * tendon
            view[inside] = values
            split += 1
    return split


def texture(rng: np.random.Generator, image: np.ndarray, strength: float) -> np.ndarray:
    """Multiplicative fine texture (a few voxels across), as muscle grain and small vessels."""
    if strength <= 0:
        return image
    noise = ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), (0.5, 1.0, 1.0))
    noise *= np.float32(strength / max(float(noise.std()), 1e-6))
    return image * (1 + noise)


def bias_field(rng: np.random.Generator, shape: tuple[int, int, int], strength: float,
               cells: tuple[int, int, int] = (2, 3, 3)) -> np.ndarray:
    """A smooth multiplicative field (float32, geometric mean 1) on a grid of ``cells`` control points;
    ``strength`` ~ its log spread."""
    log_field = smooth_noise(rng, shape, cells) * np.float32(strength)
    return np.exp(log_field - log_field.mean()).astype(np.float32)


#: Local shading (:func:`local_shading_cells`): control points this far apart in-plane (mm), so that the
#: brightness changes within one leg over a few centimetres, as the elements of receive coils, B1
#: inhomogeneity and the signal loss and pile-up of echo-planar images draw it. The bias field above
#: spans the whole field of view (3 points across both legs) and barely changes within a leg. On the
#: labelled real calf (diffusion-weighted mean) the anterior compartment is 0.65 of the leg's median
#: muscle brightness in one leg and 1.25 in the other, each within a few centimetres of brighter or darker muscle.
LOCAL_SHADING_MM = 40.0
#: Largest log spread of the local shading (about -40% to +65% at one spread).
LOCAL_SHADING_STRENGTH = 0.5


def local_shading_cells(shape: tuple[int, int, int], pixel_mm: float) -> tuple[int, int, int]:
    """Control points of a local shading of a ``[z, y, x]`` image of ``pixel_mm`` in-plane voxels."""
    rows, cols = (max(2, int(round(size * pixel_mm / LOCAL_SHADING_MM))) for size in shape[1:])
    return 2, rows, cols

