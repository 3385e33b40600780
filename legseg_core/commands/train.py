"""``legseg train``: train a network on the store's accepted cases and register it.

The new model becomes active when the store has no active model, otherwise it is registered as
a candidate (``legseg models promote ID`` makes it active). ``--nproc N`` runs the same command
under torchrun with N processes (DistributedDataParallel); an interrupted run resumes when the
same command is run again, or from ``--resume RUN_DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from legseg_core.commands.common import print_json, with_progress_bar
from legseg_core.errors import LegsegError

RECIPE_NAMES = ("default", "paper", "finetune")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network on the store's accepted cases and register it",
        description="Train a network on the accepted cases of the store's train split and register it: active if "
                    "the store has no active model, else a candidate. Interrupted runs resume when the same "
                    "command runs again (or with --resume RUN_DIR).")
    parser.add_argument("--arch", default=None, help="architecture: unet, resnet or densenet (default: unet)")
    parser.add_argument("--preset", default=None, help="size preset of the architecture (default: lite)")
    parser.add_argument("--init", metavar="MODEL", default=None,
                        help="start from this model's weights (a model file or name) instead of random ones; the "
                             "network and its preprocessing come from it, so --arch, --preset, --model-option and "
                             "--preprocess-option are refused")
    parser.add_argument("--recipe", default="default", choices=RECIPE_NAMES,
                        help="default (Dice+CE, AdamW, augmentation) or paper (section 2.6: Adam 1e-5, CE, 200 "
                             "epochs, 80/20 split)")
    parser.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the recipe's)")
    parser.add_argument("--stop-after-epochs", metavar="K", type=int, default=None,
                        help="stop after epoch K of the schedule --epochs plans (learning rate and steps as in the "
                             "whole run) and register that model; the same command without this option resumes "
                             "the run to its end")
    add_run_options(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", type=Path, default=None,
                        help="resume (or start) the run in this folder")
    parser.add_argument("--out", metavar="FILE", type=Path, default=None, help="also copy the model file here")
    parser.add_argument("--where", metavar="KEY=VALUE", action="append", default=[],
                        help="train on cases whose metadata match, e.g. --where contrast=t1w (repeatable; "
                             "VALUE may list alternatives: health=healthy,patient)")
    parser.add_argument("--model-option", metavar="KEY=VALUE", action="append", default=[],
                        help="override a network argument of the preset, e.g. channels=[8,16,32]")
    parser.add_argument("--preprocess-option", metavar="KEY=VALUE", action="append", default=[],
                        help="override a preprocessing setting, e.g. patch_shape=[20,104,104]")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by train and finetune: store, device, seed, processes, recipe overrides."""
    parser.add_argument("--store", metavar="PATH", default=None,
                        help="the store folder (default: $LEGSEG_STORE, else the user data folder)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of shuffling and augmentation")
    parser.add_argument("--nproc", type=int, default=1,
                        help="processes on this machine (DistributedDataParallel under torchrun)")
    parser.add_argument("--recipe-option", metavar="KEY=VALUE", action="append", default=[],
                        help="override a recipe setting, e.g. batch_size=4, learning_rate=1e-3, max_steps=100, "
                             "precision=fp32, crop_shape=[20,64,64]; augment='{\"elastic\": 2}' changes some "
                             "augmentation ranges (JSON object), augment=false turns augmentation off")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per process (default: PyTorch's choice, one per core); 1 is faster "
                             "on a machine whose cores are busy with other work")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def set_threads(threads: int | None) -> None:
    """Limit PyTorch's CPU threads when ``--threads`` was given."""
    if threads is None:
        return
    if threads < 1:
        raise LegsegError(f"--threads {threads} must be 1 or more")
    import torch

    torch.set_num_threads(threads)


