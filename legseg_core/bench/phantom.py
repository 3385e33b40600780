"""``legseg bench phantom``: seconds to simulate one synthetic case.

Median wall and CPU (process) seconds per case for the tiny and default sizes, protocols A and
B, bilateral, with each protocol's default contrasts. The target of the issue, a default
45-slice bilateral case in under 2 s on one CPU core, is judged on the CPU seconds, which do not
count time the process waited for a core on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from legseg_core.bench import BenchResult, median_seconds

DESCRIPTION = "synthetic calf phantom: seconds per case (tiny/default size, protocols A and B)"
DEFAULT_B_TARGET_SECONDS = 2.0
TINY_TARGET_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median reported)")
    parser.add_argument("--sizes", nargs="+", default=["tiny", "default"], choices=["tiny", "default", "fine"],
                        help="size presets to time (default: tiny default)")
    parser.add_argument("--protocols", nargs="+", default=["A", "B"], choices=["A", "B"],
                        help="protocols to time (default: A B)")


def quick_arguments() -> argparse.Namespace:
    """Fewer repeats, for `legseg bench all`."""
    return argparse.Namespace(repeats=2, sizes=["tiny", "default"], protocols=["A", "B"])


def time_case(options: dict, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``make_case(**options)`` over ``repeats`` runs (call once before to warm up)."""
    from legseg_core.phantom import make_case

    cpu_seconds: list[float] = []

    def one_case() -> None:
        start = time.process_time()
        make_case(**options)
        cpu_seconds.append(time.process_time() - start)

    wall = median_seconds(one_case, repeats=repeats, warmup=0)
    return wall, statistics.median(cpu_seconds)


def run(args: argparse.Namespace) -> BenchResult:
    from legseg_core.phantom import make_case

    result = BenchResult("phantom")
    for size in args.sizes:
        for protocol in args.protocols:
            slices = 45 if protocol == "B" and size != "tiny" else None
            options = dict(seed=1, protocol=protocol, slices=slices, size=size)
            case = make_case(**options)  # warm-up, and the shape to report
            wall, cpu = time_case(options, args.repeats)
            result.rows.append({"size": size, "protocol": protocol, "shape": "x".join(map(str, case.labels.shape)),
                                "contrasts": "+".join(case.images), "wall s": wall, "cpu s": cpu})
            if size == "default" and protocol == "B":
                result.target("default 45-slice bilateral case (cpu s)", cpu, DEFAULT_B_TARGET_SECONDS)
            if size == "tiny":
                result.target(f"tiny case, protocol {protocol} (cpu s)", cpu, TINY_TARGET_SECONDS)
    result.notes.append("seconds per case, median of repeats; cpu s = process time on one core")
    return result
