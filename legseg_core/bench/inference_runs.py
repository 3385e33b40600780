"""The measuring side of ``legseg bench inference``: stage-timed warm runs and cold command-line runs.

A warm run (:func:`warm_runs`, in a worker process of its own) loads the model once, then
times every stage of each end-to-end run: reading the file, the canonical orientation, the
Segmenter's stages (:data:`legseg_core.inference.STAGES`) and writing the labels. Each run's
ratio is its own end-to-end wall time over its own forward time. A cold run
(:func:`cold_runs`) is a fresh ``legseg segment`` process per repeat, model load and imports
included: what the command line pays.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from legseg_core.errors import LegsegError
from legseg_core.stages import StageClock, StageTime

READ, CANONICAL, WRITE = "read", "canonical orientation", "write"


def stage_order() -> tuple[str, ...]:
    """Every stage of an end-to-end run, in order."""
    from legseg_core.inference import STAGES

    return (READ, CANONICAL, *STAGES, WRITE)


def warm_runs(job: dict[str, Any]) -> dict[str, Any]:
    """Load the model of ``job`` once, run one warm-up and ``job['repeats']`` timed end-to-end runs.

    Returns ``stages`` (per stage: wall and CPU seconds of every run), ``end_to_end`` (wall and
    CPU of every run) and the run's facts (device, precision, patches, model load seconds, peak memory).
    """
    import torch  # noqa: F401  (imported before the clock starts: the model load alone is timed)

    from legseg_core.inference import Segmenter

    start = time.perf_counter()
    segmenter = Segmenter(job["model"], job["device"], precision=job["precision"], batch_size=job["batch_size"])
    load_s = time.perf_counter() - start
    one_run(segmenter, job)  # warm-up: first calls build the oneDNN kernels and fill the caches
    runs = [one_run(segmenter, job) for _ in range(job["repeats"])]
    stages = {name: [run[0].stages.get(name, StageTime(0.0, 0.0)) for run in runs] for name in stage_order()}
    return {"device": segmenter.device.type, "precision": segmenter.precision, "patches": runs[-1][2],
            "model_load_s": round(load_s, 3), "stages": {k: [list(t) for t in v] for k, v in stages.items()},
            "end_to_end": [list(run[1]) for run in runs], "peak_mib": round(peak_mib(segmenter.device), 1)}


def one_run(segmenter: Any, job: dict[str, Any]) -> tuple[StageClock, StageTime, int]:
    """One end-to-end run of a scan file to a labels file: its stage clock, its own end-to-end
    wall and CPU seconds (measured around the whole run, not summed from the stages) and its patches."""
    from legseg_core.io import save_labels
    from legseg_core.io.canonical import build_volume
    from legseg_core.io.nifti import read_nifti

    clock = StageClock()
    wall, cpu = time.perf_counter(), time.process_time()
    with clock.stage(READ):
        source, affine, metadata = read_nifti(Path(job["scan"]))
    with clock.stage(CANONICAL):
        volume = build_volume(source, affine, path=job["scan"], format="nifti", metadata=metadata)
        del source
    result = segmenter.segment(volume, probabilities=job.get("probabilities", False))
    for name, spent in result.stages.items():
        clock.add(name, *spent)
    with clock.stage(WRITE):
        save_labels(result.labels, volume, job["out"])
    total = StageTime(time.perf_counter() - wall, time.process_time() - cpu)
    return clock, total, result.patches


def cold_runs(model: str, scan: str, out: str, *, device: str, precision: str, repeats: int,
              batch_size: int | None = None) -> list[StageTime]:
    """Wall and CPU seconds (user + system, of the child process) of ``repeats`` fresh ``legseg segment``
    processes on one scan: Python start, imports, model load, segmentation and writing included."""
    command = [sys.executable, "-m", "legseg_core.cli", "segment", scan, "-o", out, "--model", model,
               "--device", device, "--precision", precision, "--no-progress"]
    if batch_size is not None:
        command += ["--batch-size", str(batch_size)]
    times = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise LegsegError(f"cold `legseg segment` of {scan} failed (exit {done.returncode}): "
                              f"{done.stderr.strip()[-1000:]}")
        times.append(StageTime(wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)))
    return times


def summary(samples: list[list[float]] | list[StageTime]) -> dict[str, float]:
    """Median, lowest and highest wall seconds and median CPU seconds of ``(wall, cpu)`` samples."""
    walls = [sample[0] for sample in samples]
    cpus = [sample[1] for sample in samples]
    return {"wall_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "cpu_s": statistics.median(cpus)}


def ratios(figures: dict[str, Any]) -> list[float]:
    """End to end over forward, run by run (the same run's two figures)."""
    forward = figures["stages"]["forward"]
    return [total[0] / max(step[0], 1e-9) for total, step in zip(figures["end_to_end"], forward)]


def peak_mib(device: Any) -> float:
    """The process's peak resident memory in MiB on a CPU (torch included), or the peak CUDA memory
    allocated by torch on a GPU."""
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    status = Path("/proc/self/status")
    if status.is_file():  # VmHWM is this program's own; ru_maxrss keeps the parent's peak across exec on Linux
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux, bytes on macOS


if __name__ == "__main__":  # the worker process of legseg_core.bench.inference.run_worker
    print(json.dumps(warm_runs(json.loads(sys.argv[1]))))
