"""The registry part of ``legseg models``: registered model versions, show, promote, reject, rollback.

``legseg models list`` shows the architectures and presets, then the models registered in the
store (:func:`print_registered`); ``show ID`` prints one model's lineage, data snapshot, recipe,
metrics and status log; ``promote ID`` makes a model active (the active one is retired);
``rollback`` re-activates the model that was active before the current one, instantly and
without deleting anything; ``reject ID`` marks a candidate rejected.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from legseg_core.commands.common import print_json


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """The ``--store PATH`` option of the registry commands."""
    parser.add_argument("--store", metavar="PATH", default=None,
                        help="the store folder (default: $LEGSEG_STORE, else the user data folder)")


def add_registry_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``show``, ``promote``, ``reject`` and ``rollback`` to the ``legseg models`` subcommands."""
    show = commands.add_parser("show", help="one registered model: lineage, data, recipe, metrics, status log",
                               description="Show a registered model: parent, data snapshot, recipe, per-muscle "
                                           "metrics, status and its status log.")
    show.add_argument("model", metavar="ID", help="model id (a unique prefix is enough)")
    promote = commands.add_parser("promote", help="make a registered model active (the active one is retired)",
                                  description="Make a registered model the active one; the model active so far "
                                              "is retired and stays reachable by `legseg models rollback`.")
    promote.add_argument("model", metavar="ID", help="model id (a unique prefix is enough)")
    reject = commands.add_parser("reject", help="mark a candidate model rejected",
                                 description="Mark a candidate rejected (it is kept, never deleted).")
    reject.add_argument("model", metavar="ID", help="model id (a unique prefix is enough)")
    rollback = commands.add_parser("rollback", help="re-activate the model that was active before the current one",
                                   description="Re-activate the model that was active before the current one; the "
                                               "current one is retired. Instant; nothing is deleted.")
    for parser, handler in ((show, run_show), (promote, run_promote), (reject, run_reject), (rollback, run_rollback)):
        add_store_option(parser)
        if parser is not show:
            parser.add_argument("--reason", default="", help="why (kept in the model's status log)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.set_defaults(handler=handler)


def _registry(args: argparse.Namespace) -> Any:
    from legseg_core.store import Store
    from legseg_core.training.registry import ModelRegistry

    return ModelRegistry(Store.open(args.store))


def registered_rows(registry: Any) -> list[dict[str, Any]]:
    """One row per registered model, newest first."""
    return [{"id": m.id, "status": m.status, "architecture": m.architecture, "preset": m.preset,
             "recipe": m.recipe, "parent": m.parent_id or "-", "cases": len(m.data),
             "mean_dice": _dice_text(m), "created": m.created[:19]} for m in registry.models()]


def print_registered(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Print the registered models of the store as a table (nothing when the store does not exist)."""
    from legseg_core.bench import format_table
    from legseg_core.store.errors import StoreMissingError

    try:
        registry = _registry(args)
    except StoreMissingError as error:
        print(f"registered models: none ({error})")
        return []
    rows = registered_rows(registry)
    print(f"registered models in {registry.store.root}:")
    print(format_table(rows) if rows else "(none yet: `legseg train` registers one)")
    return rows


def run_show(args: argparse.Namespace) -> int:
    registry = _registry(args)
    model = registry.get(args.model)
    events = registry.events(model.id)
    if args.json:
        print_json({**model.to_dict(), "events": events})
        return 0
    print(f"{model.id}  {model.status}  {model.architecture}/{model.preset}  recipe {model.recipe}")
    print(f"  created {model.created}; parent {model.parent_id or '-'}; file {registry.path(model)}")
    shown = ", ".join(f"{case}:{version}" for case, version in model.data[:6])
    print(f"  trained on {len(model.data)} label versions: {shown}" + (" ..." if len(model.data) > 6 else ""))
    _print_metrics(model.metrics)
    print("  status log:")
    for event in events:
        replaced = f" (replaced {event['previous_active']})" if event["previous_active"] else ""
        print(f"    {event['time'][:19]}  {event['action']:<8} -> {event['status']}{replaced}  {event['reason']}")
    return 0


def _print_metrics(metrics: dict[str, Any]) -> None:
    for name, block in metrics.items():
        if not isinstance(block, dict):
            continue
        summary = block.get("candidate", block) if name == "gate" else block
        dice = summary.get("dice") or {}
        mean = summary.get("mean_dice")
        text = "  ".join(f"{k} {_number(v)}" for k, v in dice.items())
        print(f"  {name} Dice: mean {_number(mean)}  {text}")
        for reason in block.get("reasons", []) if name == "gate" else []:
            print(f"    {reason}")


def run_promote(args: argparse.Namespace) -> int:
    registry = _registry(args)
    model = registry.get(args.model)
    if model.status == "candidate" and (model.metrics.get("gate") or {}).get("held_out") is False:
        from legseg_core.store import default_author
        from legseg_core.training.finetune import use_unvalidated

        model = use_unvalidated(registry.store, model.id, author=default_author(),
                                where=f"legseg models promote{': ' + args.reason if args.reason else ''}")
        return _report(args, model, f"{model.id} is now active, unvalidated (recorded; "
                                    "`legseg models rollback` undoes it)")
    model = registry.promote(model.id, reason=args.reason or "promoted by hand")
    return _report(args, model, f"{model.id} is now active")


def run_reject(args: argparse.Namespace) -> int:
    model = _registry(args).reject(args.model, reason=args.reason or "rejected by hand")
    return _report(args, model, f"{model.id} is now rejected")


def run_rollback(args: argparse.Namespace) -> int:
    model = _registry(args).rollback(reason=args.reason)
    return _report(args, model, f"rolled back: {model.id} is active again")


def _report(args: argparse.Namespace, model: Any, text: str) -> int:
    if args.json:
        print_json(model.to_dict())
    else:
        print(text)
    return 0


def _dice_text(model: Any) -> str:
    value = model.mean_dice
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _number(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{float(value):.3f}"
