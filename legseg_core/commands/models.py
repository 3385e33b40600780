"""``legseg models``: the network architectures and presets, and the models registered in the store.

``legseg models list`` shows every architecture x preset with its parameter count, the named
models shipped with LegSeg, and the models registered in the store; the registry subcommands
(``show``, ``promote``, ``reject``, ``rollback``) come from :mod:`legseg_core.commands.model_registry`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from legseg_core.commands.common import print_json
from legseg_core.commands.model_registry import add_registry_commands, add_store_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="network architectures, presets and registered models",
                                   description="List the network architectures and presets, the shipped models "
                                               "and the models registered in the store; manage the registry.")
    commands = parser.add_subparsers(dest="models_command", metavar="COMMAND")
    listing = commands.add_parser("list", help="architectures, presets, parameter counts and registered models",
                                  description="Show each architecture x preset with its free-parameter count "
                                              "(and the paper's count), shipped models and registered models.")
    listing.add_argument("--json", action="store_true", help="print the listing as JSON")
    add_store_option(listing)
    listing.set_defaults(handler=run_list)
    add_registry_commands(commands)
    average = commands.add_parser(
        "average", help="one model from the mean of the weights of several runs of one network",
        description="Write the uniform mean of the weights of two or more model files of one network "
                    "(architecture, preset, arguments and preprocessing all equal) as a new model file. Meant for "
                    "runs from one starting model that differ in seed or data ('model soup'): the mean can "
                    "generalise better and varies less between seeds than one run. The new card lists every "
                    "source (file, model id, sha256, starting model) and the union of their training cases.")
    average.add_argument("models", nargs="+", metavar="MODEL",
                         help="model files or model names (shipped or registered in the store)")
    average.add_argument("--out", required=True, metavar="FILE", help="the new model file (.pt)")
    average.add_argument("--name", default="", help="a display name for the new model's card")
    average.add_argument("--half", action="store_true", help="store the weights as float16 (half the size)")
    average.add_argument("--json", action="store_true", help="print the new card as JSON")
    add_store_option(average)
    average.set_defaults(handler=run_average)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def architecture_rows() -> list[dict[str, Any]]:
    """One row per architecture x preset: parameters, the paper's count for the paper preset, description."""
    import torch

    from legseg_core.models import ARCHITECTURES, PAPER_PARAMETERS, build_model, count_parameters

    rows = []
    for name, spec in ARCHITECTURES.items():
        for preset in spec.presets:
            with torch.device("meta"):  # shapes only: no memory, no initialisation
                network = build_model(name, preset)
            rows.append({"architecture": name, "preset": preset, "parameters": count_parameters(network),
                         "paper_parameters": PAPER_PARAMETERS[name] if preset == "paper" else None,
                         "downsampling_zyx": list(network.factor), "description": spec.description})
    return rows


def run_list(args: argparse.Namespace) -> int:
    from legseg_core.bench import format_table
    from legseg_core.commands.model_registry import print_registered, registered_rows
    from legseg_core.model_lookup import available_models

    rows = architecture_rows()
    if args.json:
        print_json({"architectures": rows, "named_models": available_models(args.store),
                    "registered": _registered_or_empty(args, registered_rows)})
        return 0
    print(format_table([{**row, "paper_parameters": row["paper_parameters"] or "-",
                         "downsampling_zyx": "x".join(map(str, row["downsampling_zyx"]))} for row in rows]))
    shipped = available_models(args.store).get("shipped with LegSeg", [])
    print(f"shipped models: {', '.join(shipped) if shipped else 'none'}")
    print_registered(args)
    return 0


def run_average(args: argparse.Namespace) -> int:
    from legseg_core.errors import InputPathError
    from legseg_core.model_lookup import resolve_model
    from legseg_core.models import save_checkpoint
    from legseg_core.models.average import average_models

    if Path(args.out).is_dir():
        raise InputPathError(f"{args.out}: is a folder; --out names the new model file, e.g. {Path(args.out) / 'mean.pt'}")
    files = [resolve_model(model, store=args.store) for model in args.models]
    network, card = average_models(files, name=args.name)
    out = save_checkpoint(network, card, args.out, half=args.half)
    if args.json:
        print_json(card.to_dict())
        return 0
    print(f"{out}: {card.model_id}, the mean of {len(files)} {card.architecture}/{card.preset} models "
          f"({', '.join(str(path) for path in files)}); {card.notes}")
    return 0


def _registered_or_empty(args: argparse.Namespace, rows_of: Any) -> list[dict[str, Any]]:
    from legseg_core.store import Store
    from legseg_core.store.errors import StoreMissingError
    from legseg_core.training.registry import ModelRegistry

    try:
        return rows_of(ModelRegistry(Store.open(args.store)))
    except StoreMissingError:
        return []
