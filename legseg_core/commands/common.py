"""Helpers shared by the subcommands: JSON output, progress bars, volume-loading options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TypeVar

from legseg_core.progress import Progress, ProgressWork, drive

T = TypeVar("T")


def print_json(payload: Any) -> None:
    """Print a JSON document on stdout (numbers and strings only; paths become strings)."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def add_volume_options(parser: argparse.ArgumentParser) -> None:
    """The options that control how a scan is read (4D frame, NaN, oblique, DICOM series)."""
    group = parser.add_argument_group("reading scans")
    group.add_argument("--frame", default=None,
                       help="for 4D images: the frame index to use, or 'mean' (default: frame 0)")
    group.add_argument("--nonfinite", choices=("error", "zero"), default="error",
                       help="NaN/Inf voxels: refuse the scan (default) or set them to 0")
    group.add_argument("--allow-oblique", action="store_true",
                       help="accept oblique scans on their nearest axes, without resampling")
    group.add_argument("--series", default=None,
                       help="DICOM folder with several series: the series uid, number or description")


def add_relabel_option(parser: argparse.ArgumentParser, what: str = "the labels") -> None:
    """``--relabel SCHEME``: map another tool's label values onto the muscle ids 1..7 on reading."""
    parser.add_argument("--relabel", default=None, metavar="SCHEME",
                        help=f"map another tool's values in {what} onto the muscle ids 1..7: a built-in scheme "
                             f"(qmritools-calf, legseg), an ITK-SNAP label description file whose label names "
                             f"are muscle names (abbreviations, full names, Dafne's ROI names), or VALUE=MUSCLE "
                             f"pairs such as 13=GM,15=GL; values the scheme leaves unmapped are refused")


def volume_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for load_volume from the options of add_volume_options."""
    frame = args.frame
    if frame is not None and frame != "mean":
        try:
            frame = int(frame)
        except ValueError:
            from legseg_core.errors import LegsegError

            raise LegsegError(f"--frame must be a whole number or 'mean', got {frame!r}") from None
    return dict(frame=frame, nonfinite=args.nonfinite, allow_oblique=args.allow_oblique, series=args.series)


def with_progress_bar(work: ProgressWork[T], description: str, *, enabled: bool = True) -> T:
    """Run a progress generator with a tqdm bar on stderr; return its result."""
    if not enabled:
        return drive(work)
    from tqdm import tqdm

    bar = tqdm(total=1.0, desc=description, unit="", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")

    def update(event: Progress) -> None:
        if event.total and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        if event.message:
            bar.set_postfix_str(event.message, refresh=False)
        bar.refresh()

    try:
        return drive(work, update, what=description)
    finally:
        bar.close()
