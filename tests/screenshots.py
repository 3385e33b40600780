"""Screenshots the tests make for a person to look at: the folder they go to, and the real case they show.

They are written to ``screenshots/`` in the repository (ignored by git), or to ``$LEGSEG_SCREENSHOTS``.
The real case is the labelled calf of ``shared/data/calf-qmritools`` (``dwi_mean.nii.gz`` with its
labels mapped to LegSeg's ids) and the shipped starter U-Net's segmentation of it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

SCREENSHOTS = Path(os.environ.get("LEGSEG_SCREENSHOTS", Path(__file__).resolve().parents[1] / "screenshots"))
FULL_HD = (1920, 1080)


def screenshot_path(name: str) -> Path:
    """Where a screenshot called ``name`` (e.g. 'app-overlap.png') goes; its folder exists."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


@functools.lru_cache(maxsize=1)
def starter_prediction(scan: str) -> Any:
    """The starter U-Net's labels ``[z, y, x]`` of a scan file (computed once per test run, one thread)."""
    import torch

    from legseg_core.inference import Segmenter
    from legseg_core.io import load_volume
    from legseg_core.model_lookup import resolve_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return Segmenter(resolve_model("unet-lite-starter"), "cpu").segment(load_volume(scan)).labels
    finally:
        torch.set_num_threads(threads)
