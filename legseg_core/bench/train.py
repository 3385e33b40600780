"""``legseg bench train``: training throughput, fine-tuning wall time, peak memory of a training step.

* **throughput** -- patches per second of :func:`legseg_core.training.train_network` against a bare
  PyTorch loop (same network, optimiser, loss, precision, batches of the same in-memory tensors,
  no augmentation, no validation), timed alternately. Target: at least 0.9x the bare loop.
* **finetune** -- wall time of the ``legseg finetune`` command (a subprocess, as a user runs it) of
  the lite U-Net on four corrected bilateral phantom cases, gate included, in a fresh store whose
  active model saw the cases' earlier (predicted) label versions. Target: under 10 minutes.
* **memory** -- peak memory of one training step at batch 6 for each paper preset, each in a
  fresh process: peak resident memory (CPU) or peak allocated CUDA memory. The paper needed
  8.0, 7.47 and 21.91 GB of GPU memory for U-Net, ResNet and DenseNet; the target is half of each.
  ``--memory-batch`` below 6 measures batch 1 and that batch and extrapolates linearly to 6.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "training: loop throughput vs bare PyTorch, legseg finetune wall time, peak step memory per paper preset"
THROUGHPUT_TARGET = 0.9
FINETUNE_TARGET_SECONDS = 600.0
PAPER_GPU_GB = {"unet": 8.0, "resnet": 7.47, "densenet": 21.91}
PARTS = ("throughput", "finetune", "memory")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which figures to measure")
    parser.add_argument("--arch", default="unet", help="architecture of the throughput figure (default unet)")
    parser.add_argument("--preset", default="lite", help="preset of the throughput figure (default lite)")
    parser.add_argument("--steps", type=int, default=4, help="optimiser steps of batch 6 per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of every measured process (default: PyTorch's choice)")
    parser.add_argument("--finetune-cases", type=int, default=4, help="corrected cases to fine-tune on")
    parser.add_argument("--phantom-size", default="default", choices=("tiny", "default"),
                        help="phantom grid of the fine-tuning store (default: the realistic one)")
    parser.add_argument("--memory-archs", nargs="+", default=["unet", "resnet", "densenet"],
                        help="paper presets whose step memory is measured")
    parser.add_argument("--memory-batch", type=int, default=6,
                        help="batch measured (below 6: batch 1 and this, extrapolated to 6)")


def quick_arguments() -> argparse.Namespace:
    """Throughput with two steps, the fine-tuning wall time, step memory at batches 1 and 2 extrapolated."""
    return argparse.Namespace(parts=list(PARTS), arch="unet", preset="lite", steps=2, repeats=1, device="auto",
                              threads=None, finetune_cases=4, phantom_size="default",
                              memory_archs=["unet", "resnet", "densenet"], memory_batch=2)


def run(args: argparse.Namespace) -> BenchResult:
    result = BenchResult("train")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if "throughput" in args.parts:
        _throughput(args, result)
    if "finetune" in args.parts:
        _finetune(args, result)
    if "memory" in args.parts:
        _memory(args, result)
    return result


# ---- throughput ----------------------------------------------------------------------------------

def _patches(count: int, shape: tuple[int, int, int] = (20, 104, 104), seed: int = 0):
    """Noisy patches ``[n, z, y, x]`` (float32) with seven square muscles in their labels (uint8)."""
    from legseg_core.training.patches import LabelledPatches

    rng = np.random.default_rng(seed)
    labels = np.zeros((count, *shape), np.uint8)
    side = max(1, shape[1] // 4)
    for label in range(1, 8):
        y, x = rng.integers(0, shape[1] - side + 1), rng.integers(0, shape[2] - side + 1)
        labels[:, :, y: y + side, x: x + side] = label
    images = (labels * 10.0 + rng.normal(0, 5, labels.shape)).astype(np.float32)
    return LabelledPatches(images, labels, tuple(f"case-{i}" for i in range(count)))


def _bare_loop(network: Any, patches: Any, recipe: Any, runtime: Any, steps: int) -> None:
    """The reference: plain PyTorch on the same tensors, optimiser, loss and precision."""
    import torch

    from legseg_core.training.losses import get_loss
    from legseg_core.training.runtime import autocast

    network.to(runtime.device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=recipe.learning_rate, eps=recipe.epsilon,
                                  weight_decay=recipe.weight_decay)
    loss_function = get_loss(recipe.loss)
    order = np.random.default_rng(0).permutation(len(patches))
    for step in range(steps):
        index = order[step * recipe.batch_size: (step + 1) * recipe.batch_size]
        images = torch.from_numpy(patches.images[index]).unsqueeze(1).to(runtime.device)
        labels = torch.from_numpy(patches.labels[index].astype(np.int64)).to(runtime.device)
        with autocast(runtime.device, runtime.precision):
            logits = network.logits(images)
        loss = loss_function(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), recipe.gradient_clip)
        optimizer.step()
        float(loss.detach())


def _throughput(args: argparse.Namespace, result: BenchResult) -> None:
    from legseg_core.models import build_model
    from legseg_core.progress import run_quietly
    from legseg_core.training import TrainingData, get_recipe, train_network
    from legseg_core.training.runtime import Runtime

    recipe = get_recipe("default", epochs=1, augment=None)
    runtime = Runtime.create(args.device, recipe.precision)
    patches = _patches(recipe.batch_size * args.steps)
    initial = build_model(args.arch, args.preset)

    def ours() -> None:
        run_quietly(train_network(copy.deepcopy(initial), TrainingData(patches), recipe, device=args.device))

    def bare() -> None:
        _bare_loop(copy.deepcopy(initial), patches, recipe, runtime, args.steps)

    seconds_ours, seconds_bare = _interleaved(ours, bare, args.repeats)
    rate_ours, rate_bare = len(patches) / seconds_ours, len(patches) / seconds_bare
    result.rows.append({"figure": "throughput", "network": f"{args.arch}/{args.preset}", "device": runtime.device,
                        "precision": runtime.precision, "steps": args.steps, "batch": recipe.batch_size,
                        "legseg_patches_per_s": rate_ours, "bare_patches_per_s": rate_bare,
                        "ratio": rate_ours / rate_bare})
    result.target("training loop throughput / bare PyTorch loop", rate_ours / rate_bare, THROUGHPUT_TARGET,
                  unit="x", below=False)


def _interleaved(first: Any, second: Any, repeats: int) -> tuple[float, float]:
    """Median seconds of two functions timed alternately (after one warm-up each), so that a change
    in the machine's load during the benchmark affects both alike."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for function, found in ((first, times[0]), (second, times[1])):
            found.append(median_seconds(function, repeats=1, warmup=0))
    return float(np.median(times[0])), float(np.median(times[1]))


