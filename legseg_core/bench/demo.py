"""``legseg bench demo``: wall time of ``legseg demo --headless`` without the screenshot, by stage.

One synthetic patient (protocol A, T1w) is simulated, segmented with the shipped starter U-Net
on the CPU and scored; the stages (simulate, segment, score + write) are timed in one run, and
the whole demo is repeated ``--repeats`` times (median reported). Target: the whole demo at the
default size under 60 s on a laptop CPU, so that a new user sees a result within a minute.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from legseg_core.bench import BenchResult

DESCRIPTION = "legseg demo: simulate, segment with the starter U-Net, score and write (CPU)"
TARGET_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", choices=("tiny", "default", "fine"), default="default",
                        help="grid size of the synthetic case (default: default)")
    parser.add_argument("--model", default="unet-lite-starter", help="model name or file (default: the starter U-Net)")
    parser.add_argument("--repeats", type=int, default=3, help="demo runs (median reported)")


def quick_arguments() -> argparse.Namespace:
    """The default-size case, one run, for `legseg bench all`."""
    return argparse.Namespace(size="default", model="unet-lite-starter", repeats=1)


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.progress import drive
    from legseg_core.starter import DemoCase, run_demo

    result = BenchResult("demo")
    totals, last = [], None
    for repeat in range(max(1, int(args.repeats))):
        with tempfile.TemporaryDirectory(prefix="legseg-bench-demo-") as folder:
            start = time.perf_counter()
            last = drive(run_demo(folder, case=DemoCase(seed=7 + repeat, size=args.size), model=args.model,
                                  device="cpu"))
            totals.append(time.perf_counter() - start)
    total = statistics.median(totals)
    other = max(0.0, totals[-1] - sum(last.seconds.values()))
    result.rows.append({"size": args.size, "shape": "x".join(str(s) for s in last.metadata["shape"]),
                        "simulate_s": round(last.seconds["simulate"], 2), "segment_s": round(last.seconds["segment"], 2),
                        "score_write_s": round(other, 2), "total_s": round(total, 2),
                        "mean_dice": round(last.mean_dice, 3)})
    result.target(f"demo at size {args.size} (median of {len(totals)})", total, TARGET_SECONDS)
    result.notes.append("segment_s includes loading the model; the app screenshot is not part of the timing")
    return result
