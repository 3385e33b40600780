"""``legseg bench inference``: every stage of an end-to-end segmentation, warm and cold, and MONAI beside it.

For each network (the shipped starter models for the ``lite`` preset, random weights for
``paper``, whose timing does not depend on them) and each scan (bilateral T1w phantoms of 90 and
25 slices, or ``--scan SIZE`` scans), a fresh worker process (so that its peak memory is its
own) loads the model once and times ``--repeats`` end-to-end runs after one warm-up: read,
canonical orientation, leg split and mask, resampling to patches, forward, way back, argmax and
entropy, clean-up (labels in the air, stray pieces), write. Each stage is reported as the median
wall seconds, their range over the runs, the median CPU seconds (all threads: the figure that
stays comparable when other work shares the cores) and its share of the end to end. The ratio is each run's end-to-end wall
time over that same run's forward time, median and range over the runs: what the app and napari
pay (warm). ``cold`` is a fresh ``legseg segment`` process per repeat, Python start, imports and
model load included: what the command line pays.

Beside the U-Net, in the same run, MONAI's ``sliding_window_inference`` (overlap 0.5, Gaussian
blending) runs the same network on the same resampled legs (see
:mod:`legseg_core.bench.monai_compare`): time, and agreement of the labels (Dice). It needs the
optional ``bench`` dependencies (``pip install -e ".[bench]"``); without them it is skipped with a note.

Targets (medians): end to end over forward at most 1.2 (warm); a cold ``legseg segment`` of the
25-slice scan under 3 s; the lite U-Net under 5 s on the 90-slice scan on a CPU; LegSeg at least
2x faster than MONAI with labels agreeing at Dice >= 0.95; a 512 x 512 x 200 scan under 30 s and
4 GiB of peak memory. ``--agreement SECONDS`` also measures the labels bf16 and fp16 change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from legseg_core.bench import BenchResult
from legseg_core.bench.inference_runs import cold_runs, ratios, stage_order, summary
from legseg_core.bench.inference_scans import parse_size, size_name, write_phantom, write_sized_scan
from legseg_core.errors import LegsegError

DESCRIPTION = ("inference: every stage of an end-to-end run (warm and cold) per network and scan, peak memory, "
               "and MONAI's sliding window beside it")
ARCHITECTURE_NAMES = ("unet", "resnet", "densenet")
PRESET_NAMES = ("lite", "paper")
END_TO_END_RATIO = 1.2
COLD_SECONDS = 3.0
LITE_UNET_SECONDS = 5.0
MONAI_SPEEDUP = 2.0
MONAI_DICE = 0.95
LARGE_SCAN = (512, 512, 200)
LARGE_SECONDS = 30.0
LARGE_MIB = 4096.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", nargs="+", choices=ARCHITECTURE_NAMES, default=list(ARCHITECTURE_NAMES),
                        help="architectures to run (default: all)")
    parser.add_argument("--preset", nargs="+", choices=PRESET_NAMES, default=["lite"],
                        help="presets (default lite: the shipped starter models; paper: random weights, minutes "
                             "a scan on a CPU)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="arithmetic of the forward pass (default: the Segmenter's choice)")
    parser.add_argument("--slices", nargs="+", type=int, default=[90, 25], help="phantom scan lengths (default 90 25)")
    parser.add_argument("--scan", nargs="+", default=[], metavar="SIZE",
                        help="scans of X x Y x Z voxels (x FRAMES for 4D, e.g. 512x512x200 256x256x40x18) instead "
                             "of the phantoms of --slices; no cold runs")
    parser.add_argument("--repeats", type=int, default=5, help="timed warm runs per figure (default 5)")
    parser.add_argument("--cold-repeats", type=int, default=3,
                        help="fresh `legseg segment` processes per scan (default 3; 0: none)")
    parser.add_argument("--batch-size", type=int, default=None, help="patches per forward pass")
    parser.add_argument("--probabilities", action="store_true",
                        help="also keep the 8-class probabilities on the scan grid (memory of that one copy)")
    parser.add_argument("--no-monai", action="store_true", help="skip the side-by-side run of MONAI's sliding window (made for the lite U-Net)")
    parser.add_argument("--agreement", type=float, default=0.0, metavar="SECONDS",
                        help="also train a lite U-Net for SECONDS and measure bf16/fp16 label changes")


def quick_arguments() -> argparse.Namespace:
    """Settings for `legseg bench all`: the lite presets, three warm and two cold repeats."""
    return argparse.Namespace(arch=list(ARCHITECTURE_NAMES), preset=["lite"], device="auto", precision="auto",
                              slices=[90, 25], scan=[], repeats=3, cold_repeats=2, batch_size=None,
                              probabilities=False, no_monai=False, agreement=0.0)


def run(args: argparse.Namespace) -> BenchResult:
    sizes = [parse_size(text) for text in args.scan]
    if args.repeats < 1 or args.cold_repeats < 0 or any(s < 8 for s in args.slices):
        raise LegsegError(f"--repeats {args.repeats} must be >= 1, --cold-repeats {args.cold_repeats} >= 0 and "
                          f"--slices {args.slices} each >= 8")
    from legseg_core.inference import pick_device

    pick_device(args.device)  # an unknown or unavailable device fails here, before any work
    result = BenchResult("inference")
    with tempfile.TemporaryDirectory(prefix="legseg-bench-") as folder:
        scans = _write_scans(Path(folder), args.slices, sizes)
        for arch in args.arch:
            for preset in args.preset:
                model = model_file(arch, preset, Path(folder))
                for label, (scan, size) in scans.items():
                    _measure_one(result, args, arch, preset, model, label, scan, size, Path(folder))
    if args.agreement > 0:
        _agreement(result, args.agreement)
    result.notes += _notes(args)
    return result


def _write_scans(folder: Path, slices: list[int], sizes: list[tuple[int, ...]]) -> dict[str, tuple[Path, Any]]:
    """Scan files by row label: the phantoms of ``slices``, or the scans of ``sizes`` when given."""
    if sizes:
        return {size_name(size): (write_sized_scan(folder, size), size) for size in sizes}
    return {f"{count} slices": (write_phantom(folder, count), count) for count in slices}


def model_file(arch: str, preset: str, folder: Path) -> str:
    """The starter model of a lite network, else a model file of random weights (timing only)."""
    if preset == "lite":
        from legseg_core.model_lookup import resolve_model

        return str(resolve_model(f"{arch}-lite-starter"))
    import torch

    from legseg_core.models import ModelCard, build_model, save_checkpoint

    torch.manual_seed(0)
    network = build_model(arch, preset)
    return str(save_checkpoint(network, ModelCard.for_network(network), folder / f"{arch}-{preset}.pt"))


def _measure_one(result: BenchResult, args: argparse.Namespace, arch: str, preset: str, model: str, label: str,
                 scan: Path, size: Any, folder: Path) -> None:
    """Warm stages, cold runs and (for the U-Net) MONAI beside it, for one network on one scan."""
    network = f"{arch}/{preset}"
    out = str(folder / f"{arch}-{preset}-{scan.name}")
    job = dict(model=model, scan=str(scan), device=args.device, precision=args.precision,
               batch_size=args.batch_size, repeats=args.repeats, out=out, probabilities=args.probabilities)
    figures = run_worker("legseg_core.bench.inference_runs", job)
    result.rows += stage_rows(network, label, figures)
    ratio = statistics.median(ratios(figures))
    end_to_end = summary(figures["end_to_end"])
    result.target(f"{network} {label}: end to end / forward (warm)", ratio, END_TO_END_RATIO, unit="x")
    if arch == "unet" and preset == "lite" and size == 90 and figures["device"] == "cpu":
        result.target("unet/lite 90 slices end to end (warm, CPU)", end_to_end["wall_s"], LITE_UNET_SECONDS)
    if isinstance(size, tuple) and size == LARGE_SCAN:
        result.target(f"{network} {label}: end to end (warm)", end_to_end["wall_s"], LARGE_SECONDS)
        result.target(f"{network} {label}: peak memory", figures["peak_mib"], LARGE_MIB, unit="MiB")
    if args.cold_repeats and isinstance(size, int):
        cold = summary(cold_runs(model, str(scan), str(folder / f"cold-{scan.name}"), device=args.device,
                                 precision=args.precision, repeats=args.cold_repeats, batch_size=args.batch_size))
        result.rows.append({"network": network, "scan": label, "stage": "cold: legseg segment process",
                            **_rounded(cold)})
        if size == 25:
            result.target(f"{network} 25 slices: cold legseg segment", cold["wall_s"], COLD_SECONDS)
    if arch == "unet" and preset == "lite" and not args.no_monai:
        _monai(result, job, label)


def stage_rows(network: str, label: str, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage (median wall, range, median CPU, share of the end to end), then the end to end."""
    end_to_end = summary(figures["end_to_end"])
    rows = []
    for name in stage_order():
        stage = summary(figures["stages"][name])
        rows.append({"network": network, "scan": label, "stage": name, **_rounded(stage),
                     "share_pct": round(100 * stage["wall_s"] / end_to_end["wall_s"], 1)})
    each = ratios(figures)
    rows.append({"network": network, "scan": label, "stage": "end to end (warm)", **_rounded(end_to_end),
                 "share_pct": 100.0, "ratio": round(statistics.median(each), 3),
                 "ratio_range": f"{min(each):.2f}-{max(each):.2f}", "patches": figures["patches"],
                 "device": figures["device"], "precision": figures["precision"],
                 "model_load_s": figures["model_load_s"], "peak_mib": figures["peak_mib"]})
    return rows


