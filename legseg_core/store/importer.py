"""Bulk import: a folder of scans described by a CSV table, one row per case.

Headers are matched case-insensitively, with spaces and '-' read as '_'. The columns:

* ``case_id`` (or ``case``, ``subject``, ``id``): the row's name, used to find its files. It is
  kept only as a salted hash, like a source file name, since it may be a patient code.
* ``folder`` (or ``case_folder``, ``directory``): the row's subfolder; default: the case id.
* ``contrast``: one name, or several joined by ``+`` (e.g. ``dixon_water+dixon_fat``, as the
  phantom cohort writes): the first is the case's contrast and the segmentation image, the
  others are further images found as ``<folder>/<name>.nii.gz`` or ``<case_id>_<name>.nii.gz``.
* ``image`` (or ``image_path``, ``scan``, ``scan_path``, ``path``, ``file``): the segmentation
  image, relative to the folder (or absolute). **Without an image column**, the first file that
  exists of ``<folder>/<contrast>.nii.gz``, ``<case_id>_<contrast>.nii.gz``,
  ``<folder>/image.nii.gz``, ``<case_id>_image.nii.gz``, ``<case_id>.nii.gz`` (also ``.nii``).
* ``labels`` (or ``label``, ``labels_path``, ``segmentation``, ``seg``, ``mask``): the label
  image. Without a labels column: ``<folder>/labels.nii.gz``, ``<case_id>_labels.nii.gz``,
  ``<case_id>_label.nii.gz`` or ``<case_id>_seg.nii.gz``; with none of them the case is added
  unlabelled.
* ``image:NAME`` (e.g. ``image:dixon_fat``): further images on the same grid.
* ``protocol``, ``site``, ``scanner``, ``health`` (or ``health_status``,
  ``group``), ``diagnosis`` (each cut to 100 characters), ``provenance`` (of the labels;
  default: the ``provenance`` argument).
* ``slices`` and ``voxel_size`` (or ``spacing``): not stored (the image says them); a
  ``slices`` value that disagrees with the image is logged.
* Other columns are kept as extra metadata only when their name is on an allow list: numbers
  in measurement columns (``fat_fraction``, ``ff``, ``pdff``, ``t1``, ``t2``, ``water_t2``,
  ``adc``, ``fa``, ``md``, ``rd``, ``ad``, ``volume``, ``csa``, ``area``, ``field_strength``,
  ``b_value``, ``echo_time``, ``repetition_time``, ``slice_thickness``, ``severity``, alone or
  followed by ``_<muscle>`` etc., e.g. ``fat_fraction_SOL``), and the short technical texts of
  ``legs``, ``side``, ``severity``, ``size``, ``field_strength`` and ``sequence``. Everything
  else (a zip code, a subject code, a date) is dropped, and so are names that suggest an
  identity (patient, name, birth, dob, id, mrn, accession, address, phone).
* ``notes`` (or ``note``, ``comment``): free text, which can carry identity, is not imported.

An image already in the store is not added twice: its case is reused, and given the row's
labels if it has none yet, so an interrupted import can simply be run again.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legseg_core.errors import InputPathError, LegsegError, StoreError
from legseg_core.progress import Progress, drive
from legseg_core.store.errors import DuplicateCaseError

if TYPE_CHECKING:
    from legseg_core.store.store import Store

log = logging.getLogger(__name__)

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "case_id": ("case_id", "case", "subject", "id"),
    "folder": ("folder", "case_folder", "directory"),
    "image": ("image", "image_path", "scan", "scan_path", "path", "file"),
    "labels": ("labels", "label", "labels_path", "segmentation", "seg", "mask"),
    "contrast": ("contrast",), "protocol": ("protocol",), "site": ("site",), "scanner": ("scanner",),
    "health": ("health", "health_status", "group"), "diagnosis": ("diagnosis",),
    "notes": ("notes", "note", "comment"), "provenance": ("provenance",),
    "slices": ("slices", "n_slices"), "voxel_size": ("voxel_size", "voxel_size_mm", "spacing"),
}
#: Other columns are kept only when their name is on this allow list: measurements per muscle or
#: per scan (``fat_fraction_SOL``, ``t2_GM``, ``adc``, ``volume_TA`` ...) as numbers, and a few short
#: technical texts. Everything else (a zip code, a subject code, a date, free text) is dropped.
EXTRA_NUMBER_COLUMNS = re.compile(r"^(fat_fraction|ff|pdff|t1|t2|water_t2|adc|fa|md|rd|ad|volume|csa|area|"
                                  r"field_strength|b_value|echo_time|repetition_time|slice_thickness|severity)"
                                  r"(_[a-z0-9_]+)?$")
EXTRA_TEXT_COLUMNS = ("legs", "side", "severity", "size", "field_strength", "sequence")
IDENTIFYING_WORDS = ("patient", "name", "birth", "accession", "address", "phone")
IDENTIFYING_TOKENS = ("id", "uid", "dob", "mrn", "ssn")
#: Longest text kept from a table cell.
MAX_TEXT = 100
NIFTI_ENDINGS = (".nii.gz", ".nii")


@dataclass
class ImportReport:
    """What an import did: cases added, cases found already stored, label versions added, failures."""

    added: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    labelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"added": self.added, "existing": self.existing, "labelled": self.labelled, "failed": self.failed}


def header_key(header: str) -> str:
    """A CSV header in matching form: lower case, spaces and '-' as '_'."""
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def read_table(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Rows of a CSV (',', ';' or tab separated; BOM tolerated) keyed by headers in matching form,
    and the original header of each key (extra metadata keeps its spelling, e.g. fat_fraction_SOL)."""
    if not path.is_file():
        raise InputPathError(f"{path}: no such metadata table")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise StoreError(f"{path}: the table is not UTF-8 text (byte {error.start}); save it as UTF-8 CSV") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    rows = list(reader)
    if not rows:
        raise StoreError(f"{path}: the table has no rows")
    headers = {header_key(h): h.strip() for h in reader.fieldnames or []}
    return [{header_key(k): (v or "").strip() for k, v in row.items() if k is not None} for row in rows], headers


