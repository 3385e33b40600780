"""The labelled real case's held-out leg: never a template, never training data.

The left leg of the real labelled calf (``shared/data/calf-qmritools``: ``dwi_mean.nii.gz`` and
``labels.nii.gz``) is the out-of-box test of the starter models, so no training command may
read it in any form. The scan and its labels are recognised by content, not by name: a
*fingerprint* is the sha256 of the canonical ``[z, y, x]`` voxel array as little-endian float32,
prefixed by its shape, so a copy, a renamed file or a re-compressed NIfTI is still recognised.
A template may take the right leg of those files (its columns are cut out before anything else
is read); asking for the left leg, or training on a store case whose image or labels are one
of these arrays, raises :class:`HeldOutLegError`.
"""

from __future__ import annotations

import hashlib

import numpy as np

from legseg_core.errors import LegsegError


class HeldOutLegError(LegsegError):
    """A command would read the held-out leg of the labelled real case."""


HELD_OUT_LEG = "left"
#: Fingerprints of the labelled real case's arrays, by what they are.
HELD_OUT_FINGERPRINTS: dict[str, str] = {
    "ee259a5e43deba557165139c1a6321bd878167bc7f8db9d6807c80fde22d5a96": "calf-qmritools dwi_mean (scan)",
    "c86250d3edc9566c8f4293b737c2d891cea3257659a3d75e5a5e3e8621e48653": "calf-qmritools labels (values 13..26)",
    "9a923ebf95a579c7ba520478822a1f3b8a284e13a8a841c871a984928cdfc656": "calf-qmritools labels (ids 1..7)",
}


def fingerprint(data: np.ndarray) -> str:
    """sha256 of an array's shape and its values as little-endian float32."""
    values = np.ascontiguousarray(data, dtype="<f4")
    digest = hashlib.sha256(str(tuple(values.shape)).encode("ascii"))
    digest.update(values.tobytes())
    return digest.hexdigest()


def held_out_source(data: np.ndarray) -> str | None:
    """What held-out array ``data`` is (a short description), or None for any other array."""
    return HELD_OUT_FINGERPRINTS.get(fingerprint(data))


def check_not_held_out(data: np.ndarray, *, leg: str, what: str) -> None:
    """Refuse ``leg`` of a held-out array; ``what`` names the file or case in the message."""
    source = held_out_source(data)
    if source is not None and leg != "right":
        raise HeldOutLegError(f"{what} is the {source} of the labelled real case, whose {HELD_OUT_LEG} leg is "
                              f"held out for testing; only its right leg may be used for training")


def check_trainable(data: np.ndarray, *, what: str) -> None:
    """Refuse training data that is a held-out array as a whole (it contains the held-out leg)."""
    source = held_out_source(data)
    if source is not None:
        raise HeldOutLegError(f"{what} is the {source} of the labelled real case with both legs; its "
                              f"{HELD_OUT_LEG} leg is held out for testing and never enters training (crop the "
                              "right leg first: `legseg starter legs --crop`)")
