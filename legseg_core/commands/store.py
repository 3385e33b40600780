"""``legseg store ...``: the growing training set (cases, immutable label versions, splits).

The store is found at ``--store PATH``, else ``$LEGSEG_STORE``, else the user data folder
(``~/.local/share/legseg/store`` on Linux); ``legseg store init`` creates it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from legseg_core.commands.common import (add_relabel_option, add_volume_options, print_json, volume_options,
                                         with_progress_bar)

METADATA_OPTIONS = ("contrast", "protocol", "site", "scanner", "health", "diagnosis", "notes")
LIST_COLUMNS = ("id", "contrast", "health", "diagnosis", "slices", "voxel_mm_zyx", "split", "status", "versions",
                "accepted_version")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "store", help="the training set: cases, immutable label versions, splits, export",
        description="Manage the store of cases and label versions that training reads. Location: --store PATH, "
                    "else $LEGSEG_STORE, else the user data folder (~/.local/share/legseg/store on Linux).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH", default=None,
                        help="the store folder (default: $LEGSEG_STORE, else the user data folder)")
    commands = parser.add_subparsers(dest="store_command", metavar="COMMAND")
    for register_command in (_register_init, _register_add, _register_import, _register_label, _register_accept,
                             _register_status, _register_update, _register_list, _register_show, _register_history,
                             _register_summary, _register_verify, _register_export):
        register_command(commands, common)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _sub(commands: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, help: str,
         handler: Any, json_option: bool = True) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", parents=[common])
    if json_option:
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
    sub.set_defaults(handler=handler)
    return sub


def _add_metadata_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("case metadata")
    group.add_argument("--contrast", help="e.g. t1w, dixon_water, dixon_fat, t2, pd, dwi")
    group.add_argument("--protocol", help="acquisition protocol, e.g. A (whole leg) or B (Dixon, 25/45 slices)")
    group.add_argument("--site", help="site or centre")
    group.add_argument("--scanner", help="scanner make, model or field strength")
    group.add_argument("--health", help="healthy, patient or unknown (aliases: control, hc, ...)")
    group.add_argument("--diagnosis", help="e.g. Pompe, IBM, DM1, LGMD")
    group.add_argument("--notes", help="free notes (no patient-identifying data)")


def _metadata_arguments(args: argparse.Namespace) -> dict[str, str]:
    return {key: getattr(args, key) for key in METADATA_OPTIONS if getattr(args, key) is not None}


def _open(args: argparse.Namespace):
    from legseg_core.store import Store

    return Store.open(args.store)


# ---- init, add, import, label, accept, status, update -------------------------------------------

def _register_init(commands, common) -> None:
    sub = _sub(commands, common, "init", "create an empty store", _run_init, json_option=False)
    sub.add_argument("--splits", default="70/15/15", help="train/validation/test shares (default 70/15/15)")
    sub.add_argument("--no-starter-models", action="store_true",
                     help="do not register the shipped starter models (by default the starter U-Net is active)")


def _run_init(args: argparse.Namespace) -> int:
    from legseg_core.starter.stores import create_store
    from legseg_core.store import SplitConfig, resolve_store_path
    from legseg_core.store.catalog import CATALOG_NAME
    from legseg_core.training.registry import ModelRegistry

    root = resolve_store_path(args.store)
    if (root / CATALOG_NAME).is_file():
        print(f"a store exists already at {root}; nothing to do")
        return 0
    store = create_store(root, splits=SplitConfig.parse(args.splits), starter_models=not args.no_starter_models)
    print(f"created an empty store at {store.root} (splits {args.splits})")
    for version in reversed(ModelRegistry(store).models()):
        print(f"registered starter model {version.training.get('shipped')} as {version.id} ({version.status})")
    return 0


def _register_add(commands, common) -> None:
    sub = _sub(commands, common, "add", "add a case: a scan, optional labels and further images", _run_add)
    sub.add_argument("scan", help="the segmentation image: a NIfTI file, a DICOM file or a DICOM folder")
    sub.add_argument("--labels", help="a label image (values 0..7) on the scan's grid")
    sub.add_argument("--provenance", default="manual",
                     help="of --labels: manual, predicted:<model id>, imported[:<file name>], synthetic[:<name>] "
                          "(default manual)")
    sub.add_argument("--image", action="append", default=[], metavar="NAME=PATH",
                     help="a further image on the same grid, e.g. dixon_fat=fat.nii.gz (repeatable)")
    sub.add_argument("--accept", action="store_true", help="accept the --labels version at once (the case, its "
                                                           "labels and the acceptance are one transaction)")
    sub.add_argument("--allow-duplicate", action="store_true", help="add the scan even if it is stored already")
    sub.add_argument("--author", help="who adds it (default: the user name)")
    add_relabel_option(sub, "--labels")
    _add_metadata_options(sub)
    add_volume_options(sub)


def _parse_images(pairs: list[str]) -> dict[str, str]:
    from legseg_core.errors import StoreError

    images = {}
    for pair in pairs:
        name, separator, path = pair.partition("=")
        if not separator or not name or not path:
            raise StoreError(f"--image {pair!r} must have the form NAME=PATH, e.g. dixon_fat=fat.nii.gz")
        images[name] = path
    return images


def _run_add(args: argparse.Namespace) -> int:
    from legseg_core.errors import StoreError

    if args.accept and not args.labels:
        raise StoreError("--accept accepts the --labels version; give --labels LABELS or leave out --accept")
    store = _open(args)
    case = store.add_case(args.scan, extra_images=_parse_images(args.image), author=args.author,
                          allow_duplicate=args.allow_duplicate, volume_options=volume_options(args),
                          labels=_labels_input(args.labels, args.relabel), provenance=args.provenance,
                          accept=args.accept, **_metadata_arguments(args))
    history = store.history(case.id)
    version = history[0] if history else None
    if args.json:
        print_json({"case": case.to_dict(), "label_version": version.to_dict() if version else None})
    else:
        print(f"added {case.id} ({case.metadata.contrast}, {case.metadata.health}, split {case.split})"
              + (f" with label version {version.id}" if version else ""))
    return 0


def _register_import(commands, common) -> None:
    sub = _sub(commands, common, "import", "add many cases from a folder and a CSV table", _run_import)
    sub.epilog = ("CSV columns: case_id; folder (default: the case id); contrast, several joined by '+' (the first "
                  "is the segmentation image, the others further images); image (else <folder>/<contrast>.nii.gz, "
                  "<case_id>_<contrast>.nii.gz, <folder>/image.nii.gz, <case_id>_image.nii.gz or <case_id>.nii.gz); "
                  "labels (else <folder>/labels.nii.gz, <case_id>_labels.nii.gz, ...); image:NAME for further "
                  "images; protocol, site, scanner, health, diagnosis, provenance. Other columns are kept only when "
                  "on an allow list: numbers in measurement columns (fat_fraction, ff, pdff, t1, t2, water_t2, adc, "
                  "fa, md, rd, ad, volume, csa, area, ..., alone or as e.g. fat_fraction_SOL) and the texts legs, "
                  "side, severity, size, field_strength, sequence; a notes column (free text) is not imported. A "
                  "`legseg phantom cohort` folder imports as it is.")
    sub.add_argument("directory", help="the folder the table's paths are relative to")
    sub.add_argument("--metadata", required=True, help="the CSV table, one row per case")
    sub.add_argument("--provenance", default="manual", help="of the labels when the table has no provenance column")
    sub.add_argument("--accept", action="store_true", help="accept each imported label version")
    sub.add_argument("--keep-going", action="store_true", help="skip rows that fail instead of stopping")
    sub.add_argument("--author", help="who imports (default: the user name)")
    add_volume_options(sub)


def _run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from legseg_core.store.importer import import_work

    store = _open(args)
    work = import_work(store, Path(args.directory), Path(args.metadata), provenance=args.provenance,
                       accept=args.accept, author=args.author, keep_going=args.keep_going,
                       volume_options=volume_options(args))
    report = with_progress_bar(work, "importing", enabled=not args.json and sys.stderr.isatty())
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"added {len(report.added)} cases ({len(report.existing)} were stored already), "
              f"{len(report.labelled)} label versions, {len(report.failed)} rows failed")
        for failure in report.failed:
            print(f"  failed: {failure}")
    return 1 if report.failed else 0


def _register_label(commands, common) -> None:
    sub = _sub(commands, common, "label", "add a label version to a case", _run_label)
    sub.add_argument("case", help="the case id (case-...)")
    sub.add_argument("labels", help="a label image (values 0..7) on the case's grid")
    sub.add_argument("--provenance", required=True,
                     help="manual, predicted:<model id>, corrected:<version id>, imported[:<file name>] or "
                          "synthetic[:<name>]")
    sub.add_argument("--parent", help="the version this one derives from (corrected:<V> implies parent V)")
    sub.add_argument("--author", help="who made it (default: the user name)")
    sub.add_argument("--note", default="", help="a short note")
    sub.add_argument("--accept", action="store_true", help="accept this version at once")
    add_relabel_option(sub)


def _labels_input(path: str | None, relabel: str | None) -> Any:
    """A label file as the store takes it: its path, or its values mapped through a label scheme."""
    if path is None or relabel is None:
        return path
    from legseg_core.io import load_labels

    return load_labels(path, relabel=relabel)


def _run_label(args: argparse.Namespace) -> int:
    store = _open(args)
    version = store.add_label_version(args.case, _labels_input(args.labels, args.relabel),
                                      provenance=args.provenance, parent=args.parent,
                                      author=args.author, note=args.note)
    if args.accept:
        store.accept(args.case, version.id, author=args.author)
    if args.json:
        print_json(version.to_dict())
    else:
        print(f"added label version {version.id} to {version.case_id}"
              + (f" (parent {version.parent_id})" if version.parent_id else "") + (", accepted" if args.accept else ""))
        print(_format_edits(version))
    return 0


def _register_accept(commands, common) -> None:
    sub = _sub(commands, common, "accept", "accept a label version as the one training uses", _run_accept)
    sub.add_argument("case", help="the case id")
    sub.add_argument("--version", help="the label version (default: the newest)")
    sub.add_argument("--author", help="who accepts (default: the user name)")


def _run_accept(args: argparse.Namespace) -> int:
    case = _open(args).accept(args.case, args.version, author=args.author)
    if args.json:
        print_json(case.to_dict())
    else:
        print(f"{case.id}: accepted {case.accepted_version}")
    return 0


def _register_status(commands, common) -> None:
    sub = _sub(commands, common, "status", "set a case's review status (new, in_review, excluded)", _run_status)
    sub.add_argument("case", help="the case id")
    sub.add_argument("status", choices=("new", "in_review", "excluded"))
    sub.add_argument("--reason", default="", help="why (kept in the case's log)")
    sub.add_argument("--author", help="who (default: the user name)")


def _run_status(args: argparse.Namespace) -> int:
    case = _open(args).set_status(args.case, args.status, reason=args.reason, author=args.author)
    print_json(case.to_dict()) if args.json else print(f"{case.id}: {case.status}")
    return 0


def _register_update(commands, common) -> None:
    sub = _sub(commands, common, "update", "change a case's metadata (its split stays)", _run_update)
    sub.add_argument("case", help="the case id")
    sub.add_argument("--author", help="who (default: the user name)")
    _add_metadata_options(sub)


def _run_update(args: argparse.Namespace) -> int:
    case = _open(args).update_metadata(args.case, author=args.author, **_metadata_arguments(args))
    print_json(case.to_dict()) if args.json else print(_format_case(case))
    return 0


# ---- list, show, history, summary, verify, export -----------------------------------------------

def _register_list(commands, common) -> None:
    sub = _sub(commands, common, "list", "list cases", _run_list)
    sub.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                     help="contrast, protocol, site, scanner, health, diagnosis, split or status (repeatable; "
                          "one key given twice matches either value)")


def _parse_filters(pairs: list[str]) -> dict[str, list[str]]:
    from legseg_core.errors import StoreError

    filters: dict[str, list[str]] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise StoreError(f"--filter {pair!r} must have the form KEY=VALUE, e.g. health=patient")
        filters.setdefault(key.strip(), []).append(value.strip())
    return filters


def _run_list(args: argparse.Namespace) -> int:
    cases = _open(args).cases(**_parse_filters(args.filter))
    if args.json:
        print_json([c.to_dict() for c in cases])
        return 0
    rows = [{"id": c.id, "contrast": c.metadata.contrast, "health": c.metadata.health,
             "diagnosis": c.metadata.diagnosis, "slices": c.slices,
             "voxel_mm_zyx": "x".join(f"{s:g}" for s in c.spacing), "split": c.split, "status": c.status,
             "versions": c.version_count, "accepted_version": c.accepted_version or ""} for c in cases]
    print(_table(rows, LIST_COLUMNS) if rows else "no cases")
    return 0


def _register_show(commands, common) -> None:
    sub = _sub(commands, common, "show", "show one case: metadata, images, versions, review log", _run_show)
    sub.add_argument("case", help="the case id")


def _run_show(args: argparse.Namespace) -> int:
    store = _open(args)
    case, history, events = store.case(args.case), store.history(args.case), store.events(args.case)
    if args.json:
        print_json({**case.to_dict(), "label_versions": [v.to_dict() for v in history], "events": events})
        return 0
    print(_format_case(case))
    print(f"{'label versions':>18}: {', '.join(v.id for v in history) or 'none'}")
    for event in events:
        print(f"  {event['time']}  {event['author']:<12} {event['action']}  {event['detail']}")
    return 0


def _register_history(commands, common) -> None:
    sub = _sub(commands, common, "history", "a case's label versions with provenance and edits", _run_history)
    sub.add_argument("case", help="the case id")


def _run_history(args: argparse.Namespace) -> int:
    store = _open(args)
    case, history = store.case(args.case), store.history(args.case)
    if args.json:
        print_json([{**v.to_dict(), "accepted": v.id == case.accepted_version} for v in history])
        return 0
    if not history:
        print(f"{case.id} has no label versions")
    for version in history:
        mark = "  [accepted]" if version.id == case.accepted_version else ""
        print(f"{version.id}  {version.created}  {version.author}  {version.provenance}"
              f"  parent {version.parent_id or '-'}{mark}")
        print(_format_edits(version))
    return 0


def _register_summary(commands, common) -> None:
    _sub(commands, common, "summary", "cases by contrast x health status, splits and review statuses", _run_summary)


def _run_summary(args: argparse.Namespace) -> int:
    summary = _open(args).summary()
    print_json(summary.to_dict()) if args.json else print(summary.format())
    return 0


def _register_verify(commands, common) -> None:
    sub = _sub(commands, common, "verify", "check the catalog and every file's checksum", _run_verify)
    sub.add_argument("--repair", action="store_true",
                     help="remove leftovers of interrupted writes (never a catalogued file)")
    sub.add_argument("--grace", type=float, default=600.0, metavar="SECONDS",
                     help="with --repair: only leftovers older than this (default 600 s, so that writes in "
                          "progress are left alone)")


def _run_verify(args: argparse.Namespace) -> int:
    report = _open(args).verify(repair=args.repair, grace_seconds=args.grace)
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"checked {report.checked_files} files: {'ok' if report.ok else f'{len(report.problems)} problems'}")
        for line in report.problems:
            print(f"  problem: {line}")
        for line in report.removed:
            print(f"  removed leftover: {line}")
        for line in report.leftovers:
            print(f"  leftover (harmless; --repair removes it): {line}")
    return 0 if report.ok else 1


def _register_export(commands, common) -> None:
    sub = _sub(commands, common, "export", "export accepted cases for nnU-Net v2 or MONAI", _run_export)
    sub.add_argument("directory", help="the output folder (new or empty)")
    sub.add_argument("--format", required=True, choices=("nnunet", "monai"))
    sub.add_argument("--dataset-id", type=int, default=501, help="nnU-Net dataset id (default 501)")
    sub.add_argument("--dataset-name", default="LegSeg", help="nnU-Net dataset name (default LegSeg)")
    sub.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="as in `list`")


def _run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from legseg_core.store.export import export_work

    work = export_work(_open(args), args.format, Path(args.directory), dataset_id=args.dataset_id,
                       dataset_name=args.dataset_name, **_parse_filters(args.filter))
    target = with_progress_bar(work, "exporting", enabled=not args.json and sys.stderr.isatty())
    print_json({"format": args.format, "path": str(target)}) if args.json else print(f"exported to {target}")
    return 0


# ---- text formatting ----------------------------------------------------------------------------

def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(lines)


def _format_case(case: Any) -> str:
    meta = case.metadata
    facts = {"id": case.id, "contrast": meta.contrast, "protocol": meta.protocol, "health": meta.health,
             "diagnosis": meta.diagnosis, "site": meta.site, "scanner": meta.scanner, "notes": meta.notes,
             "shape (z, y, x)": case.shape, "voxel size (mm)": case.spacing,
             "field of view (mm)": case.field_of_view_mm,
             "images": ", ".join(case.images), "split": case.split, "status": case.status,
             "accepted version": case.accepted_version or "-", "created": case.created,
             "technical": ", ".join(f"{k}={v}" for k, v in case.technical.items()),
             "extra": ", ".join(f"{k}={v}" for k, v in meta.extra.items())}
    return "\n".join(f"{key:>18}: {value}" for key, value in facts.items() if value not in ("", None))


def _format_edits(version: Any) -> str:
    edits = version.edits
    changed = [f"{m} +{edits.added[m]}/-{edits.removed[m]}" for m in edits.added
               if edits.added[m] or edits.removed[m]]
    voxels = ", ".join(f"{m} {n}" for m, n in version.voxels.items())
    return (f"    voxels: {voxels}\n    edits: {edits.changed_voxels} voxels on {len(edits.slices_touched)} slices"
            + (f" ({'; '.join(changed)})" if changed else ""))
