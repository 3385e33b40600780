"""The Store: the growing training set, one folder with an SQLite catalog and NIfTI files.

Layout of a store folder::

    catalog.sqlite                         the catalog (WAL mode; -wal and -shm files beside it)
    cases/<case id>/image.nii.gz           the segmentation image, on its source grid
    cases/<case id>/<name>.nii.gz          further images on the same grid (e.g. dixon_fat)
    cases/<case id>/labels/<version>.nii.gz  one immutable file per label version

Every write puts its files on disk first (temporary name, flush, rename) and then commits one
catalog transaction; nothing is ever overwritten or deleted, so a crash at any point leaves the
catalog consistent and every committed version intact. Arrays are canonical ``[z, y, x]``.
"""

from __future__ import annotations

import getpass
import logging
import secrets
import shlex
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from legseg_core import __version__
from legseg_core.errors import StoreError
from legseg_core.io import check_same_grid, load_labels as load_label_file, load_volume
from legseg_core.io.dicom import KEPT_ATTRIBUTES
from legseg_core.io.volume import SourceGeometry, Volume
from legseg_core.store import queries, writes
from legseg_core.store.catalog import CATALOG_NAME, Catalog, now_iso
from legseg_core.store.errors import DuplicateCaseError, StoreMissingError
from legseg_core.store.files import (EncodedFile, decode_volume, encode_nifti, read_verified, remove_file,
                                     write_atomically)
from legseg_core.store.labelstats import checked_labels, edit_statistics, voxels_per_muscle
from legseg_core.store.location import resolve_store_path
from legseg_core.store.naming import (SEGMENTATION_IMAGE, check_image_name, hash_source_name, image_file, inside,
                                      label_file, new_case_id, new_version_id)
from legseg_core.store.records import CaseMetadata, CaseRecord, LabelVersion, Provenance, check_review_status
from legseg_core.store.splits import SplitConfig
from legseg_core.store.summary import StoreSummary, summarise

if TYPE_CHECKING:
    from legseg_core.store.verify import VerifyReport

log = logging.getLogger(__name__)

#: The only scan metadata a store keeps: technical DICOM attributes and how the scan was read.
TECHNICAL_KEYS = (*KEPT_ATTRIBUTES, "files", "frame", "source_orientation", "obliquity_degrees",
                  "nonfinite_voxels", "dtype")
METADATA_FIELDS = tuple(f.name for f in dataclass_fields(CaseMetadata))

ImageInput = Volume | str | Path
LabelInput = np.ndarray | Volume | str | Path


