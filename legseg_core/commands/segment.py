"""``legseg segment``: label the seven muscles of one scan, many scans, or a folder of scans.

Each scan is read onto the canonical grid, segmented by :class:`legseg_core.inference.Segmenter`
with a progress bar, and its labels are written as NIfTI on the scan's own grid, so that they
overlay it in any viewer. ``--probabilities`` also writes the 8-class probabilities (4D,
classes last) and the uncertainty map (normalised entropy, 0..1). ``-o`` names a folder (files
``<scan>_labels.nii.gz`` ...), or, for a single scan, the labels file itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from legseg_core.commands.common import add_volume_options, print_json, volume_options, with_progress_bar
from legseg_core.errors import CancelledError, InputPathError, LegsegError
from legseg_core.paths import check_output_file, check_output_folder
from legseg_core.export import EXPORT_FORMATS

NIFTI_SUFFIXES = (".nii", ".nii.gz")
OUTPUT_KINDS = ("_labels", "_probabilities", "_uncertainty")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment", help="segment the seven calf muscles of scans with a model",
        description="Segment one scan, several scans, or every NIfTI scan of a folder (a folder without "
                    "NIfTI files is read as one DICOM series). Labels are written as NIfTI on each scan's grid.")
    parser.add_argument("scans", nargs="+", metavar="SCAN", help="NIfTI file, DICOM file or folder, or a folder of NIfTI files")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output folder; for one scan also a .nii/.nii.gz file name for the labels")
    parser.add_argument("--model", default=None, metavar="NAME_OR_FILE",
                        help="a model file, a shipped model's name, 'active' or a model id registered in the store "
                             "(default: the store's active model, else the starter U-Net; the output says which)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="arithmetic of the network (default auto: reduced only where measured to agree)")
    parser.add_argument("--batch-size", type=int, default=None, help="patches per forward pass")
    parser.add_argument("--probabilities", action="store_true",
                        help="also write the 8-class probabilities and the uncertainty map")
    parser.add_argument("--leg", choices=("auto", "right", "left"), default="auto",
                        help="which leg a single-leg scan shows (default auto: from its place in the field of "
                             "view; a centred leg is segmented both ways and the more certain side kept, which "
                             "doubles its time)")
    parser.add_argument("--export", nargs="+", choices=EXPORT_FORMATS, default=(), metavar="FORMAT",
                        help="also write the labels as: dicom-seg (<scan>_seg.dcm, a DICOM SEG referencing the DICOM "
                             "series), itksnap (<scan>_itksnap.txt label description beside the labels), slicer "
                             "(<scan>.seg.nrrd with segment names and colours), bids (a BIDS derivatives dataset "
                             "in OUT/bids: *_dseg.nii.gz + *_dseg.tsv); several may be given")
    parser.add_argument("--reference-dicom", metavar="DICOM_FOLDER", default=None,
                        help="with --export dicom-seg for a NIfTI scan: the DICOM series it was made from (same grid)")
    parser.add_argument("--store", metavar="PATH", default=None, help="the store that registered models come from")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    add_volume_options(parser)
    parser.set_defaults(handler=run)


def collect_scans(arguments: list[str]) -> list[Path]:
    """The scans named on the command line: files, DICOM folders, and the NIfTI files of folders."""
    scans: list[Path] = []
    for argument in arguments:
        path = Path(argument).expanduser()
        if not path.exists():
            raise InputPathError(f"{path}: no such file or folder")
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and is_nifti(p) and not is_output(p))
            scans += inside or [path]
        else:
            scans.append(path)
    return scans


def is_nifti(path: Path) -> bool:
    """True for .nii and .nii.gz file names (any case)."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def is_output(path: Path) -> bool:
    """True for the files this command writes (``<scan>_labels.nii.gz`` ...), which a folder run skips, so that
    segmenting a folder into itself twice never segments its own outputs."""
    return scan_name(path).endswith(OUTPUT_KINDS)


