"""``legseg bench preprocess``: a 320 x 320 x 90 scan to patches and back (target < 1 s on 2 cores).

The scan is a synthetic pair of elliptical calves (1.5 mm in-plane, 5 mm slices) with seven
muscle sectors and noise. ``to_patches`` (leg finding, parts, crop, normalise, resample, mirror)
and ``from_patches`` (resample back, average overlaps, argmax) are timed separately, the latter
on one-hot probabilities of the label patches; the round-trip Dice shows the timing is of a
correct pipeline.
"""

from __future__ import annotations

import argparse

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "preprocess: 320x320x90 scan to patches and back (to_patches + from_patches < 1 s)"
ROUND_TRIP_TARGET_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", type=int, nargs=3, default=(90, 320, 320), metavar=("Z", "Y", "X"),
                        help="the scan's grid [z, y, x] (default 90 320 320)")
    parser.add_argument("--spacing", type=float, nargs=3, default=(5.0, 1.5, 1.5), metavar=("Z", "Y", "X"),
                        help="voxel size in mm (default 5 1.5 1.5)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (default 5)")


def quick_arguments() -> argparse.Namespace:
    """Settings for `legseg bench all`: the full-size scan, fewer repeats."""
    return argparse.Namespace(shape=(90, 320, 320), spacing=(5.0, 1.5, 1.5), repeats=3)


def synthetic_scan(shape: tuple[int, int, int], spacing: tuple[float, float, float],
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two elliptical calves (50 mm radius, 30 mm apart) on ``[z, y, x]``: float32 image and uint8 labels."""
    z, y, x = shape
    yy = (np.arange(y)[:, None] - (y - 1) / 2) * spacing[1]
    xx = (np.arange(x)[None, :] - (x - 1) / 2) * spacing[2]
    image = np.zeros((y, x), dtype=np.float32)
    labels = np.zeros((y, x), dtype=np.uint8)
    for centre in (-65.0, 65.0):
        dx = (xx - centre) * np.sign(-centre)  # the left leg mirrors the right
        distance = np.hypot(dx / 50.0, yy / 42.0)
        image[distance < 1.0] = 60.0
        muscle = distance < 0.85
        sector = (np.digitize(np.arctan2(yy, dx), np.linspace(-np.pi, np.pi, 8)[1:-1]) + 1).astype(np.uint8)
        image[muscle] = 90.0 + 3.0 * sector[muscle]
        labels[muscle] = sector[muscle]
    noise = np.abs(np.random.default_rng(seed).normal(0.0, 3.0, shape)).astype(np.float32)
    return noise + image[None], np.repeat(labels[None], z, axis=0)


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.io import Volume
    from legseg_core.preprocess import from_patches, probabilities_from_patches, to_patches

    shape = tuple(int(s) for s in args.shape)
    image, labels = synthetic_scan(shape, tuple(args.spacing))  # type: ignore[arg-type]
    volume = Volume.from_array(image, tuple(args.spacing), name="bench-preprocess")
    patches = to_patches(volume, labels)
    probabilities = (patches.labels[:, None] == np.arange(8)[None, :, None, None, None]).astype(np.float32)
    forward = median_seconds(lambda: to_patches(volume), repeats=args.repeats)
    inverse = median_seconds(lambda: from_patches(probabilities, patches.plan), repeats=args.repeats)
    full = median_seconds(lambda: probabilities_from_patches(probabilities, patches.plan), repeats=args.repeats)
    dice = _mean_dice(labels, from_patches(probabilities, patches.plan))
    size = f"{shape[2]}x{shape[1]}x{shape[0]}"
    result = BenchResult("preprocess")
    result.rows += [{"what": f"to_patches ({size}, {patches.plan.num_patches} patches)", "median_s": forward},
                    {"what": "from_patches (labels)", "median_s": inverse},
                    {"what": "probabilities_from_patches ([8, z, y, x])", "median_s": full},
                    {"what": "round-trip mean Dice of the labels", "value": round(dice, 4)}]
    result.target(f"to_patches + from_patches ({size})", forward + inverse, ROUND_TRIP_TARGET_SECONDS)
    return result


def _mean_dice(reference: np.ndarray, predicted: np.ndarray) -> float:
    """Mean Dice over the seven muscles."""
    scores = [2.0 * np.count_nonzero((reference == m) & (predicted == m))
              / max(1, np.count_nonzero(reference == m) + np.count_nonzero(predicted == m)) for m in range(1, 8)]
    return float(np.mean(scores))
