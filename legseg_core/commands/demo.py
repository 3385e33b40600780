"""``legseg demo``: a synthetic patient segmented by the starter U-Net, shown in the app or written out.

Without ``--headless`` the standalone app opens on the case with the prediction, the ground
truth as the "manual" reference and the Figure 4 overlap map. With ``--headless`` the labels,
the overlap map, the per-muscle Dice table (printed, and as CSV and Markdown) and a screenshot
PNG are written to ``--out``. No store is needed.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="segment a synthetic patient with the starter U-Net and show it (or write it out)",
        description="Simulate a synthetic patient, segment it with a shipped starter model, and open the app "
                    "with the prediction, the ground truth as manual labels and the Figure 4 overlap map. "
                    "With --headless, write labels, overlap map, per-muscle Dice table and a screenshot instead.")
    parser.add_argument("--headless", action="store_true",
                        help="do not open the app: write the files and a screenshot PNG, print the Dice table")
    parser.add_argument("--out", type=Path, default=Path("legseg-demo"),
                        help="output folder (default: ./legseg-demo)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic patient (default 7)")
    parser.add_argument("--model", default=None,
                        help="a model file or name (default: the shipped starter U-Net, unet-lite-starter)")
    parser.add_argument("--protocol", choices=("A", "B"), default="A",
                        help="A: whole lower leg, T1w (default); B: a 25/45-slice Dixon slab")
    parser.add_argument("--contrast", default=None, help="the contrast to simulate (default: the protocol's)")
    parser.add_argument("--size", choices=("tiny", "default", "fine"), default="default",
                        help="grid size of the synthetic case (tiny is a coarse grid for quick checks)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best one)")
    parser.add_argument("--no-screenshot", action="store_true", help="with --headless: skip the screenshot")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from legseg_core.commands.common import print_json, with_progress_bar
    from legseg_core.starter import DEFAULT_DEMO_MODEL, DemoCase, run_demo
    from legseg_core.starter import show

    from legseg_core.paths import check_output_folder

    check_output_folder(args.out, what="demo folder")
    case = DemoCase(seed=args.seed, protocol=args.protocol, contrast=args.contrast, size=args.size)
    work = run_demo(args.out, case=case, model=args.model or DEFAULT_DEMO_MODEL, device=args.device)
    result = with_progress_bar(work, "demo", enabled=not args.no_progress)
    summary = result.to_dict()
    if args.headless and not args.no_screenshot:
        path, how = show.screenshot(result.paths, result.out_dir / "screenshot.png")
        summary["files"]["screenshot"], summary["screenshot_drawn_by"] = str(path), how
    if args.json:
        print_json(summary)
    else:
        _print_summary(result, summary)
    if not args.headless:
        return show.open_app(result.paths)
    return 0


def _print_summary(result, summary: dict) -> None:  # noqa: ANN001 - DemoResult, imported lazily
    from legseg_core.starter.demo import dice_markdown

    case = summary["case"]
    print(f"synthetic {case['health']} ({case['diagnosis'] or 'healthy'}), protocol {case['protocol']}, "
          f"{case['contrast']}, shape {case['shape']}; model {result.model_id} ({result.model_path.name})")
    print(dice_markdown(result.scores), end="")
    print(f"mean Dice {result.mean_dice:.3f}; segmentation took {result.seconds['segment']:.1f} s")
    for name, path in summary["files"].items():
        print(f"{name}: {path}")
