"""BIDS derivatives: ``*_dseg.nii.gz`` with its ``*_dseg.tsv`` lookup table.

The folder given is the root of a derivatives dataset: ``dataset_description.json`` (written
when missing) and ``sub-<label>/[ses-<label>/]anat/<entities>_desc-muscles_dseg.nii.gz`` beside
``..._dseg.tsv`` (columns ``index``, ``name``, ``abbreviation``, ``color`` as ``#rrggbb``). The
entities (``sub``, ``ses``, ``acq``, ``run`` ...) come from a BIDS-named scan; a scan named
otherwise becomes ``sub-<its name, letters and digits only>``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from legseg_core import __version__
from legseg_core.io import Volume, save_labels
from legseg_core.labels import MUSCLES

BIDS_VERSION = "1.9.0"
DESCRIPTION = "muscles"
TSV_COLUMNS = ("index", "name", "abbreviation", "color")


def bids_entities(stem: str) -> list[tuple[str, str]]:
    """The ``key-value`` entities of a BIDS file name stem (suffix dropped); ``sub`` first, always present."""
    parts = stem.split("_")
    entities = [tuple(p.split("-", 1)) for p in parts if re.fullmatch(r"[a-zA-Z]+-[a-zA-Z0-9]+", p)]
    entities = [(k, v) for k, v in entities if k != "desc"]
    if not any(k == "sub" for k, _ in entities):
        entities.insert(0, ("sub", re.sub(r"[^a-zA-Z0-9]", "", stem) or "unknown"))
    return entities  # type: ignore[return-value]


def lookup_rows() -> list[dict[str, str]]:
    """The rows of the ``dseg.tsv`` lookup table: one per muscle."""
    return [{"index": str(m.id), "name": m.name, "abbreviation": m.abbr,
             "color": "#{:02x}{:02x}{:02x}".format(*m.color)} for m in MUSCLES]


def write_dataset_description(root: Path, model: str = "") -> Path:
    """Write the derivatives dataset's ``dataset_description.json`` unless one exists; its path."""
    path = root / "dataset_description.json"
    if not path.exists():
        generated = {"Name": "LegSeg", "Version": __version__, **({"Description": f"model {model}"} if model else {})}
        path.write_text(json.dumps({"Name": "LegSeg lower-leg muscle segmentations", "BIDSVersion": BIDS_VERSION,
                                    "DatasetType": "derivative", "GeneratedBy": [generated]}, indent=2) + "\n",
                        encoding="utf-8")
    return path


def write_bids_dseg(labels: np.ndarray, like: Volume, root: Path, stem: str, *, model: str = "") -> list[Path]:
    """Write the labels as a BIDS ``dseg`` image with its lookup table under ``root``; the files written."""
    entities = bids_entities(stem)
    folder = root / f"sub-{dict(entities)['sub']}"
    if "ses" in dict(entities):
        folder = folder / f"ses-{dict(entities)['ses']}"
    folder = folder / "anat"
    folder.mkdir(parents=True, exist_ok=True)
    name = "_".join(f"{k}-{v}" for k, v in entities) + f"_desc-{DESCRIPTION}_dseg"
    image = save_labels(labels, like, folder / f"{name}.nii.gz")
    table = folder / f"{name}.tsv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TSV_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(lookup_rows())
    return [write_dataset_description(root, model), image, table]