# ---- fine-tuning wall time -----------------------------------------------------------------------

def _finetune(args: argparse.Namespace, result: BenchResult) -> None:
    with tempfile.TemporaryDirectory(prefix="legseg-bench-finetune-") as folder:
        store_path = Path(folder) / "store"
        setup_seconds = prepare_finetune_store(store_path, args.finetune_cases, args.phantom_size, args.device)
        command = [sys.executable, "-m", "legseg_core.cli", "finetune", "--store", str(store_path), "--json",
                   "--no-progress", "--device", args.device]
        command += [] if args.threads is None else ["--threads", str(args.threads)]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            result.notes.append(f"legseg finetune failed ({completed.returncode}): {completed.stderr.strip()[-300:]}")
            return
        report = json.loads(completed.stdout)
    result.rows.append({"figure": "finetune", "cases": args.finetune_cases, "phantom": args.phantom_size,
                        "steps": report["steps"], "replayed_cases": report["replay_cases"],
                        "decision": report["decision"], "threads": args.threads or "default", "seconds": seconds,
                        "setup_seconds": setup_seconds})
    result.target(f"legseg finetune, lite U-Net, {args.finetune_cases} corrected bilateral cases", seconds,
                  FINETUNE_TARGET_SECONDS)


def prepare_finetune_store(path: Path, new_cases: int, size: str, device: str) -> float:
    """A store whose active lite U-Net saw predicted versions of ``new_cases`` train cases, which now
    have accepted corrections; plus further train, validation and test cases. Returns the seconds spent."""
    from legseg_core.phantom import make_case
    from legseg_core.progress import run_quietly
    from legseg_core.store import SplitConfig, Store
    from legseg_core.training.session import TrainRequest, train_from_store

    started = time.perf_counter()
    store = Store.init(path, splits=SplitConfig(0.6, 0.2, 0.2))
    truth = {}
    for seed in range(new_cases + 6):
        case = make_case(1000 + seed, protocol="A", size=size)
        record = store.add_case(case.images["t1w"], contrast="t1w", protocol="A", health="healthy")
        predicted = _degraded(case.labels.data, seed)
        version = store.add_label_version(record.id, predicted, provenance="predicted:bench")
        store.accept(record.id, version.id)
        truth[record.id] = case.labels.data
    request = TrainRequest(epochs=1, device=device, recipe_options={"max_steps": 1})
    run_quietly(train_from_store(store, request))
    for case in store.accepted_cases(split="train")[:new_cases]:
        version = store.add_label_version(case.id, truth[case.id], provenance=f"corrected:{case.accepted_version}")
        store.accept(case.id, version.id)
    return time.perf_counter() - started


