"""Shared fixtures: where the real scans live, and a headless Qt platform."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REAL_DATA = Path(os.environ.get("LEGSEG_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "calf-qmritools"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of the real bilateral calf scan (read-only; never copied into the repository).

    Missing, the tests that need it skip with a reason, except where ``LEGSEG_REQUIRE_REAL_DATA=1``
    (CI sets it) makes a missing folder a failure.
    """
    if not REAL_DATA.is_dir():
        if os.environ.get("LEGSEG_REQUIRE_REAL_DATA") == "1":  # CI, where the data is always beside the clone
            raise FileNotFoundError(f"the real calf data is expected at {REAL_DATA}")
        pytest.skip(f"the real calf data is not at {REAL_DATA} (set LEGSEG_REAL_DATA to its folder)")
    return REAL_DATA


@pytest.fixture(scope="session")
def real_case(real_data: Path):
    """The real labelled case: (dwi_mean Volume, labels Volume with LegSeg ids 1..7, right-leg mask)."""
    import numpy as np

    from legseg_core.io import load_volume
    from legseg_core.io.relabel import QMRITOOLS_CALF, QMRITOOLS_CALF_RIGHT, remap_labels

    image = load_volume(real_data / "dwi_mean.nii.gz")
    raw = load_volume(real_data / "labels.nii.gz")
    labels = raw.with_data(remap_labels(raw.data, QMRITOOLS_CALF))
    right = np.isin(raw.data, list(QMRITOOLS_CALF_RIGHT))
    return image, labels, right
