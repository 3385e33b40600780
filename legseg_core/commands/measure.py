"""``legseg measure``: per-muscle volume, cross-sectional area, image means and fat fraction."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from legseg_core.commands.common import add_relabel_option, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "measure", help="per-muscle volume, cross-sectional area, mean image values and fat fraction",
        description="Measure each muscle of a label map: volume (ml), mean cross-sectional area (mm^2) over the "
                    "axial slices that hold it and its profile along z, mean and SD of each given image, and the "
                    "fat fraction F/(F+W) (voxel-wise, averaged over the muscle, voxels with F+W <= 0 left out) "
                    "when images named 'fat' and 'water' are given (names compared ignoring letter case).")
    parser.add_argument("labels", help="label map (values 0..7, or another tool's values with --relabel)")
    parser.add_argument("--image", action="append", default=[], metavar="NAME=PATH",
                        help="an image on the label grid to average per muscle, e.g. fat=dixon_fat.nii.gz; repeat "
                             "for several; images on another grid are refused")
    parser.add_argument("--erode", type=int, default=0, metavar="N",
                        help="erode each muscle's mask by N voxels before averaging image values (volumes and "
                             "areas use the masks as drawn)")
    parser.add_argument("--erode-mode", choices=("in-plane", "3d"), default="in-plane",
                        help="erode within each axial slice (default; keeps thick end slices) or in 3D")
    add_relabel_option(parser)
    parser.add_argument("--per-leg", action="store_true",
                        help="also measure each leg on its own (legs parted where their muscles part; a single leg "
                             "is placed by its side of the field of view): rows for both, right and left")
    parser.add_argument("--csv", metavar="FILE",
                        help="write one row per muscle (the area profile as a space-separated list)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    parser.set_defaults(handler=run)


def parse_images(specs: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` options -> name -> path; refuses a missing '=' or a repeated name."""
    from legseg_core.evaluation import EvaluationError

    images: dict[str, Path] = {}
    for spec in specs:
        name, separator, path = spec.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise EvaluationError(f"--image must be NAME=PATH, e.g. fat=dixon_fat.nii.gz; got {spec!r}")
        if name.strip().lower() in {n.lower() for n in images}:
            raise EvaluationError(f"--image name {name.strip()!r} is given twice")
        images[name.strip()] = Path(path.strip())
    return images


def load_label_map(path: str, relabel: str | None):
    """The label Volume, validated to 0..7, remapped first with a label scheme if asked."""
    from legseg_core.io import load_labels

    return load_labels(path, relabel=relabel)


def run(args: argparse.Namespace) -> int:
    from legseg_core.evaluation.measure import measure_volumes
    from legseg_core.evaluation.tables import jsonable, write_csv
    from legseg_core.io import load_volume

    labels = load_label_map(args.labels, args.relabel)
    images = {name: load_volume(path) for name, path in parse_images(args.image).items()}
    results = measure_volumes(labels, images, erode=args.erode, erode_mode=args.erode_mode)
    legs, split = per_leg_results(labels, images, args) if args.per_leg else ({}, None)
    if args.csv:
        rows = [{"leg": "both", **m.flat()} for m in results] if args.per_leg else [m.flat() for m in results]
        write_csv(rows + [{"leg": leg, **m.flat()} for leg, measured in legs.items() for m in measured], args.csv)
    if args.json:
        payload = {"labels": args.labels, "spacing_mm": list(labels.spacing), "erode": args.erode,
                   "erode_mode": args.erode_mode, "muscles": [m.to_dict() for m in results]}
        if split is not None:
            payload["legs"] = {"split": split.method, **{leg: [m.to_dict() for m in measured]
                                                         for leg, measured in legs.items()}}
        print_json(jsonable(payload))
        return 0
    print_table(results, list(images), "both legs" if args.per_leg else None)
    for leg, measured in legs.items():
        print_table(measured, list(images), f"{leg} leg")
    return 0


def per_leg_results(labels, images: dict, args: argparse.Namespace) -> tuple[dict[str, list], object]:
    """Each leg's measurements (``{leg: [MuscleMeasurement]}``) and the split that parted them."""
    from legseg_core.evaluation.legs import split_labels
    from legseg_core.evaluation.measure import measure_volumes

    split = split_labels(labels.data)
    return ({leg: measure_volumes(labels.with_data(split.leg_labels(labels.data, leg)), images, erode=args.erode,
                                  erode_mode=args.erode_mode) for leg in split.sides}, split)


def print_table(results: list, image_names: list[str], title: str | None = None) -> None:
    """One line per muscle: volume, mean area, slices, image means and fat fraction (under a title if given)."""
    if title:
        print(f"{title}:")
    fat_fraction = any(not math.isnan(m.fat_fraction) for m in results)
    header = f"{'muscle':<6} {'volume ml':>10} {'area mm2':>10} {'slices':>6}"
    header += "".join(f" {('mean ' + n)[:14]:>14}" for n in image_names)
    header += f" {'FF':>8}" if fat_fraction else ""
    print(header)
    for m in results:
        line = f"{m.abbr:<6} {m.volume_ml:>10.2f} {_number(m.mean_area_mm2, 10, 1)} {m.slices:>6d}"
        line += "".join(f" {_number(m.image_means[n], 14, 3)}" for n in image_names)
        print(line + (f" {_number(m.fat_fraction, 8, 3)}" if fat_fraction else ""))


def _number(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"