def _degraded(labels: np.ndarray, seed: int) -> np.ndarray:
    """A plausible earlier prediction: the labels shifted by a voxel in y with a muscle left out."""
    shifted = np.roll(labels, 1, axis=1)
    shifted[shifted == 1 + seed % 7] = 0
    return shifted


# ---- step memory ---------------------------------------------------------------------------------

def memory_child(arch: str, preset: str, batch: int, device: str, threads: int | None = None) -> None:
    """Run one training step in this (fresh) process and print its peak memory as JSON."""
    import resource

    import torch

    from legseg_core.models import build_model
    from legseg_core.training.recipes import get_recipe
    from legseg_core.training.runtime import Runtime
    from legseg_core.training.steps import StepRunner

    if threads is not None:
        torch.set_num_threads(threads)
    runtime = Runtime.create(device, "auto")
    runner = StepRunner(build_model(arch, preset), get_recipe("default", augment=None), runtime, 1)
    images = torch.rand(batch, 1, 20, 104, 104) * 100
    labels = torch.randint(0, 8, (batch, 20, 104, 104))
    if runtime.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    runner.step(images, labels, 0)
    seconds = time.perf_counter() - started
    if runtime.device.startswith("cuda"):
        peak, kind = torch.cuda.max_memory_allocated() / 2**30, "cuda allocated"
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process resident (cpu)"
    print(json.dumps({"peak_gb": peak, "kind": kind, "seconds": seconds, "precision": runtime.precision}))


def _measure(arch: str, batch: int, device: str, threads: int | None) -> dict[str, Any]:
    code = ("from legseg_core.bench.train import memory_child; "
            f"memory_child({arch!r}, 'paper', {batch}, {device!r}, {threads!r})")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip()[-300:] or f"exit status {completed.returncode}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _memory(args: argparse.Namespace, result: BenchResult) -> None:
    batches = [6] if args.memory_batch >= 6 else [1, args.memory_batch]
    for arch in args.memory_archs:
        measured = {batch: _measure(arch, batch, args.device, args.threads) for batch in batches}
        failed = [m["error"] for m in measured.values() if "error" in m]
        if failed:
            result.notes.append(f"memory of {arch}/paper could not be measured: {failed[0]}")
            continue
        peak = _at_batch_six(measured)
        first = next(iter(measured.values()))
        result.rows.append({"figure": "step memory", "network": f"{arch}/paper", "memory": first["kind"],
                            "precision": first["precision"], "batches_measured": " ".join(map(str, measured)),
                            "peak_gb_batch6": peak, "step_seconds": measured[max(measured)]["seconds"],
                            "paper_gpu_gb": PAPER_GPU_GB.get(arch, math.nan)})
        if arch in PAPER_GPU_GB:
            how = "" if 6 in measured else " (extrapolated from batches " + " and ".join(map(str, measured)) + ")"
            result.target(f"{arch}/paper peak step memory at batch 6{how}", peak, PAPER_GPU_GB[arch] / 2, unit="GB")


def _at_batch_six(measured: dict[int, dict[str, Any]]) -> float:
    if 6 in measured:
        return float(measured[6]["peak_gb"])
    (small, low), (large, high) = sorted((b, float(m["peak_gb"])) for b, m in measured.items())
    return high + (high - low) / (large - small) * (6 - large)