def scan_name(path: Path) -> str:
    """A file name stem without .nii/.nii.gz (a DICOM folder's own name)."""
    name = path.name
    for suffix in (".nii.gz", ".nii", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def output_paths(scans: list[Path], output: str) -> list[dict[str, Path]]:
    """Labels, probabilities and uncertainty paths per scan (names made unique within the folder)."""
    out = Path(output).expanduser()
    if is_nifti(out):
        if len(scans) != 1:
            raise InputPathError(f"{out}: a file name can take the labels of one scan only; give a folder "
                                 f"for {len(scans)} scans")
        stem = scan_name(out).removesuffix("_labels")
        return [_paths(out.parent, stem, labels=out)]
    check_output_folder(out, inputs=[s for s in scans if not s.is_dir()])
    seen: dict[str, int] = {}
    result = []
    for scan in scans:
        stem = scan_name(scan)
        seen[stem] = seen.get(stem, 0) + 1
        result.append(_paths(out, stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"))
    return result


def check_outputs(outputs: list[dict[str, Path]], scans: list[Path], *, probabilities: bool) -> None:
    """Refuse, before any inference, output paths that cannot be written or would overwrite a scan."""
    for paths in outputs:
        for kind, path in paths.items():
            if kind == "labels" or probabilities:
                check_output_file(path, inputs=scans, what=f"{kind} output", create_folder=True)


def _paths(folder: Path, stem: str, labels: Path | None = None) -> dict[str, Path]:
    return {"labels": labels or folder / f"{stem}_labels.nii.gz",
            "probabilities": folder / f"{stem}_probabilities.nii.gz",
            "uncertainty": folder / f"{stem}_uncertainty.nii.gz"}


def check_export_request(scans: list[Path], args: argparse.Namespace) -> None:
    """Refuse, before any work, a DICOM SEG export of NIfTI scans without ``--reference-dicom``."""
    if "dicom-seg" not in args.export or args.reference_dicom is not None:
        return
    nifti = [scan for scan in scans if is_nifti(scan)]
    if nifti:
        raise InputPathError(f"{nifti[0]}: --export dicom-seg needs the DICOM series of a NIfTI scan; name it with "
                             "--reference-dicom DICOM_FOLDER")


def run(args: argparse.Namespace) -> int:
    from legseg_core.inference import Segmenter
    from legseg_core.model_lookup import default_model, resolve_model

    scans = collect_scans(args.scans)
    outputs = output_paths(scans, args.output)
    check_outputs(outputs, scans, probabilities=args.probabilities)
    check_export_request(scans, args)
    if args.model is None:
        choice = default_model(args.store)
        model_file, model_reason = choice.path, choice.reason
    else:
        model_file, model_reason = resolve_model(args.model, store=args.store), f"--model {args.model}"
    segmenter = Segmenter(model_file, args.device, precision=args.precision, batch_size=args.batch_size,
                          leg=args.leg)
    results, failures = [], 0
    for scan, paths in zip(scans, outputs):
        try:
            results.append(segment_one(segmenter, scan, paths, args))
        except CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - one scan's failure, of any kind, never stops the batch
            failures += 1
            message = _failure_message(error)
            results.append({"scan": str(scan), "error": message})
            print(f"legseg: error: {message}", file=sys.stderr)
    report(segmenter, model_file, model_reason, results, as_json=args.json)
    return 2 if failures else 0


def _failure_message(error: BaseException) -> str:
    from legseg_core.cli import describe_os_error, one_line

    if isinstance(error, OSError):
        return describe_os_error(error)
    if isinstance(error, MemoryError):
        return "not enough memory for this scan"
    if not isinstance(error, LegsegError):
        return f"internal error: {type(error).__name__}: {one_line(str(error))}"
    return one_line(str(error))


def segment_one(segmenter: Any, scan: Path, paths: dict[str, Path], args: argparse.Namespace) -> dict[str, Any]:
    """Segment one scan, write its files, return what the report shows."""
    import time

    import numpy as np

    from legseg_core.evaluation.qc import check_segmented
    from legseg_core.io import load_volume, save_image, save_labels
    from legseg_core.labels import MUSCLES
    from legseg_core.store.provenance import model_reference, prediction_description

    start = time.perf_counter()
    volume = load_volume(scan, **volume_options(args))
    result = with_progress_bar(segmenter.segment_steps(volume, probabilities=args.probabilities),
                               scan_name(scan), enabled=not args.no_progress)
    paths["labels"].parent.mkdir(parents=True, exist_ok=True)
    description = prediction_description(model_reference(segmenter.card))
    written: dict[str, Any] = {"labels": str(save_labels(result.labels, volume, paths["labels"],
                                                         description=description))}
    if args.probabilities:
        written["probabilities"] = str(save_image(np.moveaxis(result.probabilities, 0, -1), volume,
                                                  paths["probabilities"]))
        written["uncertainty"] = str(save_image(result.uncertainty, volume, paths["uncertainty"]))
    if args.export:
        written["exports"] = export_files(result.labels, volume, paths, scan, args, model=segmenter.card.model_id)
    voxel_ml = float(np.prod(volume.spacing)) / 1000.0
    counts = result.muscle_voxels()
    quality = check_segmented(result, volume.spacing)
    return {"scan": str(scan), **written, "shape": list(volume.shape), "spacing_mm": list(volume.spacing),
            "frame": volume.metadata.get("frame", "3D image"), "legs": list(quality.legs),
            "device": result.device, "precision": result.precision,
            "patches": result.patches, "uncertainty_score": round(result.uncertainty_score, 4),
            "seconds": {**{k: round(v, 3) for k, v in result.timings.items()},
                        "with_io": round(time.perf_counter() - start, 3)},
            "muscles": {m.abbr: {"voxels": counts[m.id], "ml": round(counts[m.id] * voxel_ml, 2)} for m in MUSCLES},
            "quality": quality.to_dict()}


def export_files(labels: Any, volume: Any, paths: dict[str, Path], scan: Path, args: argparse.Namespace, *,
                 model: str) -> dict[str, list[str]]:
    """Write the ``--export`` formats beside the labels (BIDS in ``bids/`` there); format -> files written."""
    from legseg_core.export import export_labels

    folder, stem = paths["labels"].parent, scan_name(paths["labels"]).removesuffix("_labels")
    written: dict[str, list[str]] = {}
    for fmt in dict.fromkeys(args.export):
        target = folder / "bids" if fmt == "bids" else folder
        files = export_labels(fmt, labels, volume, target, stem, reference_dicom=args.reference_dicom,
                              series=args.series, model=model)
        written[fmt] = [str(path) for path in files]
    return written


def report(segmenter: Any, model_file: Path, reason: str, results: list[dict[str, Any]], *, as_json: bool) -> None:
    """Print the model (and why it was used), the device and one block per scan (or all of it as JSON).

    Errors were printed on stderr as they happened; the text report only names the failed scans.
    """
    card = segmenter.card
    model = {"file": str(model_file), "model_id": card.model_id, "architecture": card.architecture,
             "preset": card.preset, "chosen": reason}
    if as_json:
        print_json({"model": model, "device": str(segmenter.device), "precision": segmenter.precision,
                    "scans": results})
        return
    print(f"model {card.model_id or model_file.name} ({card.architecture}/{card.preset}, {reason}) on "
          f"{segmenter.device}, {segmenter.precision}")
    for item in results:
        if "error" in item:
            print(f"{item['scan']}: failed (error above)")
            continue
        quality = item["quality"]
        print(f"{item['scan']} -> {item['labels']}  ({item['patches']} patches, {item['seconds']['with_io']:.1f} s, "
              f"uncertainty {item['uncertainty_score']:.3f}, frame: {item['frame']}, legs: "
              f"{' and '.join(quality['legs'])})")
        volumes: dict[str, dict[str, float]] = {}
        for muscle in quality["muscles"]:
            volumes.setdefault(muscle["leg"], {})[muscle["abbr"]] = muscle["volume_ml"]
        for leg, by_muscle in volumes.items():
            print(f"  {leg:<5} " + "  ".join(f"{abbr} {ml:.1f} ml" for abbr, ml in by_muscle.items()))
        for flag in quality["flags"]:
            print(f"  check: {flag}")
        for fmt, files in item.get("exports", {}).items():
            print(f"  {fmt}: " + ", ".join(files))
