"""``legseg app``: the standalone review station (worklist, image view, segment, correct, accept, fine-tune).

The GUI lives in ``legseg_gui``. Like the GUI benchmarks, it is reached by module name when the
command runs (``APP_MODULE``), never imported by the core, so ``legseg_core`` stays free of Qt
and ``legseg --help`` stays quick.
"""

from __future__ import annotations

import argparse
import importlib

from legseg_core.commands.common import add_relabel_option

#: The module that builds and runs the application window (AppOptions, run_app, DEFAULT_SIZE).
APP_MODULE = "legseg_gui.app.launch"

OVERLAYS = ("labels", "overlap", "none")
PANELS = ("segment", "review", "finetune")


def _size(text: str) -> tuple[int, int]:
    width, sign, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sign or min(size) < 200:
        raise argparse.ArgumentTypeError(f"--size {text!r} must look like WIDTHxHEIGHT in pixels, each at least 200")
    return size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="open the LegSeg application: worklist, segment, correct, accept, fine-tune",
        description="Open the LegSeg application on a store: the worklist of cases (sortable by status, contrast, "
                    "health, expected correction effort, QC flags and uncertainty), the image view with the label or "
                    "overlap overlay, editing tools, "
                    "segmentation, review with live Dice, and fine-tuning. With --screenshot and --quit it renders "
                    "the window offscreen, saves it and exits (for machines without a display). A label file whose "
                    "values are not LegSeg's 0..7 is read through --relabel; without it the application asks for a "
                    "label scheme (with --quit it is refused).")
    parser.add_argument("--store", metavar="PATH", default=None,
                        help="the store folder (default: $LEGSEG_STORE, else the user data folder; created if missing, "
                             "with the starter models, the starter U-Net active)")
    parser.add_argument("--open", metavar="SCAN", default=None,
                        help="a case id of the store, or a NIfTI file or DICOM folder to add to the store and open")
    parser.add_argument("--labels", metavar="FILE", default=None,
                        help="labels on the scan's grid to open as unsaved edits; saved, they keep the file's provenance "
                             "(predicted:<model> for a `legseg segment` output, else imported:<file name>)")
    parser.add_argument("--reference", metavar="FILE", default=None,
                        help="reference labels (e.g. a manual segmentation) to compare against in the review panel")
    add_relabel_option(parser, "--labels and --reference")
    parser.add_argument("--overlay", choices=OVERLAYS, default=None, help="what to overlay on the scan at start")
    parser.add_argument("--slice", type=int, default=None, help="the axial slice to show at start (0-based)")
    parser.add_argument("--panel", choices=PANELS, default=None,
                        help="the side panel to show at start (review: reference, prediction and live Dice)")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="window size in pixels (default 1400x900)")
    parser.add_argument("--screenshot", metavar="OUT.png", default=None,
                        help="save the window as a PNG (and OUT.json: where the slice lies in it)")
    parser.add_argument("--quit", action="store_true", help="quit at once (after --screenshot) without saving any edits; draws offscreen")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    launch = importlib.import_module(APP_MODULE)
    options = launch.AppOptions(store=args.store, open=args.open, labels=args.labels, reference=args.reference,
                                relabel=args.relabel,
                                overlay=args.overlay, slice=args.slice, panel=args.panel,
                                screenshot=args.screenshot, quit=args.quit, size=args.size or launch.DEFAULT_SIZE)
    return launch.run_app(options, announce=print)
