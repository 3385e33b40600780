"""``legseg bench NAME``: reproducible performance figures (medians), and ``bench all``."""

from __future__ import annotations

import argparse
import importlib

from importlib.metadata import EntryPoint
from types import ModuleType

from legseg_core.bench import BENCHMARKS, BenchResult, format_table
from legseg_core.commands.common import print_json
from legseg_core.extensions import BENCHMARKS_GROUP, ExtensionMissingError, extension_points


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run benchmarks and print median timings",
                                   description="Run a benchmark and print its median figures and targets.")
    benches = parser.add_subparsers(dest="benchmark", metavar="NAME")
    for name in BENCHMARKS:
        module = importlib.import_module(f"legseg_core.bench.{name}")
        sub = benches.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
        module.add_arguments(sub)
        sub.add_argument("--json", action="store_true", help="print the figures as JSON")
        sub.set_defaults(handler=_runner(module))
    for point in extension_points(BENCHMARKS_GROUP):
        sub = benches.add_parser(point.name, add_help=False,
                                 help=f"Qt widget benchmark ({point.value}); --help for its options")
        sub.set_defaults(handler=_gui_runner(point), passthrough=True)
    every = benches.add_parser("all", help="run every benchmark with quick settings and print a summary")
    every.add_argument("--json", action="store_true", help="print the figures as JSON")
    every.set_defaults(handler=run_all)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _runner(module):
    def run(args: argparse.Namespace) -> int:
        report(module.run(args), as_json=args.json)
        return 0
    return run


def _load(point: EntryPoint) -> ModuleType:
    try:
        return point.load()
    except ImportError as error:
        raise ExtensionMissingError(f"benchmark {point.name} is not available: {point.value} cannot be imported "
                                    f"({error}); install LegSeg with its GUI (pip install -e .)") from None


def _gui_runner(point: EntryPoint):
    def run(args: argparse.Namespace) -> int:
        module = _load(point)
        parser = argparse.ArgumentParser(prog=f"legseg bench {point.name}", description=module.DESCRIPTION)
        module.add_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")
        options = parser.parse_args(args.options)
        report(module.run(options), as_json=options.json)
        return 0
    return run


def _all_modules() -> list:
    modules = [importlib.import_module(f"legseg_core.bench.{name}") for name in BENCHMARKS]
    return modules + [_load(point) for point in extension_points(BENCHMARKS_GROUP)]


def report(result: BenchResult, *, as_json: bool) -> None:
    """Print one benchmark's rows and targets."""
    if as_json:
        print_json({"name": result.name, "rows": result.rows, "targets": result.targets, "notes": result.notes})
        return
    print(f"== bench {result.name}")
    print(format_table(result.rows))
    if result.targets:
        print(format_table([{**t, "met": "yes" if t["met"] else "NO"} for t in result.targets]))
    for note in result.notes:
        print(f"note: {note}")


def run_all(args: argparse.Namespace) -> int:
    summary = []
    for module in _all_modules():
        name = module.__name__.rsplit(".", 1)[-1]
        quick = module.quick_arguments() if hasattr(module, "quick_arguments") else argparse.Namespace()
        result = module.run(quick)
        report(result, as_json=False)
        summary += [{"benchmark": name, **t} for t in result.targets]
    print("== summary")
    print(format_table([{**t, "met": "yes" if t["met"] else "NO"} for t in summary]))
    return 0
