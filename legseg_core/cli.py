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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="legseg", description="Segment the seven lower-leg muscles in 3D MRI, review, correct and fine-tune.")
    parser.add_argument("--version", action="version", version=f"legseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"legseg_core.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = build_parser()
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
