"""The real scans of the plausibility check, where they live, and how each one is read.

The data folder holds ``calf-musclemap-dixon/`` and ``calf-qmritools/`` (see their README.md):
``--data DIR`` names it; else ``$LEGSEG_REAL_DATA``, which names the ``calf-qmritools`` folder
itself (as the tests use it), gives it as its parent; else it is ``shared/data`` beside the
repository root. Images are read onto the canonical ``[z, y, x]`` grid; a 4D image gives its
first frame, and the scan's notes say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from legseg_core.errors import InputPathError, LegsegError

if TYPE_CHECKING:  # numpy and the image reader come with the first scan read, not with `legseg starter --help`
    import numpy as np

    from legseg_core.io import Volume

#: The environment variable of the tests: the ``calf-qmritools`` folder (its parent is the data folder).
REAL_DATA_VARIABLE = "LEGSEG_REAL_DATA"


@dataclass(frozen=True)
class RealScan:
    """One real scan of the check: its key, its file under the data folder, and its reference labels if any."""

    key: str
    folder: str
    file: str
    title: str
    frame: int | None = None
    labels: str | None = None

    def path(self, data: Path) -> Path:
        """The scan file under the data folder."""
        return data / self.folder / self.file

    def labels_path(self, data: Path) -> Path | None:
        """The reference labels under the data folder, or None for an unlabelled scan."""
        return None if self.labels is None else data / self.folder / self.labels


SCANS: tuple[RealScan, ...] = (
    RealScan("musclemap-dixon", "calf-musclemap-dixon", "calf3d_dixon_te345_mag.nii.gz",
             "3D Dixon magnitude TE 3.45 ms, both legs ankle to knee (MuscleMap, unlabelled)"),
    RealScan("qmritools-dixon-water", "calf-qmritools", "dixon_water.nii.gz",
             "Dixon water, mid-calf slab (QMRITools, unlabelled)"),
    RealScan("qmritools-t2", "calf-qmritools", "t2_mese.nii.gz",
             "multi-echo spin echo, first echo, mid-calf slab (QMRITools, unlabelled)", frame=0),
    RealScan("qmritools-dwi", "calf-qmritools", "dwi_mean.nii.gz",
             "mean diffusion-weighted image, mid-calf slab (QMRITools, labelled)", labels="labels.nii.gz"),
)
SCAN_BY_KEY: dict[str, RealScan] = {scan.key: scan for scan in SCANS}


@dataclass(frozen=True)
class LoadedScan:
    """A scan read for the check: the image, and for the labelled case the reference (ids 0..7,
    ``[z, y, x]`` uint8) with its right-leg mask taken from the source's own label values."""

    scan: RealScan
    volume: Volume
    reference: np.ndarray | None = None
    reference_right: np.ndarray | None = None
    notes: tuple[str, ...] = ()


def default_data_folder() -> Path:
    """``$LEGSEG_REAL_DATA``'s parent when set, else ``shared/data`` beside the repository root."""
    variable = os.environ.get(REAL_DATA_VARIABLE, "").strip()
    if variable:
        return Path(variable).expanduser().parent
    repository = Path(__file__).resolve().parents[3]
    return repository.parent / "shared" / "data"


def select_scans(keys: list[str] | None) -> tuple[RealScan, ...]:
    """The scans named by key (all of them for None or an empty list); LegsegError naming an unknown key."""
    if not keys:
        return SCANS
    unknown = [key for key in keys if key not in SCAN_BY_KEY]
    if unknown:
        raise LegsegError(f"unknown real scan {unknown[0]!r}; choose from {', '.join(SCAN_BY_KEY)}")
    return tuple(SCAN_BY_KEY[key] for key in dict.fromkeys(keys))


def check_data(data: str | Path | None, scans: tuple[RealScan, ...]) -> Path:
    """The data folder, after checking that it and every file the chosen scans need exist."""
    folder = Path(data).expanduser() if data is not None else default_data_folder()
    if not folder.is_dir():
        raise InputPathError(f"{folder}: the real-scan data folder does not exist (it should hold "
                             f"calf-musclemap-dixon/ and calf-qmritools/; give --data DIR or set "
                             f"{REAL_DATA_VARIABLE} to its calf-qmritools folder)")
    for scan in scans:
        for path in (scan.path(folder), scan.labels_path(folder)):
            if path is not None and not path.is_file():
                raise InputPathError(f"{path}: no such file (needed by the real scan {scan.key!r})")
    return folder


def load_scan(scan: RealScan, data: Path) -> LoadedScan:
    """Read a scan (its first frame if 4D) and, for the labelled case, its reference on the same grid."""
    import numpy as np

    from legseg_core.io import check_same_grid, load_volume
    from legseg_core.io.relabel import QMRITOOLS_CALF, QMRITOOLS_CALF_RIGHT, remap_labels

    volume = load_volume(scan.path(data), frame=scan.frame)
    notes = []
    if "frame" in volume.metadata:
        frames = str(volume.metadata["frame"]).split(" (")[0]
        notes.append(f"4D image: frame {frames} segmented (the first echo)")
    labels_path = scan.labels_path(data)
    if labels_path is None:
        return LoadedScan(scan, volume, notes=tuple(notes))
    raw = load_volume(labels_path)
    check_same_grid(volume, raw, what=f"labels {labels_path}")
    reference = remap_labels(raw.data, QMRITOOLS_CALF)
    right = np.isin(raw.data, list(QMRITOOLS_CALF_RIGHT))
    notes.append(f"reference {labels_path.name} mapped with QMRITOOLS_CALF (odd values: right leg)")
    return LoadedScan(scan, volume, reference, right, tuple(notes))
