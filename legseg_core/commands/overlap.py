"""``legseg overlap``: the Figure 4 overlap map of reference against predicted labels, as NIfTI and PNG."""

from __future__ import annotations

import argparse

from legseg_core.commands.common import add_relabel_option, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "overlap", help="write the overlap map of reference and predicted labels (Figure 4)",
        description="Write the overlap map on the reference's grid: 0 both background, 1 same muscle (dark green), "
                    "2 predicted only (pink), 3 different muscles (teal), 4 manual only (red). Prints the "
                    "voxel count of each class and every muscle's Dice.")
    parser.add_argument("--reference", required=True, help="reference (manual) label file")
    parser.add_argument("--prediction", required=True, help="predicted label file")
    parser.add_argument("-o", "--output", required=True, help="overlap map to write (.nii or .nii.gz)")
    parser.add_argument("--resample", action="store_true",
                        help="resample a prediction on another grid onto the reference grid (nearest neighbour)")
    parser.add_argument("--png", metavar="FILE", help="also write the Figure 4 overlay of one axial slice as PNG")
    parser.add_argument("--image", metavar="PATH", help="scan under the PNG overlay (on the reference grid)")
    parser.add_argument("--slice", type=int, default=None, metavar="K",
                        help="axial slice of the PNG (default: the slice with the most labelled voxels)")
    parser.add_argument("--json", action="store_true", help="print the class counts and Dice as JSON")
    add_relabel_option(parser, "the reference")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from legseg_core.evaluation.cases import load_pair
    from legseg_core.evaluation.overlap import OverlapTracker
    from legseg_core.io import save_image
    from legseg_core.labels import MUSCLE_BY_ID, OVERLAP_BY_ID
    from legseg_core.evaluation.tables import jsonable

    check_outputs(args)
    reference, prediction = load_pair(args.reference, args.prediction, resample=args.resample, relabel=args.relabel)
    tracker = OverlapTracker(reference.data, prediction.data, reference.spacing)
    path = save_image(tracker.map, reference, args.output)
    if args.png:
        write_png(args, tracker.map, reference)
    counts = tracker.class_counts()
    dice = {MUSCLE_BY_ID[label].abbr: value for label, value in tracker.dice().items()}
    if args.json:
        print_json(jsonable({"output": str(path), "png": args.png,
                             "class_counts": {OVERLAP_BY_ID[k].abbr if k else "background": v
                                              for k, v in counts.items()},
                             "dice": dice}))
        return 0
    print(f"wrote {path}")
    for value, count in counts.items():
        print(f"{value} {OVERLAP_BY_ID[value].name if value else 'both background':<45} {count:>10d} voxels")
    print("Dice: " + ", ".join(f"{abbr} {value:.3f}" for abbr, value in dice.items()))
    return 0


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an overlap map or PNG path that cannot be written or names an input, before any work."""
    from legseg_core.io.nifti import NIFTI_SUFFIXES
    from legseg_core.paths import check_output_file

    inputs = [args.reference, args.prediction, args.image]
    check_output_file(args.output, inputs=inputs, what="overlap map", suffixes=NIFTI_SUFFIXES)
    if args.png:
        check_output_file(args.png, inputs=[*inputs, args.output], what="PNG", suffixes=(".png",))


def write_png(args: argparse.Namespace, overlap, reference) -> None:
    """The Figure 4 overlay of one slice, over the scan when --image is given (on the reference grid)."""
    from legseg_core.evaluation.plots import overlay_png
    from legseg_core.io import check_same_grid, load_volume

    image = None
    if args.image:
        scan = load_volume(args.image)
        check_same_grid(reference, scan, what=f"image {args.image}")
        image = scan.data
    overlay_png(overlap, args.png, image=image, slice_index=args.slice, spacing=reference.spacing)