def default_author() -> str:
    """The operating-system user name, or 'unknown'."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


class Store:
    """A case store. Create one with :meth:`init`, open one with :meth:`open`."""

    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = Path(root)
        self.catalog = catalog
        self.splits = SplitConfig.from_json(catalog.setting("splits") or SplitConfig().to_json())
        self._salt = catalog.setting("name_salt") or ""

    # ---- creating and opening -----------------------------------------------------------------

    @classmethod
    def init(cls, path: str | Path | None = None, *, splits: SplitConfig | None = None) -> "Store":
        """Create a new, empty store at ``path`` (default: ``$LEGSEG_STORE`` or the user data folder), with no
        models; stores for users are made by :func:`legseg_core.starter.stores.create_store`."""
        root = resolve_store_path(path)
        if (root / CATALOG_NAME).exists():
            raise StoreError(f"{root}: a LegSeg store exists here already")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise StoreError(f"{root}: not an empty folder; a new store needs an empty or a new folder")
        (root / "cases").mkdir(parents=True, exist_ok=True)
        settings = {"store_id": uuid.uuid4().hex, "created": now_iso(), "legseg_version": __version__,
                    "splits": (splits or SplitConfig()).to_json(), "name_salt": secrets.token_hex(16)}
        catalog = Catalog.create(root / CATALOG_NAME, settings)
        log.info("created a store at %s", root)
        return cls(root, catalog)

    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = False) -> "Store":
        """Open the store at ``path`` (default location as in :meth:`init`); ``create`` makes it if missing,
        as every store a user creates, with the starter models (:func:`legseg_core.starter.stores.create_store`)."""
        root = resolve_store_path(path)
        if not (root / CATALOG_NAME).is_file():
            if create:
                from legseg_core.starter.stores import create_store

                return create_store(root)
            raise StoreMissingError(f"no LegSeg store at {root}; create one with "
                                    f"`legseg store init --store {shlex.quote(str(root))}`")
        catalog = Catalog(root / CATALOG_NAME)
        catalog.migrate()
        return cls(root, catalog)

    def close(self) -> None:
        """Close the catalog connections of this process (the store reopens them when used again)."""
        self.catalog.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- cases -----------------------------------------------------------------------------------

    def add_case(self, image: ImageInput, *, metadata: CaseMetadata | None = None,
                 extra_images: Mapping[str, ImageInput] | None = None, source_name: str | None = None,
                 author: str | None = None, allow_duplicate: bool = False,
                 volume_options: Mapping[str, Any] | None = None, **fields: Any) -> CaseRecord:
        """Add a case: its segmentation image (a Volume, or a NIfTI/DICOM path) and optional further
        images on the same grid. Metadata comes as ``metadata`` and/or keyword fields (contrast,
        protocol, site, scanner, health, diagnosis, notes, extra). The source file name is kept
        only as a salted sha256. An image already in the store is refused unless ``allow_duplicate``."""
        meta = _metadata(metadata, fields)
        volume, name = _volume_and_name(image, volume_options)
        images = {SEGMENTATION_IMAGE: volume, **self._extra_volumes(volume, extra_images or {}, volume_options)}
        encoded = {key: encode_nifti(v.data, v.geometry) for key, v in images.items()}
        duplicate = self.catalog.read(lambda c: queries.case_with_image_checksum(c, encoded["image"].sha256))
        if duplicate and not allow_duplicate:
            raise DuplicateCaseError(f"this image is in the store already as {duplicate}; nothing was added", duplicate)
        case_id = new_case_id()
        stored = {key: (self._write(image_file(case_id, key), e), str(images[key].data.dtype))
                  for key, e in encoded.items()}
        source = source_name or name
        new = writes.NewCase(case_id, meta, volume.shape, tuple(float(s) for s in volume.spacing),
                             _geometry_dict(volume.geometry), _technical(volume),
                             hash_source_name(source, self._salt) if source else None, stored, allow_duplicate)
        self._commit(lambda c: writes.insert_case(c, new, self.splits, author or default_author()),
                     [f for f, _ in stored.values()], lambda: self._case_exists(case_id))
        log.info("added %s (%s, %s)", case_id, meta.contrast, meta.health)
        return self.case(case_id)

    def _extra_volumes(self, volume: Volume, extras: Mapping[str, ImageInput],
                       options: Mapping[str, Any] | None) -> dict[str, Volume]:
        loaded = {}
        for name, source in extras.items():
            check_image_name(name)
            extra, _ = _volume_and_name(source, options)
            check_same_grid(volume, extra, what=f"the voxels of image {name!r}")
            loaded[name] = extra
        return loaded

    def update_metadata(self, case_id: str, *, author: str | None = None, **fields: Any) -> CaseRecord:
        """Change a case's metadata fields; its split stays (splits are sticky)."""
        current = self.case(case_id).metadata
        new = _metadata(current, fields)
        changed = [f"{k}: {getattr(current, k)!r} -> {getattr(new, k)!r}" for k in fields
                   if getattr(current, k) != getattr(new, k)]
        if changed:
            self.catalog.write(lambda c: writes.update_metadata(c, case_id, new, author or default_author(), changed))
        return self.case(case_id)

    def set_status(self, case_id: str, status: str, *, reason: str = "", author: str | None = None) -> CaseRecord:
        """Set the review status to new, in_review or excluded (acceptance goes through :meth:`accept`)."""
        check_review_status(status)
        if status == "accepted":
            raise StoreError(f"{case_id}: accept a case with accept(case_id, version_id), which names the "
                             "version training uses (command line: `legseg store accept`)")
        self.catalog.write(lambda c: writes.set_status(c, queries.select_case(c, case_id).id, status,
                                                       author or default_author(), reason))
        return self.case(case_id)

    # ---- label versions ------------------------------------------------------------------------

    def add_label_version(self, case_id: str, labels: LabelInput, *, provenance: str = "manual",
                          author: str | None = None, parent: str | None = None, note: str = "") -> LabelVersion:
        """Add an immutable label version: ``labels`` is a ``[z, y, x]`` array with values 0..7, a
        Volume or a NIfTI path on the case's grid. ``provenance`` is manual, predicted:<model id>,
        corrected:<version id> (whose parent is that version) or synthetic[:<generator>]."""
        case = self.case(case_id)
        array = self._label_array(case, labels)
        origin = Provenance.parse(provenance)
        parent_id = self._parent_for(case, origin, parent)
        parent_labels = self.load_labels(parent_id) if parent_id else None
        version_id = new_version_id()
        row = {"id": version_id, "case_id": case.id, "parent_id": parent_id, "provenance": str(origin),
               "author": author or default_author(), "note": str(note or ""), "voxels": voxels_per_muscle(array),
               "edits": edit_statistics(array, parent_labels).to_dict()}
        stored = self._write(label_file(case.id, version_id), encode_nifti(array, self._geometry(case.id)))
        self._commit(lambda c: writes.insert_version(c, row, stored), [stored],
                     lambda: self._version_exists(version_id))
        log.info("added label version %s to %s (%s)", version_id, case.id, origin)
        return self.version(version_id)

    def _label_array(self, case: CaseRecord, labels: LabelInput) -> np.ndarray:
        if isinstance(labels, np.ndarray):
            return checked_labels(labels, case.shape, f"labels for {case.id}")
        grid = self._grid_volume(case)
        if isinstance(labels, Volume):
            check_same_grid(grid, labels, what=f"labels {labels.name}")
            return checked_labels(labels.data, case.shape, f"labels {labels.name}")
        return load_label_file(labels, like=grid).data

    def _parent_for(self, case: CaseRecord, origin: Provenance, parent: str | None) -> str | None:
        if origin.kind == "corrected":
            if parent is not None and parent != origin.reference:
                raise StoreError(f"parent {parent} differs from {origin}; a correction's parent is the version "
                                 "it corrects")
            parent = origin.reference
        if parent is None:
            return None
        version = self.version(parent)
        if version.case_id != case.id:
            raise StoreError(f"label version {version.id} belongs to {version.case_id}, not to {case.id}")
        return version.id

    def accept(self, case_id: str, version_id: str | None = None, *, author: str | None = None) -> CaseRecord:
        """Accept a label version (default: the newest) as the one training uses."""
        def transaction(connection: Any) -> None:
            case = queries.select_case(connection, case_id)
            chosen = version_id or queries.latest_version_id(connection, case.id)
            if chosen is None:
                raise StoreError(f"{case.id} has no label version to accept; add one first (`legseg store label`)")
            version = queries.select_version(connection, chosen)
            if version.case_id != case.id:
                raise StoreError(f"label version {version.id} belongs to {version.case_id}, not to {case.id}")
            writes.set_accepted(connection, case.id, version.id, author or default_author())
        self.catalog.write(transaction)
        return self.case(case_id)

    # ---- reading ---------------------------------------------------------------------------------

    def cases(self, **filters: str | Sequence[str] | None) -> list[CaseRecord]:
        """Cases, oldest first, filtered by field (contrast, protocol, site, scanner, health, diagnosis,
        split, status); a sequence of values matches any of them."""
        return self.catalog.read(lambda c: queries.select_cases(c, filters))

    def case(self, case_id: str) -> CaseRecord:
        """One case by id."""
        return self.catalog.read(lambda c: queries.select_case(c, case_id))

    def version(self, version_id: str) -> LabelVersion:
        """One label version by id."""
        return self.catalog.read(lambda c: queries.select_version(c, version_id))

    def history(self, case_id: str) -> list[LabelVersion]:
        """A case's label versions, oldest first."""
        return self.catalog.read(lambda c: queries.select_history(c, case_id))

    def events(self, case_id: str) -> list[dict[str, str]]:
        """A case's review log (added, labelled, accepted, status and metadata changes)."""
        return self.catalog.read(lambda c: (queries.select_case(c, case_id), queries.case_events(c, case_id))[1])

    def split_of(self, case_id: str) -> str:
        """The case's sticky split: train, validation or test."""
        return self.case(case_id).split

    def accepted_cases(self, split: str | None = "train", **filters: str | Sequence[str] | None) -> list[CaseRecord]:
        """Accepted cases (what training reads), of one split (None: all splits), further filtered."""
        return self.cases(status="accepted", split=split, **filters)

    def find_by_source_name(self, name: str) -> list[CaseRecord]:
        """Cases added from a file of this name (matched through the salted hash, not the name)."""
        digest = hash_source_name(Path(name).name, self._salt)
        return [c for c in self.cases() if c.source_name_sha256 == digest]

    def summary(self) -> StoreSummary:
        """Cases by contrast x health status, splits and review statuses."""
        return self.catalog.read(summarise)

    # ---- files -----------------------------------------------------------------------------------

    def image_path(self, case_id: str, name: str = SEGMENTATION_IMAGE) -> Path:
        """The NIfTI file of one of a case's images (read it only through LegSeg to keep it intact)."""
        row = self.catalog.read(lambda c: queries.image_row(c, queries.select_case(c, case_id).id, name))
        return inside(self.root, row["file"])

    def label_path(self, version_id: str) -> Path:
        """The NIfTI file of a label version."""
        return inside(self.root, self.version(version_id).file)

    def load_image(self, case_id: str, name: str = SEGMENTATION_IMAGE) -> Volume:
        """One of a case's images as a canonical Volume, its checksum verified."""
        row = self.catalog.read(lambda c: queries.image_row(c, queries.select_case(c, case_id).id, name))
        path = inside(self.root, row["file"])
        volume = decode_volume(read_verified(path, row["sha256"]), path)
        return volume.with_data(volume.data, case_id=case_id, image=name)

    def load_label_volume(self, version_id: str) -> Volume:
        """A label version as a uint8 Volume on its case's grid, its checksum verified."""
        version = self.version(version_id)
        path = inside(self.root, version.file)
        volume = decode_volume(read_verified(path, version.sha256), path)
        return volume.with_data(np.asarray(volume.data, dtype=np.uint8), case_id=version.case_id,
                                label_version=version.id)

    def load_labels(self, version_id: str) -> np.ndarray:
        """A label version as a ``[z, y, x]`` uint8 array (values 0..7), its checksum verified."""
        return self.load_label_volume(version_id).data

    def verify(self, *, repair: bool = False, grace_seconds: float = 600.0) -> VerifyReport:
        """Check every file against the catalog; ``repair`` removes leftovers of interrupted writes
        older than ``grace_seconds`` (never a catalogued file)."""
        from legseg_core.store.verify import verify_store

        return verify_store(self, repair=repair, grace_seconds=grace_seconds)

    def export(self, format: str, out_dir: str | Path, **options: Any) -> Path:
        """Export the accepted cases as an nnU-Net v2 raw dataset or a MONAI datalist; see
        :mod:`legseg_core.store.export`."""
        from legseg_core.store.export import export_store

        return export_store(self, format, Path(out_dir), **options)

    # ---- internals -------------------------------------------------------------------------------

    def _write(self, relative: str, encoded: EncodedFile) -> writes.StoredFile:
        path = inside(self.root, relative)
        write_atomically(path, encoded.payload)
        return writes.StoredFile(path, relative, encoded.sha256, len(encoded.payload))

    def _commit(self, transaction: Callable[[Any], Any], files: list[writes.StoredFile],
                committed: Callable[[], bool]) -> None:
        """Commit a catalog transaction; if it fails, remove the files it would have recorded."""
        try:
            self.catalog.write(transaction)
        except BaseException:
            if not _maybe_committed(committed):
                for stored in files:
                    remove_file(stored.path)
                    _remove_empty_folders(stored.path.parent, self.root / "cases")
            raise

    def _case_exists(self, case_id: str) -> bool:
        return self.catalog.read(lambda c: c.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone()) \
            is not None

    def _version_exists(self, version_id: str) -> bool:
        query = "SELECT 1 FROM label_versions WHERE id = ?"
        return self.catalog.read(lambda c: c.execute(query, (version_id,)).fetchone()) is not None

    def _geometry(self, case_id: str) -> SourceGeometry:
        geometry = self.catalog.read(lambda c: queries.select_geometry(c, case_id))
        return SourceGeometry.from_affine(np.asarray(geometry["affine"], dtype=float), tuple(geometry["shape"]))

    def _grid_volume(self, case: CaseRecord) -> Volume:
        """A zero-memory Volume standing for the case's grid, for grid checks."""
        empty = np.broadcast_to(np.zeros((), dtype=np.uint8), case.shape)
        return Volume(empty, case.spacing, self._geometry(case.id), {"name": case.id})


