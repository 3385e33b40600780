"""Identifiers and file names inside the store, and the guard that keeps them inside it.

Case and label-version ids are generated here (``case-`` or ``lv-`` and 12 hex digits of a
random UUID); they never carry a patient name or a DICOM identifier. Everything that comes
from user input and ends up in a path (ids typed on the command line, extra image names) is
checked against a strict pattern first, and every path is checked to resolve inside the store.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

from legseg_core.store.errors import UnknownRecordError
from legseg_core.errors import StoreError

CASE_PREFIX = "case-"
VERSION_PREFIX = "lv-"
CASE_ID_PATTERN = re.compile(r"^case-[0-9a-f]{12}$")
VERSION_ID_PATTERN = re.compile(r"^lv-[0-9a-f]{12}$")
#: Extra image names: a letter first, then letters, digits, '_' or '-', at most 40 characters.
IMAGE_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
#: The name of a case's segmentation image (the one labels are drawn on).
SEGMENTATION_IMAGE = "image"
#: Names an extra image may not take (they are files or folders of the case already).
RESERVED_IMAGE_NAMES = frozenset({SEGMENTATION_IMAGE, "labels"})


def new_case_id() -> str:
    """A fresh case id, ``case-`` and 12 random hex digits."""
    return CASE_PREFIX + uuid.uuid4().hex[:12]


def new_version_id() -> str:
    """A fresh label-version id, ``lv-`` and 12 random hex digits."""
    return VERSION_PREFIX + uuid.uuid4().hex[:12]


def check_case_id(case_id: str) -> str:
    """Return ``case_id`` if it has the form ``case-<12 hex>``; refuse anything else (``../``, paths)."""
    if not isinstance(case_id, str) or not CASE_ID_PATTERN.match(case_id):
        raise UnknownRecordError(f"{case_id!r} is not a case id (expected 'case-' and 12 hex digits, "
                                 "as `legseg store list` shows)")
    return case_id


def check_version_id(version_id: str) -> str:
    """Return ``version_id`` if it has the form ``lv-<12 hex>``; refuse anything else."""
    if not isinstance(version_id, str) or not VERSION_ID_PATTERN.match(version_id):
        raise UnknownRecordError(f"{version_id!r} is not a label-version id (expected 'lv-' and 12 hex digits, "
                                 "as `legseg store history CASE` shows)")
    return version_id


def check_image_name(name: str) -> str:
    """Return an extra image's name if it is safe as a file name and not reserved."""
    if not isinstance(name, str) or not IMAGE_NAME_PATTERN.match(name):
        raise StoreError(f"image name {name!r} is not allowed: use a letter, then letters, digits, '_' or '-' "
                         "(at most 40), e.g. dixon_fat")
    if name.lower() in RESERVED_IMAGE_NAMES:
        raise StoreError(f"image name {name!r} is reserved; choose another, e.g. dixon_fat")
    return name


def case_folder(case_id: str) -> str:
    """The case's folder relative to the store root."""
    return f"cases/{check_case_id(case_id)}"


def image_file(case_id: str, name: str) -> str:
    """Relative path of one of a case's images (``image`` or an extra image name)."""
    if name != SEGMENTATION_IMAGE:
        check_image_name(name)
    return f"{case_folder(case_id)}/{name}.nii.gz"


def label_file(case_id: str, version_id: str) -> str:
    """Relative path of a label version's NIfTI file."""
    return f"{case_folder(case_id)}/labels/{check_version_id(version_id)}.nii.gz"


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it resolves to a path inside ``root``."""
    root_resolved = root.resolve()
    candidate = (root_resolved / relative).resolve()
    if candidate == root_resolved or root_resolved not in candidate.parents:
        raise StoreError(f"{relative!r} would lie outside the store {root}; refused")
    return candidate


def hash_source_name(name: str, salt: str) -> str:
    """sha256 (hex) of a source file name with the store's salt: lets a store recognise a file it
    has seen without keeping its name, which may carry a patient's name."""
    return hashlib.sha256(f"{salt}\0{name}".encode()).hexdigest()
