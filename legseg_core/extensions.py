"""Commands and benchmarks that other installed packages add to ``legseg``, through entry points.

The core names no GUI module: the GUI declares its ``legseg app`` command in the
``legseg.commands`` entry-point group (``name = "module:register"``, where ``register(subparsers)``
adds the subcommand) and its benchmarks in ``legseg.benchmarks`` (``name = "module"``, a module
with the interface of :mod:`legseg_core.bench`). Both are declared in ``pyproject.toml``.

An extension that cannot be imported (its package is missing or broken) still answers: its
command prints one line that says why, with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from legseg_core.errors import LegsegError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

log = logging.getLogger(__name__)

COMMANDS_GROUP = "legseg.commands"
BENCHMARKS_GROUP = "legseg.benchmarks"

#: Commands that an installation of LegSeg with its GUI provides: name -> what they need.
EXPECTED_COMMANDS: dict[str, str] = {"app": "the LegSeg application (the legseg_gui package)"}


class ExtensionMissingError(LegsegError):
    """A command or benchmark of a package that is not installed or cannot be imported."""


def extension_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, one per name (the first found), sorted by name."""
    from importlib.metadata import entry_points  # here: a command run by name reads no entry points

    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group):
        found.setdefault(point.name, point)
    return [found[name] for name in sorted(found)]


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commands of :data:`COMMANDS_GROUP`; a command that cannot be loaded (or an expected one
    that no package provides) becomes a command that says so."""
    provided = set()
    for point in extension_points(COMMANDS_GROUP):
        provided.add(point.name)
        try:
            register = point.load()
        except ImportError as error:
            log.debug("command %s (%s) cannot be imported: %s", point.name, point.value, error)
            _register_missing(subparsers, point.name, f"{point.value} cannot be imported ({error})")
            continue
        register(subparsers)
    for name, what in EXPECTED_COMMANDS.items():
        if name not in provided:
            _register_missing(subparsers, name, f"{what} is not installed")


def _register_missing(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, reason: str) -> None:
    parser = subparsers.add_parser(name, add_help=False, help=f"not available here: {reason}")

    def run(args: argparse.Namespace) -> int:
        raise ExtensionMissingError(f"legseg {name} is not available: {reason}; install LegSeg with its GUI "
                                    "(pip install -e .)")

    parser.set_defaults(handler=run, passthrough=True)
