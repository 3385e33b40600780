"""Crash recovery: autosaved, unsaved label edits that can be offered back after a crash or restart.

While a user corrects labels (in napari or the LegSeg application), the unsaved ``[z, y, x]``
uint8 label array is written here every so often. After a crash, or when the user closes
without saving, :meth:`RecoveryArea.pending` lists what can be offered back;
:meth:`RecoveryArea.restore` reads it and :meth:`RecoveryArea.discard` drops it (done after the
edit was saved as a label version, or when the user declines it).

Where it lives: ``<store>/recovery`` when a store is in use, else ``<user data folder>/recovery``
(see :func:`recovery_folder`).

Keys: each entry belongs to one case of the store (``case_id``) or, for a scan that is not in
the store yet, to one source file or folder (``source``, kept as its absolute path so that the
scan can be reopened) or to a scan that has no file at all (``source="memory:<name>"``, e.g.
sample data or an image made in the session: it can only be matched to an open scan of the
same grid). There is at most one file per key: a new save replaces the old one.

Files: ``case-<case id>.npz`` or ``file-<sha256 of the source path, 16 hex>.npz``, each holding
``labels`` (uint8 ``[z, y, x]``) and ``header`` (UTF-8 JSON: schema version, key, time, base
label version, source, shape, spacing in mm, free details). A save writes a temporary file in
the same folder, flushes it to disk and renames it over the old one, so a crash at any moment
leaves either the previous or the new file whole, never a torn one. Leftover temporary files of
an interrupted save are ignored by :meth:`RecoveryArea.pending` and removed by a later save once
they are ten minutes old.
Loading never executes code (``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.errors import LegsegError
from legseg_core.atomic import TEMPORARY_PREFIX, write_atomically
from legseg_core.labels import NUM_CLASSES

log = logging.getLogger(__name__)

RECOVERY_FOLDER = "recovery"
SCHEMA_VERSION = 1
SUFFIX = ".npz"
#: A source that names a scan without a file (kept as it is, never opened).
MEMORY_PREFIX = "memory:"
#: Temporary files older than this are leftovers of an interrupted save and are removed.
LEFTOVER_AGE_SECONDS = 600.0
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class RecoveryError(LegsegError):
    """A recovery entry cannot be saved, found or read (bad key, damaged file, wrong shape)."""


def recovery_folder(store_root: str | os.PathLike[str] | None = None) -> Path:
    """``<store_root>/recovery``, or ``<user data folder>/recovery`` when there is no store."""
    if store_root is not None and str(store_root).strip():
        return Path(store_root).expanduser() / RECOVERY_FOLDER
    from legseg_core.store.location import user_data_directory

    return user_data_directory() / RECOVERY_FOLDER


@dataclass(frozen=True)
class RecoveryEntry:
    """One autosaved edit: who it belongs to (a case id or a source path), when, and on what base.

    ``saved`` is an ISO 8601 UTC time; ``base_version`` the label version the edit started from
    (None for labels drawn from scratch or from an unsaved prediction); ``shape`` the ``(z, y, x)``
    voxel count and ``spacing`` the voxel size in mm ``(z, y, x)``; ``details`` free JSON values
    (the model that predicted the labels, the layer name...). ``path`` is the file on disk.
    """

    key: str
    case_id: str | None
    source: str | None
    saved: str
    base_version: str | None
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    path: Path
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One line for a list shown to the user."""
        if self.case_id:
            what = f"case {self.case_id}"
        elif str(self.source).startswith(MEMORY_PREFIX):
            what = f"unsaved scan {str(self.source)[len(MEMORY_PREFIX):]}"
        else:
            what = f"scan {self.source}"
        base = f", from version {self.base_version}" if self.base_version else ""
        return f"{what}{base}, saved {self.saved}"

    def header(self) -> dict[str, Any]:
        """The JSON header written into the file."""
        return {"schema": SCHEMA_VERSION, "key": self.key, "case_id": self.case_id, "source": self.source,
                "saved": self.saved, "base_version": self.base_version, "shape": list(self.shape),
                "spacing": list(self.spacing), "details": self.details}


