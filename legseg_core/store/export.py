"""Export the accepted cases for other pipelines: nnU-Net v2 raw layout or a MONAI datalist.

Only accepted cases are exported, each with its accepted label version; excluded and
unreviewed cases never leave the store. The store's sticky splits are kept:

* ``nnunet``: ``<out>/Dataset<id>_<name>/`` with ``imagesTr/<case>_0000.nii.gz`` and
  ``labelsTr/<case>.nii.gz`` (train and validation splits), ``imagesTs`` and ``labelsTs``
  (test split), ``dataset.json`` (channel, the seven muscle labels, numTraining, file ending),
  and ``splits_final.json`` (one fold: our train against our validation; copy it to the
  dataset's nnUNet_preprocessed folder to use it instead of nnU-Net's own five folds);
* ``monai``: ``<out>/datalist.json`` with ``training``, ``validation`` and ``test`` lists of
  ``{"image": "images/<case>.nii.gz", "label": "labels/<case>.nii.gz", ...}`` relative to
  ``<out>`` (``monai.data.load_decathlon_datalist(path, data_list_key="training")`` reads it).

Both write ``legseg_cases.json``: the case, label version, split and metadata of every file.
Images and labels are copied byte for byte after their checksums are verified.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.atomic import write_atomically, write_text_atomically
from legseg_core.errors import StoreError
from legseg_core.labels import MUSCLES
from legseg_core.progress import Progress, drive
from legseg_core.store.files import read_verified
from legseg_core.store.naming import SEGMENTATION_IMAGE, inside
from legseg_core.store.queries import image_row as image_row_of
from legseg_core.store.records import CaseRecord

if TYPE_CHECKING:
    from legseg_core.store.store import Store

EXPORT_FORMATS = ("nnunet", "monai")


def export_store(store: "Store", format: str, out_dir: Path, **options: Any) -> Path:
    """Run :func:`export_work` to its end and return the dataset folder or datalist path."""
    return drive(export_work(store, format, out_dir, **options))


def export_work(store: "Store", format: str, out_dir: Path, *, dataset_id: int = 501, dataset_name: str = "LegSeg",
                **filters: Any) -> Generator[Progress, None, Path]:
    """Export accepted cases (optionally filtered as in ``Store.cases``), reporting progress per case."""
    if format not in EXPORT_FORMATS:
        raise StoreError(f"export format {format!r} is not one of {', '.join(EXPORT_FORMATS)}")
    cases = store.accepted_cases(split=filters.pop("split", None), **filters)
    if not cases:
        raise StoreError("no accepted cases to export; accept label versions first (`legseg store accept CASE`)")
    if format == "nnunet":
        target = _nnunet_folder(out_dir, dataset_id, dataset_name)
    else:
        target = out_dir
    _check_empty(target)
    entries = []
    for number, case in enumerate(cases):
        yield Progress(number, len(cases), f"exporting {case.id}")
        entries.append(_copy_case(store, case, target, format))
    _write_json(target / "legseg_cases.json", entries)
    if format == "nnunet":
        _write_nnunet_json(target, cases, dataset_id, dataset_name)
        return target
    _write_json(target / "datalist.json", _monai_datalist(entries))
    return target / "datalist.json"


def _nnunet_folder(out_dir: Path, dataset_id: int, dataset_name: str) -> Path:
    if not 1 <= int(dataset_id) <= 999:
        raise StoreError(f"nnU-Net dataset id {dataset_id} must lie in 1..999")
    if not re.match(r"^[A-Za-z0-9_-]{1,60}$", dataset_name):
        raise StoreError(f"nnU-Net dataset name {dataset_name!r} must be letters, digits, '_' or '-'")
    return out_dir / f"Dataset{int(dataset_id):03d}_{dataset_name}"


def _check_empty(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise StoreError(f"{target} exists and is not an empty folder; export into a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)


def _copy(source: Path, sha256: str, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(destination, read_verified(source, sha256))


def _copy_case(store: "Store", case: CaseRecord, target: Path, format: str) -> dict[str, Any]:
    version = store.version(case.accepted_version or "")
    image_row = store.catalog.read(lambda c: image_row_of(c, case.id, SEGMENTATION_IMAGE))
    if format == "nnunet":
        folder = "Ts" if case.split == "test" else "Tr"
        image, label = f"images{folder}/{case.id}_0000.nii.gz", f"labels{folder}/{case.id}.nii.gz"
    else:
        image, label = f"images/{case.id}.nii.gz", f"labels/{case.id}.nii.gz"
    _copy(inside(store.root, image_row["file"]), image_row["sha256"], target / image)
    _copy(inside(store.root, version.file), version.sha256, target / label)
    meta = case.metadata
    return {"image": image, "label": label, "case_id": case.id, "label_version": version.id, "split": case.split,
            "contrast": meta.contrast, "health": meta.health, "protocol": meta.protocol,
            "diagnosis": meta.diagnosis, "provenance": version.provenance}


def _write_json(path: Path, payload: Any) -> None:
    write_text_atomically(path, json.dumps(payload, indent=2) + "\n")


def _write_nnunet_json(target: Path, cases: list[CaseRecord], dataset_id: int, dataset_name: str) -> None:
    contrasts = sorted({c.metadata.contrast for c in cases})
    training = [c for c in cases if c.split != "test"]
    dataset = {
        "name": dataset_name, "description": "LegSeg store export: seven lower-leg muscles",
        "channel_names": {"0": contrasts[0] if len(contrasts) == 1 else "MRI"},
        "labels": {"background": 0, **{m.abbr: m.id for m in MUSCLES}},
        "numTraining": len(training), "file_ending": ".nii.gz",
        "legseg": {"dataset_id": int(dataset_id), "contrasts": contrasts, "test_cases": len(cases) - len(training)},
    }
    _write_json(target / "dataset.json", dataset)
    folds = [{"train": [c.id for c in training if c.split == "train"],
              "val": [c.id for c in training if c.split == "validation"]}]
    _write_json(target / "splits_final.json", folds)


def _monai_datalist(entries: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {"train": "training", "validation": "validation", "test": "test"}
    datalist: dict[str, Any] = {"description": "LegSeg store export: seven lower-leg muscles",
                                "labels": {"0": "background", **{str(m.id): m.abbr for m in MUSCLES}},
                                "training": [], "validation": [], "test": []}
    for entry in entries:
        datalist[keys[entry["split"]]].append(entry)
    return datalist
