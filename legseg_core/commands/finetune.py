"""``legseg finetune``: one-button fine-tuning of the active model on newly accepted cases, with the gate.

``--json-progress`` prints one JSON object per line on stdout, so that another process (the
GUI) can follow: ``{"event": "start" | "data" | "step" | "epoch" | "evaluate" | "verdict", "done",
"total", "fraction", "message", ...}`` while it runs, then ``{"event": "result", ...}`` with the
candidate, the decision and the gate's reasons, or ``{"event": "error", "message": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from legseg_core.commands.common import print_json, with_progress_bar
from legseg_core.commands.train import add_run_options, launch_if_asked, parse_pairs, print_dice, set_threads
from legseg_core.errors import LegsegError
from legseg_core.progress import Progress, drive
from legseg_core.training.recipes import FINETUNE

FINETUNE_OPTIONS = ("model", "epochs", "store", "device", "seed", "recipe_option", "threads", "no_progress",
                    "json", "json_progress", "mean_tolerance", "muscle_tolerance", "use_unvalidated")


_STEP_TEXT = (f"{FINETUNE.batch_size} random {' x '.join(map(str, FINETUNE.crop_shape))} windows"
              if FINETUNE.crop_shape else f"{FINETUNE.batch_size} whole patch{'es' if FINETUNE.batch_size > 1 else ''} "
              "(a whole leg)")
_RECIPE_TEXT = (f" The finetune recipe: {FINETUNE.epochs} epochs of at least {FINETUNE.min_epoch_steps} steps of "
                f"{_STEP_TEXT}, learning "
                f"rate {FINETUNE.learning_rate:g}, elastic deformation and a brightness per label (one corrected leg: "
                "about 3 to 4 minutes on a 2-core CPU with native bf16, 20 to 25 in float32 on one without).")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune", help="fine-tune the active model on newly accepted cases; promote it only if not worse",
        description="Fine-tune the active model on the accepted train-split cases whose label versions it has not "
                    "seen, mixed with a replay sample of cases it has seen; register the candidate and promote it "
                    "only if, on the held-out (validation and test) cases, its mean Dice and every muscle's Dice "
                    "are at least the active model's minus the tolerances. In a store without held-out cases "
                    "nothing is decided: the candidate is kept as an unvalidated candidate (use it with "
                    "`legseg models promote ID`), and the same comparison on the cases it learnt from is "
                    "reported to inform that choice." + _RECIPE_TEXT)
    parser.add_argument("--model", metavar="ID", default=None, help="start from this model (default: the active one)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"number of epochs (default: the finetune recipe's, {FINETUNE.epochs}); "
                             f"{max(1, FINETUNE.epochs // 2)} takes about half the time for a little less accuracy "
                             "(the app's Quick box)")
    add_run_options(parser)
    parser.add_argument("--mean-tolerance", type=float, default=0.01,
                        help="the candidate's mean Dice may be this much below the active model's (default 0.01)")
    parser.add_argument("--muscle-tolerance", type=float, default=0.02,
                        help="each muscle's Dice may be this much below the active model's (default 0.02)")
    parser.add_argument("--use-unvalidated", action="store_true",
                        help="when the store has no held-out case, make the candidate active anyway if it is not "
                             "worse on the cases it learnt from (recorded as unvalidated; `legseg models rollback` "
                             "undoes it)")
    parser.add_argument("--json-progress", action="store_true",
                        help="print one JSON object per line (progress events, then the result) for a GUI process")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    launched = launch_if_asked(args, "finetune", FINETUNE_OPTIONS)
    if launched is not None:
        return launched
    from legseg_core.training.distributed import process_group

    set_threads(args.threads)
    with process_group(args.device):
        try:
            return _finetune(args)
        except LegsegError as error:
            if args.json_progress:
                _print_line({"event": "error", "message": str(error)})
            raise


def _finetune(args: argparse.Namespace) -> int:
    from legseg_core.store import Store
    from legseg_core.training.finetune import FinetuneRequest, finetune_from_store
    from legseg_core.training.gate import GateRule

    store = Store.open(args.store)
    request = FinetuneRequest(model=args.model, epochs=args.epochs, seed=args.seed, device=args.device,
                              recipe_options=parse_pairs(args.recipe_option, "--recipe-option"),
                              rule=GateRule(args.mean_tolerance, args.muscle_tolerance),
                              use_unvalidated=args.use_unvalidated)
    work = finetune_from_store(store, request)
    if args.json_progress:
        report = drive(work, lambda event: _print_line(progress_record(event)), what="fine-tuning")
    else:
        report = with_progress_bar(work, "fine-tuning", enabled=not args.no_progress)
    if report is None:  # a rank other than 0 of a distributed run
        return 0
    if args.json_progress:
        _print_line({"event": "result", **report.to_dict()})
    elif args.json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    return 0


def progress_record(event: Progress) -> dict[str, Any]:
    """One progress event as a JSON-ready line."""
    from legseg_core.evaluation.tables import jsonable

    return jsonable({"event": event.details.get("event", "progress"), "done": event.done, "total": event.total,
                     "fraction": round(event.fraction, 4), "message": event.message,
                     **{k: v for k, v in event.details.items() if k != "event"}})


def _print_line(record: dict[str, Any]) -> None:
    from legseg_core.evaluation.tables import jsonable

    sys.stdout.write(json.dumps(jsonable(record), default=str) + "\n")
    sys.stdout.flush()


def _print_report(report: Any) -> None:
    candidate = report.candidate
    print(f"fine-tuned {report.base.id} on {len(report.new_cases)} new and {len(report.replay_cases)} replayed "
          f"case(s) in {report.seconds:.0f} s")
    print(f"candidate {candidate.id}: {report.decision} -- {report.reason()}")
    if report.verdict is not None:
        for reason in report.verdict.reasons:
            print(f"  {reason}")
        where = "held-out" if report.verdict.held_out else "learnt-case (not held-out)"
        print_dice(report.verdict.candidate.dice, report.verdict.candidate.mean_dice,
                   f"candidate {where} Dice ({len(report.verdict.candidate.cases)} cases)")
