"""ITK-SNAP: the labels as NIfTI on the scan's grid with an ITK-SNAP label description file.

ITK-SNAP opens ``<stem>_labels.nii.gz`` as a segmentation of the scan and reads the muscle
names and colours from ``<stem>_itksnap.txt`` (Segmentation > Import Label Descriptions, or
``itksnap -g SCAN -s LABELS -l LABELFILE``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from legseg_core.io import Volume, save_labels
from legseg_core.labels import write_itksnap_label_file


def write_itksnap(labels: np.ndarray, like: Volume, folder: Path, stem: str) -> list[Path]:
    """Write ``<stem>_labels.nii.gz`` and ``<stem>_itksnap.txt`` into ``folder``; both paths."""
    label_file = save_labels(labels, like, folder / f"{stem}_labels.nii.gz")
    return [label_file, write_itksnap_label_file(folder / f"{stem}_itksnap.txt")]
