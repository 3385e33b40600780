"""The ``legseg`` command.

Each subcommand lives in ``legseg_core/commands/<name>.py`` and exposes ``register(subparsers)``;
heavy imports (torch, scipy) happen inside the handlers, so ``legseg --help`` is quick. Errors a
user can cause (:class:`LegsegError`) are printed as one message with a non-zero exit status and
no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from legseg_core import __version__
from legseg_core.errors import CancelledError, LegsegError

#: Subcommand modules under legseg_core.commands, in the order `legseg --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "segment",
    "models",
    "bench",
    "evaluate",
    "overlap",
    "measure",
    "store",
    "phantom",
    "train",
    "finetune",
    "adapt",
    "experiment",
    "app",
    "demo",
    "starter",
)

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand, or with subcommand ``only`` alone
    (which spares a command the imports of all the others: a cold ``legseg segment`` starts sooner)."""
    parser = argparse.ArgumentParser(
        prog="legseg", description="Segment the seven lower-leg muscles in 3D MRI, review, correct and fine-tune.")
    parser.add_argument("--version", action="version", version=f"legseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if only is None or name == only:
            importlib.import_module(f"legseg_core.commands.{name}").register(subparsers)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand that ``argv`` runs, if it names a known one (the first word that is not an option)."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMAND_MODULES else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(named_command(argv))
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.options = extra  # passed on by commands that parse their own options (GUI benchmarks)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.handler(args) or 0)
    except CancelledError as error:
        print(f"legseg: {error}", file=sys.stderr)
        return EXIT_CANCELLED
    except LegsegError as error:
        print(f"legseg: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("legseg: interrupted", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
