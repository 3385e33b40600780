"""``legseg evaluate``: Dice, AHD and HD95 per muscle and per case, tables, t-tests and plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from legseg_core.commands.common import add_relabel_option, print_json, with_progress_bar

CASE_ID_HELP = ("Folders are matched by case id: the file name without .nii/.nii.gz and without one trailing "
                "suffix _labels, _label, _seg, _segmentation, _pred, _prediction, _manual, _reference, _ref, "
                "_mask, _image, _img or _0000 (also with - or .), letter case ignored.")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score predicted labels against reference labels (Dice, AHD, HD95)",
        description="Score predicted labels against reference labels per muscle: Dice, average Hausdorff "
                    "distance (VISCERAL AVGDIST, in voxels or mm), HD95 (mm) and volume difference; report "
                    "mean ± SD per muscle (Table A1) and over cases averaged over muscles (Table 1). "
                    "With --compare, paired t-tests between models on the same cases. " + CASE_ID_HELP,
        epilog="A muscle absent from reference and prediction is not scored (NaN); absent from one of them it "
               "has Dice 0 and no distance (NaN). Means leave NaN out and report n.")
    parser.add_argument("--reference", required=True, help="reference (manual) label file, or folder of them")
    parser.add_argument("--prediction", required=True, help="predicted label file, or folder of them")
    parser.add_argument("--compare", action="append", default=[], metavar="PATH",
                        help="another model's predictions (file or folder) to compare with --prediction by paired "
                             "t-tests; may be repeated")
    parser.add_argument("--names", nargs="+", metavar="NAME",
                        help="display names of --prediction and each --compare (default: file or folder names)")
    parser.add_argument("--unit", choices=("voxel", "mm"), default="voxel",
                        help="unit of the AHD in the tables and tests (default voxel, as the paper's tool)")
    parser.add_argument("--resample", action="store_true",
                        help="resample predictions on another grid onto the reference grid (nearest neighbour) "
                             "instead of refusing them")
    parser.add_argument("--per-leg", action="store_true",
                        help="also score each leg on its own: every model appears three times, '<name>' (both "
                             "legs), '<name> right' and '<name> left' (legs parted where the reference's muscles "
                             "part); CSV rows and JSON entries carry a 'leg' field")
    parser.add_argument("--json", action="store_true", help="print every score, summary and test as JSON")
    parser.add_argument("--csv", metavar="FILE", help="write one row per model, case and muscle with every score")
    parser.add_argument("--summary-csv", metavar="FILE", help="write the mean ± SD (n) summaries as CSV")
    parser.add_argument("--markdown", metavar="FILE", help="write the report tables as Markdown")
    parser.add_argument("--plot", metavar="DIR",
                        help="write PNGs: per-muscle Dice box plots and the Figure 4 overlay of each case")
    parser.add_argument("--image", metavar="PATH",
                        help="scan(s) under the overlays: a file, or a folder matched by case id (optional)")
    add_relabel_option(parser, "the reference labels")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from legseg_core.evaluation import compare_models, evaluate_cases, match_cases
    from legseg_core.evaluation.tables import markdown_report

    sources = [args.reference, args.prediction, *args.compare]
    cases = match_cases(sources)
    names = model_names(args.names, sources[1:])
    models, legs = {}, {}
    for index, name in enumerate(names, start=1):
        for leg in (None, "right", "left") if args.per_leg else (None,):
            label = name if leg is None else f"{name} {leg}"
            work = evaluate_cases(cases, model_index=index, resample=args.resample, relabel=args.relabel, leg=leg)
            models[label] = with_progress_bar(work, f"evaluating {label}", enabled=sys.stderr.isatty())
            legs[label] = leg or "both"
    ahd = "ahd_voxels" if args.unit == "voxel" else "ahd_mm"
    metrics = ("dice", ahd, "hd95_mm")
    first = names[0]
    tests = [test for name in names[1:]
             for test in compare_models(models[first], models[name], metrics=("dice", ahd), names=(first, name))]
    report = markdown_report(models, metrics, tests)
    write_outputs(args, models, metrics, report, legs)
    if args.plot:
        write_plots(Path(args.plot), models, cases, args)
    if args.json:
        print_json(json_payload(models, metrics, tests, cases.unmatched, legs))
    else:
        print(report, end="")
        for key, missing in cases.unmatched.items():
            print(f"note: case {key} is left out: missing from {', '.join(missing)}", file=sys.stderr)
    return 0


def model_names(names: list[str] | None, sources: list[str]) -> list[str]:
    """Display names for the predictions: the given ones, or unique file/folder names."""
    from legseg_core.evaluation import EvaluationError
    from legseg_core.evaluation.cases import case_id

    if names:
        if len(names) != len(sources) or len(set(names)) != len(names):
            raise EvaluationError(f"--names needs {len(sources)} different names (--prediction and each --compare), "
                                  f"got {names}")
        return list(names)
    result: list[str] = []
    for source in sources:
        path = Path(source)
        base = path.name if path.is_dir() else case_id(path)
        name, number = base or "prediction", 2
        while name in result:
            name, number = f"{base}-{number}", number + 1
        result.append(name)
    return result


def write_outputs(args: argparse.Namespace, models: dict, metrics: tuple[str, ...], report: str,
                  legs: dict[str, str]) -> None:
    """The --csv, --summary-csv and --markdown files (with a 'leg' column when scored per leg)."""
    from legseg_core.errors import InputPathError
    from legseg_core.evaluation.tables import score_records, summary_records, write_csv

    if args.csv:
        write_csv(with_leg(score_records(models), legs, args.per_leg), args.csv)
    if args.summary_csv:
        write_csv(with_leg(summary_records(models, metrics), legs, args.per_leg), args.summary_csv)
    if args.markdown:
        path = Path(args.markdown)
        if not path.parent.is_dir():
            raise InputPathError(f"{path}: the folder {path.parent} does not exist")
        path.write_text(report, encoding="utf-8")


def write_plots(folder: Path, models: dict, cases: Any, args: argparse.Namespace) -> list[Path]:
    """Dice box plots of every model and the Figure 4 overlay of each case of the first model."""
    from legseg_core.evaluation.cases import load_pair
    from legseg_core.evaluation.overlap import overlap_map
    from legseg_core.evaluation.plots import dice_boxplot, overlay_png

    folder.mkdir(parents=True, exist_ok=True)
    written = [dice_boxplot(models, folder / "dice_boxplot.png")]
    images = _image_paths(args.image, cases.case_ids)
    first = next(iter(models))
    for key in cases.case_ids:
        reference, prediction = load_pair(*cases.paths[key][:2], resample=args.resample, relabel=args.relabel)
        image = _load_image(images.get(key), reference)
        written.append(overlay_png(overlap_map(reference.data, prediction.data), folder / f"overlap_{key}.png",
                                   image=image, spacing=reference.spacing, title=f"{key}: manual vs {first}"))
    return written


def _image_paths(image: str | None, case_ids: list[str]) -> dict[str, Path]:
    from legseg_core.errors import InputPathError
    from legseg_core.evaluation.cases import case_files

    if image is None:
        return {}
    path = Path(image)
    if path.is_dir():
        return case_files(path)
    if not path.is_file():
        raise InputPathError(f"{path}: no such file or folder")
    return {key: path for key in case_ids}


def _load_image(path: Path | None, reference: Any) -> Any:
    if path is None:
        return None
    from legseg_core.io import check_same_grid, load_volume

    image = load_volume(path)
    check_same_grid(reference, image, what=f"image {path}")
    return image.data


def with_leg(rows: list[dict[str, Any]], legs: dict[str, str], per_leg: bool) -> list[dict[str, Any]]:
    """CSV rows with the leg each model entry scored, after the model column (rows unchanged without --per-leg)."""
    if not per_leg:
        return rows
    return [{"model": row["model"], "leg": legs[row["model"]], **row} for row in rows]


def json_payload(models: dict, metrics: tuple[str, ...], tests: list, unmatched: dict,
                 legs: dict[str, str] | None = None) -> dict[str, Any]:
    """Every score, the summaries and the tests, with NaN as null."""
    from legseg_core.evaluation.tables import jsonable, per_case_summary, per_muscle_summary
    from legseg_core.labels import MUSCLE_BY_ID

    payload: dict[str, Any] = {"models": {}, "tests": [t.to_dict() for t in tests], "unmatched_cases": unmatched}
    for name, cases in models.items():
        payload["models"][name] = {
            "leg": (legs or {}).get(name, "both"),
            "cases": [case.to_dict() for case in cases],
            "per_muscle": {metric: {MUSCLE_BY_ID[label].abbr: vars(summary)
                                    for label, summary in per_muscle_summary(cases, metric).items()}
                           for metric in metrics},
            "over_cases": {metric: vars(per_case_summary(cases, metric)) for metric in metrics}}
    return jsonable(payload)