def parse_pairs(pairs: list[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are read as JSON when they parse, else kept as text."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sign, text = pair.partition("=")
        if not sign or not key.strip():
            raise LegsegError(f"{option} {pair!r} must look like KEY=VALUE")
        try:
            result[key.strip()] = json.loads(text)
        except ValueError:
            result[key.strip()] = text
    return result


def parse_filters(pairs: list[str]) -> dict[str, Any]:
    """``--where`` pairs to store filters (comma-separated values match any of them)."""
    filters: dict[str, Any] = {}
    for key, value in parse_pairs(pairs, "--where").items():
        text = str(value)
        filters[key] = text.split(",") if "," in text else text
    return filters


def relaunch_arguments(args: argparse.Namespace, command: str, options: dict[str, Any]) -> list[str]:
    """The command line a torchrun child process runs: the same options, without --nproc."""
    arguments = ["-v"] if getattr(args, "verbose", False) else []
    arguments.append(command)
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            arguments.append(flag)
        elif isinstance(value, list):
            for item in value:
                arguments += [flag, str(item)]
        else:
            arguments += [flag, str(value)]
    return arguments


def launch_if_asked(args: argparse.Namespace, command: str, names: tuple[str, ...]) -> int | None:
    """With ``--nproc N > 1``: run the command under torchrun and return its exit status."""
    if args.nproc <= 1:
        return None
    from legseg_core.training.distributed import LAUNCHED_VARIABLE, launch

    if os.environ.get(LAUNCHED_VARIABLE):
        return None
    return launch(relaunch_arguments(args, command, {name: getattr(args, name) for name in names}), args.nproc)


TRAIN_OPTIONS = ("arch", "preset", "init", "recipe", "epochs", "stop_after_epochs", "store", "device", "seed", "recipe_option", "threads",
                 "no_progress", "resume", "out", "where", "model_option", "preprocess_option", "json")


def run(args: argparse.Namespace) -> int:
    launched = launch_if_asked(args, "train", TRAIN_OPTIONS)
    if launched is not None:
        return launched
    from legseg_core.store import Store
    from legseg_core.training.distributed import process_group
    from legseg_core.training.session import TrainRequest, train_from_store

    set_threads(args.threads)
    if args.out is not None:
        from legseg_core.paths import check_output_file

        check_output_file(args.out, inputs=[args.init] if args.init else [], what="model file copy",
                          create_folder=True)
    with process_group(args.device):
        store = Store.open(args.store)
        request = TrainRequest(architecture=args.arch, preset=args.preset, init=args.init, recipe=args.recipe,
                               epochs=args.epochs,
                               seed=args.seed, device=args.device,
                               model_options=parse_pairs(args.model_option, "--model-option"),
                               recipe_options=parse_pairs(args.recipe_option, "--recipe-option"),
                               preprocess=parse_pairs(args.preprocess_option, "--preprocess-option"),
                               filters=parse_filters(args.where), run_dir=args.resume,
                               stop_after_epochs=args.stop_after_epochs)
        main = _rank() == 0
        report = with_progress_bar(train_from_store(store, request), "training",
                                   enabled=main and not args.no_progress)
        if main:
            _print_report(report, store, args)
        return 0


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _print_report(report: Any, store: Any, args: argparse.Namespace) -> None:
    from legseg_core.training.registry import ModelRegistry

    if args.out is not None and report.model is not None:
        from legseg_core.atomic import write_atomically

        source = ModelRegistry(store).verified_path(report.model)
        write_atomically(args.out, source.read_bytes(), make_folder=True)
    if args.json:
        print_json(report.to_dict())
        return
    model = report.model
    print(f"model {model.id} registered as {model.status} ({report.rule})" if model else "model not registered")
    print(f"trained {report.outcome.epochs} epochs, {report.outcome.steps} steps in {report.outcome.seconds:.0f} s "
          f"on {len(report.train_cases)} cases; run folder {report.run_dir}")
    print_dice(report.outcome.validation_dice, report.outcome.validation_mean_dice,
               f"validation Dice ({len(report.validation_cases)} cases, patches)")
    if args.out is not None:
        print(f"model file copied to {args.out}")


def print_dice(dice: dict[str, float], mean: float, title: str) -> None:
    """One line per muscle and the mean, or a note when there was nothing to validate on."""
    if not dice:
        print(f"{title}: none (no validation cases)")
        return
    print(f"{title}: mean {mean:.3f}")
    print("  " + "  ".join(f"{name} {value:.3f}" for name, value in dice.items()))