def _column(row: dict[str, str], key: str) -> str:
    for alias in COLUMN_ALIASES[key]:
        if row.get(alias):
            return row[alias]
    return ""


def _is_identifying(key: str) -> bool:
    tokens = key.split("_")
    return any(word in key for word in IDENTIFYING_WORDS) or any(t in IDENTIFYING_TOKENS for t in tokens)


def _extra(row: dict[str, str], headers: dict[str, str]) -> dict[str, float | str]:
    known = {alias for aliases in COLUMN_ALIASES.values() for alias in aliases}
    extra: dict[str, float | str] = {}
    for key, value in row.items():
        if key in known or key.startswith("image:") or not value or _is_identifying(key):
            continue
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", headers.get(key, key)).strip("_")[:60] or "column"
        if key in EXTRA_TEXT_COLUMNS and not _is_number(value):
            extra[name] = value[:MAX_TEXT]
        elif EXTRA_NUMBER_COLUMNS.match(key) and _is_number(value):
            extra[name] = float(value)
        else:
            log.debug("column %s: not on the allow list of kept columns, dropped", key)
    return extra


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _first_existing(directory: Path, candidates: list[str]) -> Path | None:
    for candidate in candidates:
        for ending in NIFTI_ENDINGS:
            path = directory / f"{candidate}{ending}"
            if path.is_file():
                return path
    return None


def _resolve(directory: Path, value: str, what: str) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else directory / path
    if not path.exists():
        raise InputPathError(f"the {what} {path} does not exist")
    return path


@dataclass(frozen=True)
class RowFiles:
    """The files of one row: segmentation image, labels (or None), further images; the image's contrast."""

    image: Path
    labels: Path | None
    extras: dict[str, Path]
    contrast: str