def _monai(result: BenchResult, job: dict[str, Any], label: str) -> None:
    from legseg_core.bench import monai_compare

    if not monai_compare.monai_available():
        result.notes.append(monai_compare.MISSING)
        return
    figures = run_worker("legseg_core.bench.monai_compare", job)
    result.rows += monai_compare.rows(label, figures)
    result.target(f"unet/lite {label}: MONAI end to end / LegSeg end to end", figures["speedup"], MONAI_SPEEDUP,
                  unit="x", below=False)
    result.target(f"unet/lite {label}: labels of MONAI and LegSeg, mean Dice", figures["dice"], MONAI_DICE,
                  unit="", below=False)


def _agreement(result: BenchResult, seconds: float) -> None:
    from legseg_core.bench.precision_agreement import AGREEMENT_LIMIT, precision_agreement

    rows = precision_agreement(seconds)
    result.rows += rows
    for row in rows:
        result.target(f"{row['precision']} labels changed vs fp32 (muscle voxels)", row["changed_muscle_pct"],
                      AGREEMENT_LIMIT, unit="%", below=True)


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 3) for key, value in figures.items()}


def _notes(args: argparse.Namespace) -> list[str]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cold = f"{args.cold_repeats} cold processes per phantom" if args.cold_repeats and not args.scan else "no cold runs"
    return [f"{args.repeats} warm runs after one warm-up per row, {cold}; wall_s is the median, min_s/max_s the "
            f"range, cpu_s the median CPU seconds of the process (all threads)",
            "ratio: each run's end to end over that same run's forward; the way back and the argmax run fused on "
            "threads, and their wall seconds are shared out in proportion to their CPU seconds",
            "peak_mib: the worker's peak resident memory on a CPU (torch included), or "
            "torch.cuda.max_memory_allocated on a GPU",
            f"machine: {cores} usable cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end"
            if load else f"machine: {cores} usable cores"]


def run_worker(module: str, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``module``'s worker on ``job`` in a fresh Python process and return its figures."""
    done = subprocess.run([sys.executable, "-m", module, json.dumps(job)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise LegsegError(f"inference benchmark worker {module} failed on {job['scan']}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