def entry_key(*, case_id: str | None = None, source: str | os.PathLike[str] | None = None) -> str:
    """The key (and file stem) of a case id or of a source path; exactly one of them must be given."""
    if (case_id is None) == (source is None):
        raise RecoveryError("a recovery entry belongs to exactly one case id or one source path; "
                            f"got case_id={case_id!r}, source={source!r}")
    if case_id is not None:
        if not _CASE_ID.match(str(case_id)):
            raise RecoveryError(f"case id {case_id!r} must be 1 to 100 letters, digits, '_', '.', '-'")
        return f"case-{case_id}"
    digest = hashlib.sha256(normalised_source(source).encode("utf-8")).hexdigest()[:16]
    return f"file-{digest}"


def normalised_source(source: str | os.PathLike[str] | None) -> str:
    """A source path as an absolute path string (the same scan always gives the same key);
    a ``memory:<name>`` source as it is."""
    text = str(source or "").strip()
    if not text or text == MEMORY_PREFIX:
        raise RecoveryError("the source of a recovery entry must be a non-empty path or memory:<name>")
    if text.startswith(MEMORY_PREFIX):
        return text
    return str(Path(text).expanduser().absolute())


class RecoveryArea:
    """The folder of autosaved edits; one file per case or source (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    @classmethod
    def for_store(cls, store_root: str | os.PathLike[str] | None = None) -> "RecoveryArea":
        """The recovery area of a store folder, or of the user data folder when ``store_root`` is None."""
        return cls(recovery_folder(store_root))

    # ---- writing ---------------------------------------------------------------------------------

    def save(self, labels: np.ndarray, *, case_id: str | None = None,
             source: str | os.PathLike[str] | None = None, base_version: str | None = None,
             spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
             details: dict[str, Any] | None = None) -> RecoveryEntry:
        """Autosave ``labels`` (uint8-compatible ``[z, y, x]``, values 0..7) for a case or a source
        path, replacing any earlier entry of the same key; returns the new entry."""
        array = _checked_labels(labels)
        key = entry_key(case_id=case_id, source=source)
        entry = RecoveryEntry(
            key=key, case_id=case_id, source=None if source is None else normalised_source(source),
            saved=datetime.now(timezone.utc).isoformat(timespec="seconds"), base_version=base_version,
            shape=tuple(int(n) for n in array.shape),  # type: ignore[arg-type]
            spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
            path=self.folder / f"{key}{SUFFIX}", details=_jsonable_details(details))
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(entry.path, _encode(array, entry.header()))
        self._remove_leftovers()
        log.info("autosaved unsaved labels of %s to %s", entry.case_id or entry.source, entry.path)
        return entry

    def discard(self, entry: RecoveryEntry | str) -> bool:
        """Remove an entry (or the entry of a key); True if a file was removed, False if there was none."""
        path = self.folder / f"{entry.key if isinstance(entry, RecoveryEntry) else str(entry)}{SUFFIX}"
        if path.parent != self.folder or not path.name.startswith(("case-", "file-")):
            raise RecoveryError(f"{entry!r} is not a recovery key (case-<id> or file-<hash>)")
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        log.info("discarded recovery file %s", path)
        return True

    # ---- reading ---------------------------------------------------------------------------------

    def pending(self) -> list[RecoveryEntry]:
        """Every readable entry, newest first; damaged files are logged and left out (never raised)."""
        if not self.folder.is_dir():
            return []
        entries = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            if path.name.startswith(TEMPORARY_PREFIX):
                continue
            try:
                entries.append(self._read_header(path))
            except RecoveryError as error:
                log.warning("skipping a damaged recovery file: %s", error)
        return sorted(entries, key=lambda e: e.saved, reverse=True)

    def find(self, *, case_id: str | None = None, source: str | os.PathLike[str] | None = None) -> RecoveryEntry | None:
        """The entry of a case id or source path, or None if there is none (or it is damaged)."""
        path = self.folder / f"{entry_key(case_id=case_id, source=source)}{SUFFIX}"
        if not path.is_file():
            return None
        try:
            return self._read_header(path)
        except RecoveryError as error:
            log.warning("ignoring a damaged recovery file: %s", error)
            return None

    def restore(self, entry: RecoveryEntry | str, *,
                expected_shape: tuple[int, int, int] | None = None) -> tuple[RecoveryEntry, np.ndarray]:
        """The entry and its uint8 ``[z, y, x]`` labels; with ``expected_shape``, refuse labels of another grid.

        The file stays until :meth:`discard` (so that a crash while restoring loses nothing)."""
        key = entry.key if isinstance(entry, RecoveryEntry) else str(entry)
        path = self.folder / f"{key}{SUFFIX}"
        if not path.is_file():
            raise RecoveryError(f"no recovery file {path}; it was restored and discarded, or never saved")
        header, labels = _decode(path)
        found = _entry_from_header(header, path)
        if expected_shape is not None and tuple(expected_shape) != found.shape:
            raise RecoveryError(f"{path}: the autosaved labels have shape {found.shape} ([z, y, x]) but the scan "
                                f"has {tuple(expected_shape)}; they belong to another grid")
        return found, labels

    def _read_header(self, path: Path) -> RecoveryEntry:
        header, _ = _decode(path, labels=False)
        return _entry_from_header(header, path)

    def _remove_leftovers(self) -> None:
        """Remove temporary files of saves interrupted long ago (a fresh one may be another process's)."""
        now = datetime.now(timezone.utc).timestamp()
        for leftover in self.folder.glob(f"{TEMPORARY_PREFIX}*"):
            try:
                if now - leftover.stat().st_mtime > LEFTOVER_AGE_SECONDS:
                    leftover.unlink()
            except OSError as error:
                log.debug("could not remove %s: %s", leftover, error)


# ---- file format ---------------------------------------------------------------------------------


def _checked_labels(labels: np.ndarray) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 3 or 0 in array.shape:
        raise RecoveryError(f"autosaved labels must be a non-empty 3D [z, y, x] array, got shape {array.shape}")
    if array.dtype.kind not in "uib":
        raise RecoveryError(f"autosaved labels must be whole numbers, got data type {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= NUM_CLASSES):
        raise RecoveryError(f"autosaved labels must lie in 0..{NUM_CLASSES - 1}, found "
                            f"{array.min()}..{array.max()}")
    return array.astype(np.uint8, copy=False)


def _jsonable_details(details: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(details or {}))
    except (TypeError, ValueError) as error:
        raise RecoveryError(f"recovery details must be plain JSON values: {error}") from error


def _encode(labels: np.ndarray, header: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    header_bytes = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(buffer, labels=labels, header=header_bytes)
    return buffer.getvalue()


def _decode(path: Path, *, labels: bool = True) -> tuple[dict[str, Any], np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(archive["header"].tobytes().decode("utf-8"))
            array = archive["labels"] if labels else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise RecoveryError(f"{path}: not a readable recovery file ({type(error).__name__}: {error})") from error
    schema = header.get("schema") if isinstance(header, dict) else header
    if schema != SCHEMA_VERSION:
        raise RecoveryError(f"{path}: unknown recovery file schema {schema!r} (this LegSeg reads {SCHEMA_VERSION})")
    return header, None if array is None else array.astype(np.uint8, copy=False)


def _entry_from_header(header: dict[str, Any], path: Path) -> RecoveryEntry:
    try:
        return RecoveryEntry(key=str(header["key"]), case_id=header.get("case_id"), source=header.get("source"),
                             saved=str(header["saved"]), base_version=header.get("base_version"),
                             shape=tuple(int(n) for n in header["shape"]),  # type: ignore[arg-type]
                             spacing=tuple(float(s) for s in header["spacing"]),  # type: ignore[arg-type]
                             path=path, details=dict(header.get("details") or {}))
    except (KeyError, TypeError, ValueError) as error:
        raise RecoveryError(f"{path}: recovery header lacks or mangles {error}") from error
