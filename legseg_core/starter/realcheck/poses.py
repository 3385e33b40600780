"""The labelled case in several in-plane poses: a steadier Dice than one pose gives.

A network's Dice on one real leg moves with how the scan happens to lie: on the labelled calf the
starter U-Net's left-leg mean Dice ranged from 0.69 to 0.75 over rotations of the scan between -8 and
8 degrees. One pose is then a noisy judge of a model, and choosing models by it chooses noise. Here
the scan is rotated in-plane (about the z axis, linear interpolation) to ``count`` angles evenly
spread over -8..8 degrees, segmented in each pose, its class probabilities rotated back onto the
scan's grid, and labelled as the Segmenter labels (argmax, then the clean-up with the scan's own
body mask); the Dice per leg is reported per pose and as the mean over poses. The pose of 0 degrees,
when it is one of them, is the check's own segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core.errors import LegsegError
from legseg_core.progress import CancelToken, Progress, ProgressWork, share
from legseg_core.starter.realcheck.measures import LegAgreement, LegSplit, leg_agreement

if TYPE_CHECKING:
    from legseg_core.inference import Segmenter
    from legseg_core.io import Volume

#: The largest in-plane rotation of the poses (degrees, either way).
MAX_POSE_DEGREES = 8.0


def angle_text(angle: float) -> str:
    """An angle as the reports write it: ``-8``, ``0``, ``+4.5``."""
    return "0" if angle == 0 else f"{angle:+g}"


def pose_angles(count: int) -> tuple[float, ...]:
    """``count`` angles evenly spread over -8..8 degrees (0 alone for one pose)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise LegsegError(f"poses={count!r}: give a whole number of poses, at least 1")
    if count == 1:
        return (0.0,)
    return tuple(round(float(a), 3) for a in np.linspace(-MAX_POSE_DEGREES, MAX_POSE_DEGREES, count))


@dataclass(frozen=True)
class PoseAgreement:
    """The Dice per leg of each pose (``legs[leg][i]`` belongs to ``angles[i]``)."""

    angles: tuple[float, ...]
    legs: dict[str, tuple[LegAgreement, ...]]

    def mean_dice(self, leg: str) -> float:
        """The mean over poses of the leg's mean Dice."""
        return float(np.mean([a.mean_dice for a in self.legs[leg]]))

    def spread(self, leg: str) -> tuple[float, float]:
        """The lowest and highest mean Dice of the leg over the poses."""
        values = [a.mean_dice for a in self.legs[leg]]
        return float(min(values)), float(max(values))

    def muscle_dice(self, leg: str) -> dict[str, float]:
        """Each muscle's Dice averaged over the poses (NaN where it is NaN in every pose)."""
        muscles = self.legs[leg][0].dice
        out = {}
        for muscle in muscles:
            values = np.array([a.dice[muscle] for a in self.legs[leg]], dtype=float)
            out[muscle] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN as None)."""
        def rounded(value: float) -> float | None:
            return None if np.isnan(value) else round(value, 3)

        return {"angles_deg": list(self.angles),
                **{leg: {"mean": rounded(self.mean_dice(leg)), "lowest": rounded(self.spread(leg)[0]),
                         "highest": rounded(self.spread(leg)[1]),
                         "per_pose": [rounded(a.mean_dice) for a in agreements],
                         "muscles": {m: rounded(v) for m, v in self.muscle_dice(leg).items()}}
                   for leg, agreements in self.legs.items()}}


def rotated_pose_labels(segmenter: Segmenter, volume: Volume, angle: float, body: Any,
                        cancel: CancelToken | None = None) -> ProgressWork[np.ndarray]:
    """Labels (uint8, on ``volume``'s grid) of the scan segmented after an in-plane rotation by ``angle``
    degrees: the class probabilities rotated back, argmax, and the clean-up with ``body`` (the scan's
    :func:`legseg_core.preprocess.mask.body_mask`)."""
    from scipy import ndimage

    from legseg_core.inference import classify
    from legseg_core.labels_in_air import clean_up

    data = np.asarray(volume.data, dtype=np.float32)
    turned = ndimage.rotate(data, angle, axes=(1, 2), reshape=False, order=1, mode="constant",
                            cval=float(data.min()))
    result = yield from segmenter.segment_steps(volume.with_data(turned), probabilities=True, cancel=cancel)
    probabilities = result.probabilities
    assert probabilities is not None
    back = np.empty_like(probabilities)
    for index in range(probabilities.shape[0]):  # one class at a time: no second copy of all of them
        ndimage.rotate(probabilities[index], -angle, axes=(1, 2), reshape=False, order=1, mode="constant",
                       cval=1.0 if index == 0 else 0.0, output=back[index])
    del probabilities, result
    labels, _ = classify(back)
    del back
    clean_up(labels, body, volume.spacing)
    yield Progress(1, 1, f"pose {angle_text(angle)} degrees")
    return labels


def pose_agreement(segmenter: Segmenter, volume: Volume, reference: np.ndarray, split: LegSplit, body: Any,
                   angles: tuple[float, ...], straight: np.ndarray,
                   cancel: CancelToken | None = None) -> ProgressWork[PoseAgreement]:
    """Dice per leg in each pose of ``angles``; ``straight`` is the labels of the pose of 0 degrees."""
    per_pose = []
    for step, angle in enumerate(angles):
        if angle == 0.0:
            labels = straight
        else:
            labels = yield from share(rotated_pose_labels(segmenter, volume, angle, body, cancel), step, len(angles),
                                      f"pose {angle_text(angle)} degrees")
        per_pose.append(leg_agreement(reference, labels, split, volume.spacing))
        yield Progress(step + 1, len(angles), f"pose {angle_text(angle)} degrees")
    return PoseAgreement(tuple(angles), {leg: tuple(p[leg] for p in per_pose) for leg in split.sides})