def row_files(directory: Path, row: dict[str, str]) -> RowFiles:
    """Find the files of one row by its columns or, failing those, by the naming rule."""
    case = _column(row, "case_id")
    folder = _column(row, "folder") or case
    contrasts = [header_key(c) for c in re.split(r"[+|]", _column(row, "contrast")) if c.strip()]
    contrast = contrasts[0] if contrasts else ""
    if _column(row, "image"):
        image = _resolve(directory, _column(row, "image"), "image")
    else:
        names = [f"{folder}/{contrast}", f"{case}_{contrast}"] if contrast else []
        image = _first_existing(directory, [*names, f"{folder}/image", f"{case}_image", case]) if case else None
        if image is None:
            raise InputPathError(f"no image column and no image file found for case {case!r} "
                                 f"in {directory} (see `legseg store import --help` for the file rule)")
    if _column(row, "labels"):
        labels: Path | None = _resolve(directory, _column(row, "labels"), "labels")
    else:
        candidates = [f"{folder}/labels", f"{case}_labels", f"{case}_label", f"{case}_seg"]
        labels = _first_existing(directory, candidates) if case else None
    extras = {name: _contrast_file(directory, case, folder, name) for name in contrasts[1:]}
    extras.update({key.split(":", 1)[1]: _resolve(directory, value, f"image {key}")
                   for key, value in row.items() if key.startswith("image:") and value})
    return RowFiles(image, labels, extras, contrast)


def _contrast_file(directory: Path, case: str, folder: str, name: str) -> Path:
    found = _first_existing(directory, [f"{folder}/{name}", f"{case}_{name}"]) if case else None
    if found is None:
        raise InputPathError(f"contrast {name!r} is listed for case {case!r}, but neither {folder}/{name}.nii.gz "
                             f"nor {case}_{name}.nii.gz exists in {directory}")
    return found


def import_work(store: "Store", directory: Path, table: Path, *, provenance: str = "manual", accept: bool = False,
                author: str | None = None, keep_going: bool = False,
                volume_options: dict[str, Any] | None = None) -> Generator[Progress, None, ImportReport]:
    """Import every row of ``table`` from ``directory``, one committed case at a time."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputPathError(f"{directory}: no such folder")
    rows, headers = read_table(Path(table))
    report = ImportReport()
    for number, row in enumerate(rows, start=2):  # row 1 holds the headers
        yield Progress(number - 2, len(rows), f"row {number}: {_column(row, 'case_id') or '(no case id)'}")
        try:
            _import_row(store, directory, row, headers, number, report, provenance=provenance, accept=accept,
                        author=author, volume_options=volume_options)
        except LegsegError as error:
            if not keep_going:
                raise StoreError(f"{table}, row {number}: {error} (the rows before it are imported; "
                                 "running the import again skips them)") from None
            report.failed.append(f"row {number}: {error}")
            log.warning("%s, row %d: %s", table, number, error)
    yield Progress(len(rows), len(rows), "done")
    return report


def import_table(store: "Store", directory: Path, table: Path, **options: Any) -> ImportReport:
    """Run :func:`import_work` to its end."""
    return drive(import_work(store, directory, table, **options))


def _import_row(store: "Store", directory: Path, row: dict[str, str], headers: dict[str, str], number: int,
                report: ImportReport, *,
                provenance: str, accept: bool, author: str | None, volume_options: dict[str, Any] | None) -> None:
    files = row_files(directory, row)
    metadata: dict[str, Any] = {key: _column(row, key)[:MAX_TEXT] for key in ("protocol", "site", "scanner", "diagnosis")}
    if _column(row, "notes"):
        log.info("row %d: the notes column is not imported (free text can carry identity)", number)
    metadata.update(contrast=files.contrast, health=_column(row, "health") or "unknown")
    row_provenance = _column(row, "provenance") or provenance
    try:
        case = store.add_case(files.image, extra_images=files.extras,
                              source_name=_column(row, "case_id") or files.image.name, author=author,
                              volume_options=volume_options, extra=_extra(row, headers), labels=files.labels,
                              provenance=row_provenance, accept=accept, **metadata)
        report.added.append(case.id)
        report.labelled += [v.id for v in store.history(case.id)]
        _check_slices(row, case.slices, number)
        return
    except DuplicateCaseError as duplicate:
        case = store.case(duplicate.case_id)
        report.existing.append(case.id)
    _check_slices(row, case.slices, number)
    if files.labels is None or case.version_count:
        return
    version = store.add_label_version(case.id, files.labels, provenance=row_provenance, author=author)
    report.labelled.append(version.id)
    if accept:
        store.accept(case.id, version.id, author=author)


def _check_slices(row: dict[str, str], slices: int, number: int) -> None:
    stated = _column(row, "slices")
    if stated and stated.isdigit() and int(stated) != slices:
        log.warning("row %d: the table says %s slices, the image has %d", number, stated, slices)
