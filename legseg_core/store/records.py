"""What the catalog holds, as frozen dataclasses: case metadata, cases, label versions, edits.

Vocabularies:

* health status: ``healthy``, ``patient`` or ``unknown`` (aliases such as ``control`` are mapped);
* review status: ``new`` (no labels yet), ``in_review`` (labelled, not accepted), ``accepted``
  (its accepted version is what training uses), ``excluded`` (kept, never used);
* provenance of a label version: ``manual`` (drawn in LegSeg), ``predicted:<model id>``,
  ``corrected:<label-version id>`` (edited in LegSeg), ``imported[:<file name>]`` (a label file
  from elsewhere) or ``synthetic[:<generator>]`` (a phantom's ground truth).

Voxel counts are keyed by the muscle abbreviations of :mod:`legseg_core.labels` (GL ... TP).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from legseg_core.errors import StoreError

HEALTH_STATUSES = ("healthy", "patient", "unknown")
HEALTH_ALIASES = {"control": "healthy", "controls": "healthy", "healthy_control": "healthy", "hc": "healthy",
                  "volunteer": "healthy", "normal": "healthy", "disease": "patient", "patients": "patient",
                  "diseased": "patient", "": "unknown", "na": "unknown", "n/a": "unknown"}
REVIEW_STATUSES = ("new", "in_review", "accepted", "excluded")
PROVENANCE_KINDS = ("manual", "predicted", "corrected", "imported", "synthetic")
#: Free-text metadata values (contrast, protocol, site ...) are at most this long.
MAX_TEXT = 200
_VOCABULARY_TEXT = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")


def normalise_health(value: str | None) -> str:
    """Map a health status (or an alias like 'control') to healthy / patient / unknown."""
    text = str(value or "").strip().lower().replace(" ", "_")
    text = HEALTH_ALIASES.get(text, text)
    if text not in HEALTH_STATUSES:
        raise StoreError(f"health status {value!r} is not one of {', '.join(HEALTH_STATUSES)} "
                         f"(aliases: {', '.join(sorted(k for k in HEALTH_ALIASES if k))})")
    return text


def normalise_contrast(value: str | None) -> str:
    """Lower-case a contrast name with '_' for spaces (``Dixon water`` -> ``dixon_water``); empty -> unknown."""
    text = re.sub(r"\s+", "_", str(value or "").strip().lower()) or "unknown"
    if len(text) > 60 or not _VOCABULARY_TEXT.match(text):
        raise StoreError(f"contrast {value!r} is not a short name of letters, digits, '_', '-', '.', '+' "
                         "(e.g. t1w, dixon_water, t2, pd, dwi)")
    return text


def check_text(field_name: str, value: Any) -> str:
    """A free-text metadata value as a stripped string, refused if over :data:`MAX_TEXT` characters."""
    text = "" if value is None else str(value).strip()
    if len(text) > MAX_TEXT and field_name != "notes":
        raise StoreError(f"{field_name} {text[:40]!r}... is {len(text)} characters long; at most {MAX_TEXT}")
    return text


def check_review_status(status: str) -> str:
    """Return ``status`` if it is one of :data:`REVIEW_STATUSES`."""
    if status not in REVIEW_STATUSES:
        raise StoreError(f"review status {status!r} is not one of {', '.join(REVIEW_STATUSES)}")
    return status


@dataclass(frozen=True)
class CaseMetadata:
    """What a user says about a case. Shape, slices and voxel size come from the image itself.

    ``extra`` holds further numbers or short texts (e.g. a phantom's fat fraction per muscle).
    """

    contrast: str = "unknown"
    protocol: str = ""
    site: str = ""
    scanner: str = ""
    health: str = "unknown"
    diagnosis: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def normalised(self) -> "CaseMetadata":
        """A copy with the vocabularies checked and free texts trimmed."""
        texts = {name: check_text(name, getattr(self, name)) for name in ("protocol", "site", "scanner",
                                                                         "diagnosis", "notes")}
        return CaseMetadata(contrast=normalise_contrast(self.contrast), health=normalise_health(self.health),
                            extra=_check_extra(self.extra), **texts)


def _check_extra(extra: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not re.match(r"^[A-Za-z0-9_.-]{1,60}$", key):
            raise StoreError(f"extra metadata key {key!r} must be 1 to 60 letters, digits, '_', '.', '-'")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise StoreError(f"extra metadata {key}={value!r} must be a number or a short text")
        checked[key] = check_text(key, value) if isinstance(value, str) else value
    return checked


@dataclass(frozen=True)
class Provenance:
    """Where a label version came from: ``kind`` (manual, predicted, corrected, imported, synthetic) and a
    reference."""

    kind: str
    reference: str = ""

    @classmethod
    def parse(cls, text: str) -> "Provenance":
        """Parse ``manual``, ``predicted:<model id>``, ``corrected:<version id>``, ``imported[:<file name>]``
        or ``synthetic[:<name>]``."""
        kind, _, reference = str(text).strip().partition(":")
        if kind not in PROVENANCE_KINDS:
            raise StoreError(f"provenance {text!r} must be manual, predicted:<model id>, "
                             "corrected:<label-version id>, imported[:<file name>] or synthetic[:<generator>]")
        if kind == "manual" and reference:
            raise StoreError(f"provenance {text!r}: 'manual' takes no reference")
        if kind in ("predicted", "corrected") and not reference:
            raise StoreError(f"provenance {text!r} needs a reference: {kind}:<"
                             f"{'model id' if kind == 'predicted' else 'label-version id'}>")
        if reference and not _REFERENCE.match(reference):
            raise StoreError(f"provenance reference {reference!r} must be letters, digits, '_', '.', ':', '+', '-'")
        return cls(kind, reference)

    def __str__(self) -> str:
        return f"{self.kind}:{self.reference}" if self.reference else self.kind


@dataclass(frozen=True)
class EditStatistics:
    """A label version against its parent (or against empty labels when it has none).

    ``added[m]``: voxels that are muscle m now and were not before; ``removed[m]``: voxels that
    were muscle m and are not now; ``slices_touched``: the z indices of slices with any change.
    """

    added: dict[str, int]
    removed: dict[str, int]
    slices_touched: tuple[int, ...]
    changed_voxels: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "slices_touched": list(self.slices_touched)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EditStatistics":
        """Inverse of :meth:`to_dict`."""
        return cls(dict(data["added"]), dict(data["removed"]), tuple(data["slices_touched"]),
                   int(data["changed_voxels"]))


@dataclass(frozen=True)
class LabelVersion:
    """One immutable label version of a case; its voxels live in the NIfTI file ``file`` (store-relative)."""

    id: str
    case_id: str
    parent_id: str | None
    provenance: str
    author: str
    created: str
    file: str
    sha256: str
    size_bytes: int
    voxels: dict[str, int]
    edits: EditStatistics
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "edits": self.edits.to_dict()}


@dataclass(frozen=True)
class CaseRecord:
    """One case: its metadata, grid, split, review status and label-version bookkeeping.

    ``shape`` is the canonical ``(z, y, x)`` voxel count and ``spacing`` the voxel size in mm
    ``(z, y, x)``; ``images`` names the stored images (``image`` is the segmentation image).
    """

    id: str
    created: str
    updated: str
    metadata: CaseMetadata
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    split: str
    status: str
    accepted_version: str | None
    latest_version: str | None
    version_count: int
    images: tuple[str, ...]
    technical_json: str
    source_name_sha256: str | None

    @property
    def technical(self) -> dict[str, Any]:
        """How the scan was read and its technical DICOM attributes (no patient data)."""
        return json.loads(self.technical_json)

    @property
    def slices(self) -> int:
        """Number of axial slices."""
        return self.shape[0]

    @property
    def field_of_view_mm(self) -> tuple[float, float, float]:
        """Extent of the grid in mm ``(z, y, x)``."""
        return tuple(round(n * s, 3) for n, s in zip(self.shape, self.spacing))  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the metadata fields flattened in."""
        data = asdict(self)
        metadata = data.pop("metadata")
        data["technical"] = self.technical
        return {"id": self.id, **metadata, **{k: v for k, v in data.items() if k not in ("id", "technical_json")},
                "shape": list(self.shape), "spacing": list(self.spacing), "slices": self.slices,
                "field_of_view_mm": list(self.field_of_view_mm), "images": list(self.images)}
