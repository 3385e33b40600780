"""``legseg starter``: ship a trained model as a starter model, and register the starter models in a store.

``legseg starter ship TRAINED --name NAME`` writes ``assets/models/NAME.pt`` (float16 weights,
the card with commands, seeds, data, metrics and limits) and ``assets/models/NAME.md``.
``legseg starter register`` registers the shipped starter models in an existing store (``legseg
store init`` does it for a new store). ``legseg starter realcheck`` segments the real scans of
``shared/data`` with each model and writes a plausibility report (per-leg volumes, left/right
ratios, flags, Dice on the labelled case, overlay pictures) beside the model card.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from legseg_core.errors import InputPathError, LegsegError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("starter", help="ship starter models; register them in a store",
                                   description="Ship a trained model as a starter model (half-precision file "
                                               "and model card), or register the shipped starter models.")
    commands = parser.add_subparsers(dest="starter_command", metavar="COMMAND")
    ship = commands.add_parser("ship", help="write assets/models/NAME.pt and NAME.md from a trained model file")
    ship.add_argument("trained", type=Path, help="the trained model file (legseg train --out)")
    ship.add_argument("--name", required=True, help="the shipped name, e.g. unet-lite-starter")
    ship.add_argument("--out-dir", type=Path, default=None, help="default: the source tree's assets/models")
    ship.add_argument("--commands", type=Path, required=True, help="text file: the commands that made the model")
    ship.add_argument("--about", type=Path, required=True, help="Markdown file: what the model is (card prose)")
    ship.add_argument("--limits", type=Path, required=True, help="Markdown file: the model's honest limits")
    ship.add_argument("--evaluation", action="append", default=[], metavar="TITLE=REPORT.json",
                      help="a `legseg evaluate --json` report to summarise in the card (repeatable)")
    ship.add_argument("--detail", action="append", default=[], metavar="KEY=VALUE",
                      help="a training fact for the card, e.g. wall_minutes=41 (repeatable)")
    ship.set_defaults(handler=_run_ship)
    add = commands.add_parser("register", help="register the shipped starter models in a store without models")
    add.add_argument("--store", metavar="PATH", default=None, help="the store folder (default: $LEGSEG_STORE, ...)")
    add.set_defaults(handler=_run_register)
    _register_realcase(commands)
    _register_realcheck(commands)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _register_realcase(commands: argparse._SubParsersAction) -> None:
    reference = commands.add_parser("reference", help="write a real case's reference labels (ids 0..7) per leg")
    reference.add_argument("scan", type=Path, help="the scan the labels belong to")
    reference.add_argument("labels", type=Path, help="the labels in another tool's values")
    reference.add_argument("--relabel", choices=("qmritools-calf",), default="qmritools-calf",
                           help="the mapping of the labels' values onto the muscle ids")
    reference.add_argument("--out-dir", type=Path, required=True, help="folder for the reference files")
    reference.set_defaults(handler=_run_reference)
    legs = commands.add_parser("legs", help="split a prediction by leg and correct one leg with the reference")
    legs.add_argument("scan", type=Path, help="the scan")
    legs.add_argument("prediction", type=Path, help="predicted labels (ids 0..7)")
    legs.add_argument("--reference", type=Path, required=True, help="reference labels (ids 0..7)")
    legs.add_argument("--out-dir", type=Path, required=True, help="folder of `legseg starter reference`")
    legs.add_argument("--correct", choices=("right", "left"), default="right", help="the leg to correct")
    legs.add_argument("--crop", action="store_true",
                      help="also write the corrected leg alone (scan and reference) as a one-leg case")
    legs.set_defaults(handler=_run_legs)


def _register_realcheck(commands: argparse._SubParsersAction) -> None:
    from legseg_core.starter.realcheck.scans import SCAN_BY_KEY
    from legseg_core.starter.ship import STARTER_NAMES

    check = commands.add_parser(
        "realcheck", help="check models on the real scans: per-leg volumes, left/right ratios, Dice, pictures",
        description="Segment the real scans (shared/data) with each model and report per-leg muscle volumes, "
                    "left/right ratios (flagged outside 0.75..1.33) and where along the legs a flagged one differs, "
                    "muscles missing in a leg, and on the labelled case Dice per leg (optionally over several "
                    "in-plane poses) and a GM/GL swap check; writes report.md, report.json and one PNG per scan.")
    check.add_argument("--model", action="append", default=None, metavar="NAME_OR_FILE",
                       help=f"a shipped name, a model file or a store model (repeatable; default: "
                            f"{', '.join(STARTER_NAMES)})")
    check.add_argument("--data", type=Path, default=None, metavar="DIR",
                       help="the folder holding calf-musclemap-dixon/ and calf-qmritools/ (default: the parent of "
                            "$LEGSEG_REAL_DATA if set, else shared/data beside the repository)")
    check.add_argument("--scan", action="append", choices=tuple(SCAN_BY_KEY), default=None,
                       help="check only this scan (repeatable; default: all four)")
    check.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="write into DIR/<model name>/ (default: realcheck/<model name>/ beside the model file, "
                            "i.e. assets/models/realcheck/<name>/ for a starter)")
    check.add_argument("--poses", type=int, default=1, metavar="N",
                       help="also score the labelled case in N in-plane rotations of the scan, evenly spread over "
                            "-8..8 degrees, and report each leg's Dice averaged over them (one segmentation per pose; "
                            "default 1: the scan as it lies)")
    check.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    check.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch (default: one per core)")
    check.add_argument("--store", metavar="PATH", default=None, help="the store that registered models come from")
    check.add_argument("--no-progress", action="store_true", help="no progress bar")
    check.add_argument("--json", action="store_true", help="print the reports as JSON")
    check.set_defaults(handler=_run_realcheck)


def _run_realcheck(args: argparse.Namespace) -> int:
    from legseg_core.commands.common import print_json, with_progress_bar
    from legseg_core.commands.train import set_threads
    from legseg_core.starter.realcheck.poses import pose_angles
    from legseg_core.starter.realcheck.report import RealCheck, run_checks
    from legseg_core.starter.realcheck.scans import check_data, select_scans
    from legseg_core.starter.realcheck.tables import text_report
    from legseg_core.starter.ship import STARTER_NAMES

    pose_angles(args.poses)
    scans = select_scans(args.scan)
    data = check_data(args.data, scans)
    set_threads(args.threads)
    checks = [RealCheck(model, device=args.device, store=args.store) for model in args.model or STARTER_NAMES]
    reports = with_progress_bar(run_checks(checks, scans, data, args.out, poses=args.poses), "realcheck",
                                enabled=not args.no_progress)
    if args.json:
        print_json({"reports": [report.to_dict() for report in reports]})
    else:
        print("\n\n".join(text_report(report) for report in reports))
    return 0


def _run_reference(args: argparse.Namespace) -> int:
    from legseg_core.starter.realcase import prepare_reference

    for name, path in prepare_reference(args.scan, args.labels, args.out_dir, args.relabel).items():
        print(f"{name}: {path}")
    return 0


def _run_legs(args: argparse.Namespace) -> int:
    from legseg_core.starter.realcase import crop_leg, split_prediction

    paths = split_prediction(args.scan, args.prediction, args.reference, args.out_dir, corrected_leg=args.correct)
    if args.crop:
        paths.update({f"{args.correct}_leg_{k}": v for k, v in
                      crop_leg(args.scan, args.reference, args.out_dir, leg=args.correct).items()})
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _read(path: Path) -> str:
    if not path.is_file():
        raise InputPathError(f"{path}: cannot read (no such file, or not a regular file)")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputPathError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise InputPathError(f"{path}: not UTF-8 text (byte {error.start}); give a text file") from None


def _run_ship(args: argparse.Namespace) -> int:
    from legseg_core.commands.train import parse_pairs
    from legseg_core.atomic import write_text_atomically
    from legseg_core.model_lookup import shipped_model_folders
    from legseg_core.models.checkpoint import validate_model_file
    from legseg_core.starter.ship import evaluation_summary, model_card_markdown, ship_model

    folders = shipped_model_folders()
    out_dir = args.out_dir or (folders[0] if folders else None)
    if out_dir is None:
        raise LegsegError("no assets/models folder found; give --out-dir")
    metrics = {}
    for item in args.evaluation:
        title, sign, report = item.partition("=")
        if not sign:
            raise LegsegError(f"--evaluation {item!r} must look like TITLE=REPORT.json")
        metrics[title.strip()] = evaluation_summary(report)
    commands = [line for line in _read(args.commands).splitlines() if line.strip()]
    limits, about = _read(args.limits).strip(), _read(args.about)
    details = {**parse_pairs(args.detail, "--detail"), "commands": commands, "metrics": metrics}
    target = _ship_target(args, Path(out_dir))
    validate_model_file(args.trained)
    path = ship_model(args.trained, target, name=args.name, details=details, notes=limits)
    card = model_card_markdown(path, title=f"Model card: {args.name}", body=about)
    write_text_atomically(target.with_suffix(".md"), card)
    print(f"shipped {path} ({path.stat().st_size / 1e6:.1f} MB) and {path.with_suffix('.md')}")
    return 0


def _ship_target(args: argparse.Namespace, out_dir: Path) -> Path:
    """The shipped model file's path, checked (with its card beside it) before anything is written."""
    import re

    from legseg_core.paths import check_output_file

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}", args.name):
        raise LegsegError(f"--name {args.name!r} must be letters, digits, '_', '.' and '-', e.g. unet-lite-starter")
    inputs = [args.trained, args.commands, args.about, args.limits,
              *(item.partition("=")[2] for item in args.evaluation)]
    target = out_dir / f"{args.name}.pt"
    for path in (target, target.with_suffix(".md")):
        check_output_file(path, inputs=inputs, what="shipped model", create_folder=True)
    return target


def _run_register(args: argparse.Namespace) -> int:
    from legseg_core.starter.ship import register_starter_models
    from legseg_core.store import Store

    registered = register_starter_models(Store.open(args.store))
    for version in registered:
        print(f"{version.id}: {version.status} ({version.training.get('shipped')})")
    if not registered:
        print("nothing registered: the store has models already, or no starter model is shipped")
    return 0
