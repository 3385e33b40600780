"""Scans for ``legseg bench inference``: the 90- and 25-slice phantoms and large scans of a given size.

A large scan (``--scan 512x512x200``, or ``256x256x40x18`` for a 4D scan of 18 echoes) is the
bilateral protocol-A phantom with that many slices, its field of view made square (padded with
the noise of its own air) and resampled in-plane to the size asked for; a 4D scan repeats it as
echoes that decay with echo time (T2 of 35 ms, echoes 10 ms apart), stored as int16 like a
multi-echo series. LegSeg reads frame 0 of a 4D scan.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from legseg_core.errors import LegsegError

if TYPE_CHECKING:  # numpy comes with the first scan written, not with `legseg bench --help`
    import numpy as np

ECHO_SPACING_MS = 10.0
T2_MS = 35.0
_SIZE = re.compile(r"^(\d+)x(\d+)x(\d+)(?:x(\d+))?$")


def parse_size(text: str) -> tuple[int, ...]:
    """``"512x512x200"`` or ``"256x256x40x18"`` as voxels along x, y, z (and frames): LegsegError if malformed."""
    match = _SIZE.match(text.strip().lower())
    if not match:
        raise LegsegError(f"--scan {text!r} must be X x Y x Z voxels, or X x Y x Z x FRAMES (e.g. 512x512x200, "
                          f"256x256x40x18)")
    size = tuple(int(value) for value in match.groups() if value is not None)
    if min(size[:2]) < 64 or size[2] < 8 or (len(size) == 4 and size[3] < 1) or max(size[:3]) > 2048:
        raise LegsegError(f"--scan {text!r}: each in-plane size must be 64..2048 voxels, and there must be "
                          f"8..2048 slices and at least one frame")
    return size


def size_name(size: tuple[int, ...]) -> str:
    """``512x512x200`` (and ``x18 echoes`` for frames)."""
    name = "x".join(str(value) for value in size[:3])
    return name if len(size) == 3 else f"{name}, {size[3]} echoes"


def write_phantom(folder: Path, slices: int) -> Path:
    """A bilateral protocol-A (T1w) phantom of ``slices`` slices, written as NIfTI."""
    from legseg_core.io import save_image

    volume = _phantom(slices)
    return save_image(volume.data, volume, folder / f"phantom-{slices}.nii.gz")


def write_sized_scan(folder: Path, size: tuple[int, ...]) -> Path:
    """The phantom on a grid of ``size`` (x, y, z[, frames]) voxels, written as NIfTI (see the module docstring)."""
    import numpy as np

    from legseg_core.io import Volume, save_image
    from legseg_core.preprocess.resample import resize_linear

    width, height, slices = size[:3]
    phantom = _phantom(slices)
    data, spacing = _square(phantom.data, phantom.spacing)
    resized = resize_linear(data, (height, width), (1, 2))
    spacing = (spacing[0], spacing[1] * data.shape[1] / height, spacing[2] * data.shape[2] / width)
    volume = Volume.from_array(resized, spacing)
    path = folder / f"scan-{'x'.join(str(v) for v in size)}.nii.gz"
    if len(size) == 3:
        return save_image(resized, volume, path)
    scale = 30000.0 / max(float(resized.max()), 1e-6)
    echoes = [np.rint(resized * scale * np.exp(-(index + 1) * ECHO_SPACING_MS / T2_MS)).astype(np.int16)
              for index in range(size[3])]
    return save_image(np.stack(echoes, axis=-1), volume, path)


def _phantom(slices: int):
    from legseg_core.phantom import make_case

    return make_case(seed=0, protocol="A", slices=slices, contrasts=("t1w",), legs="both").images["t1w"]


def _square(data: np.ndarray, spacing: tuple[float, float, float]) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Pad y or x so that the field of view is square in mm, with background noise drawn from the
    scan's own edge rows (air), as a larger field of view would show."""
    import numpy as np

    height_mm, width_mm = data.shape[1] * spacing[1], data.shape[2] * spacing[2]
    rows = max(data.shape[1], round(width_mm / spacing[1]))
    cols = max(data.shape[2], round(height_mm / spacing[2]))
    top, left = (rows - data.shape[1]) // 2, (cols - data.shape[2]) // 2
    air = np.concatenate([data[:, :2].ravel(), data[:, -2:].ravel()])
    square = np.random.default_rng(0).choice(air, size=(data.shape[0], rows, cols)).astype(np.float32)
    square[:, top: top + data.shape[1], left: left + data.shape[2]] = data
    return square, spacing