def _metadata(base: CaseMetadata | None, fields: Mapping[str, Any]) -> CaseMetadata:
    unknown = sorted(set(fields) - set(METADATA_FIELDS))
    if unknown:
        raise StoreError(f"unknown case metadata {', '.join(unknown)}; known: {', '.join(METADATA_FIELDS)}")
    return replace(base or CaseMetadata(), **fields).normalised()


def _volume_and_name(image: ImageInput, options: Mapping[str, Any] | None) -> tuple[Volume, str | None]:
    if isinstance(image, Volume):
        return image, (Path(image.geometry.path).name if image.geometry.path else None)
    path = Path(image)
    return load_volume(path, **dict(options or {})), path.name


def _geometry_dict(geometry: SourceGeometry) -> dict[str, Any]:
    return {"affine": np.asarray(geometry.affine, dtype=float).tolist(), "shape": list(geometry.shape)}


def _technical(volume: Volume) -> dict[str, Any]:
    kept = {key: volume.metadata[key] for key in TECHNICAL_KEYS if key in volume.metadata}
    return {"format": volume.geometry.format, **kept}


def _maybe_committed(check: Callable[[], bool]) -> bool:
    """Whether a transaction may have committed; True when that cannot be told (keep the files)."""
    try:
        return bool(check())
    except Exception:  # the catalog itself may be unreachable: keep the files, verify will tell
        return True


def _remove_empty_folders(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent

