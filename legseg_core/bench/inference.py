"""``legseg bench inference``: each network and preset on a synthetic bilateral 90-slice scan and a 25-slice one.

For every architecture x preset x scan, a fresh worker process (so that its peak memory is its
own) builds the network with random weights (timing does not depend on them) and reports:

- ``end_to_end_s``: load the NIfTI file, segment it (patches, network, back to the scan grid,
  uncertainty), write the labels NIfTI; median over repeats after one warm-up run;
- ``forward_s``: the network alone on the scan's patches, in the Segmenter's batches;
- ``end_to_end_cpu_s``, ``forward_cpu_s``: the CPU seconds of the same runs (all threads), which
  stay comparable when other work shares the cores;
- ``patches_per_s``; ``peak_mib``: the worker's peak resident memory on the CPU (torch included),
  or ``torch.cuda.max_memory_allocated`` on a GPU.

Targets: end to end at most 1.3 x the forward time (the pipeline must not dominate), and the
lite U-Net under 5 s end to end on the 90-slice scan on a CPU. ``--agreement SECONDS`` also
trains a lite U-Net for that long on phantom cases and reports how many voxel labels bf16 and
fp16 arithmetic change against fp32 (the rule for using them by default is at most 0.5%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from legseg_core.bench import BenchResult, median_seconds
from legseg_core.errors import LegsegError

DESCRIPTION = "inference: each network x preset on 90- and 25-slice phantoms: end to end, forward, patches/s, memory"
ARCHITECTURE_NAMES = ("unet", "resnet", "densenet")
PRESET_NAMES = ("lite", "paper")
END_TO_END_RATIO = 1.3
LITE_UNET_SECONDS = 5.0
AGREEMENT_LIMIT = 0.5  # percent of voxel labels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", nargs="+", choices=ARCHITECTURE_NAMES, default=list(ARCHITECTURE_NAMES),
                        help="architectures to run (default: all)")
    parser.add_argument("--preset", nargs="+", choices=PRESET_NAMES, default=list(PRESET_NAMES),
                        help="presets to run (default: lite and paper; paper nets take minutes on a CPU)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                        help="arithmetic of the forward pass (default: the Segmenter's choice)")
    parser.add_argument("--slices", nargs="+", type=int, default=[90, 25], help="scan lengths (default 90 25)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per figure (default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="patches per forward pass")
    parser.add_argument("--agreement", type=float, default=0.0, metavar="SECONDS",
                        help="also train a lite U-Net for SECONDS and measure bf16/fp16 label changes")


def quick_arguments() -> argparse.Namespace:
    """Settings for `legseg bench all`: the lite presets only, two repeats, no agreement run."""
    return argparse.Namespace(arch=list(ARCHITECTURE_NAMES), preset=["lite"], device="auto", precision="auto",
                              slices=[90, 25], repeats=2, batch_size=None, agreement=0.0)


def run(args: argparse.Namespace) -> BenchResult:
    if args.repeats < 1 or any(s < 8 for s in args.slices):
        raise LegsegError(f"--repeats {args.repeats} must be >= 1 and --slices {args.slices} each >= 8")
    from legseg_core.inference import pick_device

    pick_device(args.device)  # an unknown or unavailable device fails here, before any work
    result = BenchResult("inference")
    with tempfile.TemporaryDirectory(prefix="legseg-bench-") as folder:
        scans = {slices: write_phantom(Path(folder), slices) for slices in args.slices}
        for arch in args.arch:
            for preset in args.preset:
                for slices, scan in scans.items():
                    job = dict(arch=arch, preset=preset, scan=str(scan), device=args.device,
                               precision=args.precision, batch_size=args.batch_size, repeats=args.repeats,
                               out=str(Path(folder) / f"{arch}-{preset}-{slices}.nii.gz"))
                    row = {"network": f"{arch}/{preset}", "scan": f"{slices} slices", **run_worker(job)}
                    result.rows.append(row)
                    add_targets(result, row, arch, preset, slices)
    if args.agreement > 0:
        result.rows += precision_agreement(args.agreement)
        for row in result.rows[-2:]:
            result.target(f"{row['precision']} labels changed vs fp32 (muscle voxels)", row["changed_muscle_pct"],
                          AGREEMENT_LIMIT, unit="%", below=True)
    result.notes.append("random-init weights (timing only); peak_mib is the worker's peak RSS on a CPU "
                        "(the torch runtime included) or torch.cuda.max_memory_allocated on a GPU")
    return result


def add_targets(result: BenchResult, row: dict[str, Any], arch: str, preset: str, slices: int) -> None:
    """End to end within 1.3 x forward for every run; the lite U-Net on 90 slices under 5 s on a CPU."""
    result.target(f"{arch}/{preset} {slices} slices: end to end / forward", row["end_to_end_s"] / row["forward_s"],
                  END_TO_END_RATIO, unit="x")
    if arch == "unet" and preset == "lite" and slices == 90 and row["device"] == "cpu":
        result.target("unet/lite 90 slices end to end (CPU)", row["end_to_end_s"], LITE_UNET_SECONDS)


def write_phantom(folder: Path, slices: int) -> Path:
    """A bilateral protocol-A (T1w) phantom of ``slices`` slices, written as NIfTI."""
    from legseg_core.io import save_image
    from legseg_core.phantom import make_case

    volume = make_case(seed=0, protocol="A", slices=slices, contrasts=("t1w",), legs="both").images["t1w"]
    return save_image(volume.data, volume, folder / f"phantom-{slices}.nii.gz")


def run_worker(job: dict[str, Any]) -> dict[str, Any]:
    """Measure one job in a fresh Python process and return its figures."""
    done = subprocess.run([sys.executable, "-m", "legseg_core.bench.inference", json.dumps(job)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LegsegError(f"inference benchmark of {job['arch']}/{job['preset']} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """The worker: time one network on one scan file (see the module docstring)."""
    import torch

    from legseg_core.inference import Segmenter
    from legseg_core.io import load_volume, save_labels
    from legseg_core.models import ModelCard, build_model, count_parameters
    from legseg_core.preprocess import to_patches

    torch.manual_seed(0)
    network = build_model(job["arch"], job["preset"], **job.get("overrides", {}))
    segmenter = Segmenter((network, ModelCard.for_network(network)), job["device"], precision=job["precision"],
                          batch_size=job["batch_size"])

    def end_to_end() -> None:
        volume = load_volume(job["scan"])
        save_labels(segmenter.segment(volume).labels, volume, job["out"])

    total, total_cpu = wall_and_cpu(end_to_end, job["repeats"])
    images = to_patches(load_volume(job["scan"]), config=segmenter.config).images
    batches = [images[i:i + segmenter.batch_size] for i in range(0, len(images), segmenter.batch_size)]
    forward, forward_cpu = wall_and_cpu(lambda: [segmenter.forward(batch) for batch in batches], job["repeats"])
    return {"device": segmenter.device.type, "precision": segmenter.precision,
            "parameters": count_parameters(network), "patches": len(images), "end_to_end_s": round(total, 3),
            "forward_s": round(forward, 3), "patches_per_s": round(len(images) / forward, 2),
            "end_to_end_cpu_s": round(total_cpu, 3), "forward_cpu_s": round(forward_cpu, 3),
            "peak_mib": round(_peak_mib(segmenter.device), 1)}


def wall_and_cpu(function: Any, repeats: int) -> tuple[float, float]:
    """Median wall seconds (after one warm-up run) and median CPU seconds of this process, all threads.

    The CPU seconds tell how much work a run was when other programs share the cores and
    stretch the wall time.
    """
    import statistics
    import time

    cpu: list[float] = []

    def timed() -> None:
        start = time.process_time()
        function()
        cpu.append(time.process_time() - start)

    wall = median_seconds(timed, repeats=repeats)
    return wall, statistics.median(cpu[1:])


def _peak_mib(device: Any) -> float:
    import resource

    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# ---- reduced-precision agreement ----------------------------------------------------------

def precision_agreement(seconds: float, *, train_cases: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Train a lite U-Net for ``seconds`` on phantoms; % of voxel labels bf16 and fp16 change vs fp32.

    bf16 and fp16 run through CPU autocast here (fp16 stands in for CUDA's autocast, which also
    keeps float32 accumulation). The held-out scan is a 25-slice single-leg phantom (one patch).
    """
    from legseg_core.inference import Segmenter
    from legseg_core.models import ModelCard
    from legseg_core.phantom import make_case

    network, steps = train_briefly(seconds, train_cases, seed)
    case = make_case(seed=seed + 100, protocol="A", slices=25, contrasts=("t1w",), legs="right")
    volume, truth = case.images["t1w"], case.labels.data
    card = ModelCard.for_network(network)
    reference = Segmenter((network, card), "cpu", precision="fp32").segment(volume).labels
    rows = []
    for precision in ("bf16", "fp16"):
        labels = Segmenter((network, card), "cpu", precision=precision).segment(volume).labels
        changed = labels != reference
        muscle = (labels > 0) | (reference > 0)
        rows.append({"network": "unet/lite trained", "scan": "25 slices, one leg", "precision": precision,
                     "train_s": seconds, "train_steps": steps, "fp32_mean_dice": round(_mean_dice(truth, reference), 3),
                     "changed_all_pct": round(100 * float(changed.mean()), 3),
                     "changed_muscle_pct": round(100 * float(changed[muscle].mean()) if muscle.any() else 0.0, 3)})
    return rows


def train_briefly(seconds: float, cases: int, seed: int) -> tuple[Any, int]:
    """A lite U-Net trained for ``seconds`` (Adam, Dice + cross-entropy) on random crops of phantom patches.

    Returns the network (in eval mode) and the number of optimiser steps taken.
    """
    import time

    import numpy as np
    import torch

    from legseg_core.models import build_model
    from legseg_core.phantom import make_case
    from legseg_core.preprocess import to_patches
    from legseg_core.training.losses import dice_cross_entropy

    images, labels = [], []
    for index in range(cases):
        case = make_case(seed=seed + index, protocol="A", slices=25, contrasts=("t1w",), legs="both")
        patches = to_patches(case.images["t1w"], case.labels)
        images.append(patches.images)
        labels.append(patches.labels)
    images, labels = np.concatenate(images), np.concatenate(labels)
    torch.manual_seed(seed)
    network = build_model("unet", "lite").train()
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    rng, start, steps = np.random.default_rng(seed), time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        steps += 1
        chosen = rng.choice(len(images), size=2, replace=False)
        y0, x0 = rng.integers(0, 104 - 64 + 1, size=2)
        crop = (slice(None), slice(y0, y0 + 64), slice(x0, x0 + 64))
        batch = torch.from_numpy(np.stack([images[i][crop] for i in chosen]))[:, None]
        target = torch.from_numpy(np.stack([labels[i][crop] for i in chosen]).astype(np.int64))
        loss = dice_cross_entropy(network.logits(batch), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return network.eval(), steps


def _mean_dice(reference: Any, predicted: Any) -> float:
    import numpy as np

    scores = []
    for muscle in range(1, 8):
        a, b = reference == muscle, predicted == muscle
        total = np.count_nonzero(a) + np.count_nonzero(b)
        scores.append(2.0 * np.count_nonzero(a & b) / total if total else 1.0)
    return float(np.mean(scores))


if __name__ == "__main__":  # the worker process of run_worker
    print(json.dumps(measure(json.loads(sys.argv[1]))))
