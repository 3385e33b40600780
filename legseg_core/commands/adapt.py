"""``legseg adapt``: learn from a few corrected slices of a scan, re-segment the rest of it.

``--json-progress`` prints one JSON object per line on stdout for a GUI process: progress events
(``{"event": "start" | "step" | "epoch" | "segment" | "segmented", "done", "total", "fraction",
"message", ...}``), then ``{"event": "result", ...}`` (output paths, corrected leg slices, voxels
relabelled, seconds) or ``{"event": "error", "message": ...}``. Nothing is written before the end:
a cancelled or failed run leaves the labels and the model as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from legseg_core.commands.common import add_volume_options, print_json, volume_options, with_progress_bar
from legseg_core.errors import LegsegError
from legseg_core.progress import drive


def register(subparsers: argparse._SubParsersAction) -> None:
    from legseg_core.adapt.recipe import ADAPT_RECIPE, BASE_STEPS, MAX_STEPS, STEPS_PER_LEG_SLICE

    parser = subparsers.add_parser(
        "adapt", help="learn from a few corrected slices of a scan and re-segment its other slices",
        description="Case adaptation: fine-tune a copy of the model on the corrected slices of this scan alone (the "
                    "rest of the scan is unknown, not background), with the fine-tuning augmentation, then segment "
                    "the scan with it and replace the labels of every slice that was not corrected; between two "
                    "corrected slices of a leg, the muscles both show are interpolated over the new labels; "
                    "corrected slices never change. The adapted model belongs to this case: it is written beside "
                    f"the output, never registered. Default: {BASE_STEPS} steps plus {STEPS_PER_LEG_SLICE} per "
                    f"corrected leg slice (at most {MAX_STEPS}) of {ADAPT_RECIPE.batch_size} random "
                    f"{' x '.join(map(str, ADAPT_RECIPE.crop_shape or ()))} windows, learning rate "
                    f"{ADAPT_RECIPE.learning_rate:g}.")
    parser.add_argument("scan", metavar="SCAN", help="the scan (NIfTI file, DICOM file or folder)")
    parser.add_argument("--labels", required=True, metavar="LABELS",
                        help="the labels being corrected (NIfTI, ids 0..7, on the scan's grid)")
    parser.add_argument("--slices", nargs="+", default=[], metavar="SLICE",
                        help="corrected slices: 0-based axial (z) indices for both legs, or LEG:Z,Z,... for one leg "
                             "(right:4,12,20 left:5)")
    parser.add_argument("--corrected-from", metavar="PREDICTION", default=None,
                        help="the prediction the labels were corrected from: every leg slice where LABELS differ "
                             "from it counts as corrected (with --slices: both)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="the new labels (NIfTI)")
    parser.add_argument("--model", default="unet-lite-starter", metavar="NAME_OR_FILE",
                        help="the model to start from: a file, a shipped model's name, 'active' or a model id of "
                             "the store (default unet-lite-starter)")
    parser.add_argument("--store", metavar="PATH", default=None, help="the store that registered models come from")
    parser.add_argument("--save-model", metavar="FILE", default=None,
                        help="where the adapted model goes (default: beside OUT, as <OUT name>.adapted.pt)")
    parser.add_argument("--no-save-model", action="store_true", help="do not keep the adapted model")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"optimiser steps (default {BASE_STEPS} plus {STEPS_PER_LEG_SLICE} per corrected leg "
                             f"slice, at most {MAX_STEPS})")
    parser.add_argument("--no-interpolate", action="store_true",
                        help="keep the adapted network's labels between corrected slices (no interpolation of the "
                             "muscles both corrected slices show)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of windows and augmentation")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's choice)")
    add_volume_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json-progress", action="store_true",
                        help="print one JSON object per line (progress events, then the result) for a GUI process")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _adapt(args)
    except LegsegError as error:
        if args.json_progress:
            _print_line({"event": "error", "message": str(error)})
        raise


def _adapt(args: argparse.Namespace) -> int:
    from legseg_core.adapt import AdaptSettings, adapt_case, save_adapted
    from legseg_core.commands.train import set_threads
    from legseg_core.io import load_volume
    from legseg_core.model_lookup import resolve_model

    set_threads(args.threads)
    volume = load_volume(args.scan, **volume_options(args))
    labels, corrected = read_selection(volume, args)
    model_file = resolve_model(args.model, store=args.store)
    settings = AdaptSettings(steps=args.steps, seed=args.seed, device=args.device,
                             interpolate=not args.no_interpolate)
    work = adapt_case(volume, labels, corrected, model_file, settings)
    if args.json_progress:
        from legseg_core.commands.finetune import progress_record

        result = drive(work, lambda event: _print_line(progress_record(event)), what="case adaptation")
    else:
        result = with_progress_bar(work, "adapting", enabled=not args.no_progress)
    output = write_labels_atomically(result.labels, volume, Path(args.output))
    model_path = None
    if not args.no_save_model:
        model_path = save_adapted(result, args.save_model or adapted_model_beside(output))
    summary = {**result.to_dict(), "output": str(output), "adapted_model": None if model_path is None
               else str(model_path), "base_model": str(model_file)}
    if args.json_progress:
        _print_line({"event": "result", **summary})
    elif args.json:
        print_json(summary)
    else:
        print(f"{output}: learnt from {len(result.leg_slices)} corrected leg slice(s), relabelled "
              f"{result.replaced_voxels} voxels in {result.seconds['total']:.0f} s"
              + (f"; adapted model {model_path}" if model_path else ""))
    return 0


def read_selection(volume: Any, args: argparse.Namespace) -> tuple[Any, list]:
    """The labels (checked against the scan's grid) and the corrected leg slices the options name."""
    from legseg_core.adapt import AdaptError, LegColumns, changed_leg_slices, parse_slices
    from legseg_core.adapt.adapt import check_grid
    from legseg_core.io import load_volume

    labels = check_grid(volume, load_volume(args.labels))
    corrected = parse_slices(args.slices)
    if args.corrected_from:
        prediction = check_grid(volume, load_volume(args.corrected_from))
        corrected += changed_leg_slices(labels, prediction, LegColumns.of(volume))
    if not corrected:
        raise AdaptError(f"{args.labels}: no corrected slices; name them with --slices or give the prediction they "
                         "were corrected from with --corrected-from")
    return labels, corrected


def adapted_model_beside(output: Path) -> Path:
    """``<folder>/<name>.adapted.pt`` for an output ``<folder>/<name>.nii.gz``."""
    name = output.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return output.with_name(f"{name}.adapted.pt")


def write_labels_atomically(labels: Any, like: Any, path: Path) -> Path:
    """Write the labels to a temporary file beside ``path`` and rename it over ``path``."""
    from legseg_core.io import save_labels

    suffix = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix or ".nii.gz"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        save_labels(labels, like, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _print_line(record: dict[str, Any]) -> None:
    from legseg_core.evaluation.tables import jsonable

    sys.stdout.write(json.dumps(jsonable(record), default=str) + "\n")
    sys.stdout.flush()
