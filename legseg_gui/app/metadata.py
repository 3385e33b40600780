"""What a newly opened scan is: contrast, health status, diagnosis, with defaults from the file.

Pure Python (no Qt). :func:`metadata_defaults` guesses what it can from a scan's technical
metadata (DICOM series description, protocol name, scanner) and its file name; the user
confirms or corrects it in the metadata dialog before the case is added to the store. No
patient data is read or kept: only the technical attributes the reader already keeps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from legseg_core.io import Volume
from legseg_core.store import CaseMetadata

#: Contrast names offered in the dialog (any other short name may be typed).
CONTRAST_CHOICES: tuple[str, ...] = ("t1w", "t2w", "pd", "dixon_water", "dixon_fat", "dixon_in_phase",
                                     "dixon_opposed_phase", "diffusion", "unknown")
#: Diagnoses offered in the dialog (free text is allowed).
DIAGNOSIS_CHOICES: tuple[str, ...] = ("", "pompe", "mcardle", "ibm", "dm1", "dm2", "lgmd", "fshd", "other")

#: (pattern, contrast), first match wins; matched against lower-case descriptions and the file name.
CONTRAST_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(dixon|ideal|mdixon|flex).*(water|_w\b|\bw\b)|water", "dixon_water"),
    (r"(dixon|ideal|mdixon|flex).*(fat|_f\b|\bf\b)|\bfat\b|_fat", "dixon_fat"),
    (r"in[_ -]?phase|\bip\b", "dixon_in_phase"),
    (r"opp(osed)?[_ -]?phase|out[_ -]?phase|\bop\b", "dixon_opposed_phase"),
    (r"dwi|dti|diffusion|adc|\bmd\b|trace", "diffusion"),
    (r"t1", "t1w"),
    (r"t2", "t2w"),
    (r"\bpd\b|proton[_ -]?density|_pd", "pd"),
)


def guess_contrast(*texts: str) -> str:
    """The contrast a series description, protocol name or file name suggests, or 'unknown'."""
    for text in texts:
        lowered = str(text or "").lower()
        for pattern, contrast in CONTRAST_PATTERNS:
            if lowered and re.search(pattern, lowered):
                return contrast
    return "unknown"


#: Keys of a scan's JSON sidecar (``scan.json`` beside ``scan.nii.gz``) that say what the case is.
SIDECAR_KEYS = ("contrast", "protocol", "health", "diagnosis")


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar of a scan file, BIDS-style: the same name with ``.json`` for ``.nii``/``.nii.gz``."""
    path = Path(path)
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".json")
    return path.with_name(name + ".json")


def read_sidecar(path: str | Path | None) -> dict[str, str]:
    """What a scan's JSON sidecar says of the case (:data:`SIDECAR_KEYS`); {} without a readable one.

    BIDS sidecars name the protocol ``ProtocolName``; that is used when ``protocol`` is absent."""
    if path is None:
        return {}
    sidecar = sidecar_path(path)
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    found = {key: str(document[key]) for key in SIDECAR_KEYS if document.get(key) not in (None, "")}
    if "protocol" not in found and document.get("ProtocolName"):
        found["protocol"] = str(document["ProtocolName"])
    return found


def metadata_defaults(volume: Volume, path: str | Path | None = None) -> CaseMetadata:
    """Defaults for the metadata dialog from a scan's JSON sidecar, technical metadata and file name."""
    meta: dict[str, Any] = volume.metadata
    description = str(meta.get("SeriesDescription", "") or meta.get("description", ""))
    protocol = str(meta.get("ProtocolName", "") or meta.get("SeriesDescription", ""))
    name = Path(path).name if path is not None else str(meta.get("name", ""))
    scanner = " ".join(str(meta[k]) for k in ("Manufacturer", "ManufacturerModelName") if meta.get(k))
    field = meta.get("MagneticFieldStrength")
    if field:
        scanner = f"{scanner} {float(field):g} T".strip()
    sidecar = read_sidecar(path)
    contrast = sidecar.get("contrast") or guess_contrast(description, protocol, str(meta.get("SequenceName", "")), name)
    return CaseMetadata(contrast=contrast, protocol=sidecar.get("protocol", protocol)[:200], scanner=scanner[:200],
                        health=sidecar.get("health", "unknown"), diagnosis=sidecar.get("diagnosis", "")[:200])
